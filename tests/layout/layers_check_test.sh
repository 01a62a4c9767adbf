#!/usr/bin/env bash
# layers_check_test.sh CHECKER: proves that cmake/check_layers.py, which the build runs
# before compiling lib/record, fails on an upward include and passes a downward one.
set -euo pipefail
checker=$1
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree/record/base" "$tree/record/track" "$tree/record/service"
printf '#include "record/base/log.h"\n' > "$tree/record/track/ok.cc"
printf '#include "record/track/ok.h"\n#include "record/base/log.h"\n' > "$tree/record/service/ok.cc"
python3 "$checker" "$tree/record" "$tree/stamp" || { echo "a downward include was refused"; exit 1; }
printf '#include "record/service/service_thread.h"\n' > "$tree/record/track/up.cc"
if out=$(python3 "$checker" "$tree/record" "$tree/stamp2" 2>&1); then
  echo "an upward include (track -> service) passed the check"; exit 1
fi
grep -q 'up.cc:1: record/track may not include record/service/' <<<"$out" ||
  { echo "unexpected message: $out"; exit 1; }
[[ ! -e $tree/stamp2 ]] || { echo "the stamp was written despite the error"; exit 1; }
echo "upward include refused: $out"

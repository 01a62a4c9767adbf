#!/usr/bin/env bash
# demo.sh: builds heapwarden and runs the demo program (which leaks on purpose) under
# `heapwarden run`; the summary prints to stderr and the full report goes to
# build/demo-report.json. Exits 0 when the demo ran, whatever it leaked.
# HEAPWARDEN_BUILD_DIR=DIR uses that build directory instead of build/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/build.sh
build_dir=${HEAPWARDEN_BUILD_DIR:-build}

report=$build_dir/demo-report.json
status=0
"$build_dir/bin/heapwarden" run -o "$report" -- "$build_dir/bin/heapwarden_demo" || status=$?
if [[ $status -ne 0 ]]; then
  echo "demo: heapwarden run exited with status $status" >&2
  exit "$status"
fi
echo
echo "demo: full report in $report"
echo "demo: render it again with: $build_dir/bin/heapwarden report $report"

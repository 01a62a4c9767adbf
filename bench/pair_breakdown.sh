#!/usr/bin/env bash
# pair_breakdown.sh: instructions per 16-byte malloc/free pair, plain and under a
# preload (exact and sampled), and the inclusive cost per pair of the hot path's
# functions, from two callgrind runs of one loop (N and 2N pairs: their difference
# cancels start-up and the report). Deterministic: the service is off (no timer
# interleaves), so the figures repeat exactly from run to run.
#   usage: bench/pair_breakdown.sh PRELOAD.so [MODE...]     (modes default: exact sampled)
set -euo pipefail
preload=$(realpath "$1"); shift
modes=("${@:-exact}")
[[ $# -eq 0 ]] && modes=(exact sampled)
dir=$(mktemp -d /tmp/pair_breakdown.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cat > "$dir/pair16.c" <<'PROG'
#include <stdlib.h>
int main(int argc, char** argv) {
  long n = argc > 1 ? atol(argv[1]) : 100000;
  void* volatile sink;
  for (long i = 0; i < n; ++i) { void* p = malloc(16); sink = p; free(p); }
  (void)sink;
  return 0;
}
PROG
gcc -O2 -g -o "$dir/pair16" "$dir/pair16.c"
opts="output=$dir/r.%p.json:symbolize=0:timeline_ms=0:snapshot_s=0:control=off"
n1=100000; n2=200000
total() { grep -o 'summary: [0-9]*' "$1" | grep -o '[0-9]*'; }
run() {  # run MODE N
  local out="$dir/cg.$1.$2"
  if [[ $1 == plain ]]; then
    valgrind --tool=callgrind --callgrind-out-file="$out" "$dir/pair16" "$2" 2>/dev/null
  else
    LD_PRELOAD=$preload HEAPWARDEN_OPTIONS="$opts:mode=$1" \
      valgrind --tool=callgrind --callgrind-out-file="$out" "$dir/pair16" "$2" 2>/dev/null
  fi
}
for mode in plain "${modes[@]}"; do
  run "$mode" $n1; run "$mode" $n2
  a=$(total "$dir/cg.$mode.$n1"); b=$(total "$dir/cg.$mode.$n2")
  echo "== $mode: $(( (b - a) / (n2 - n1) )) instructions per pair"
  [[ $mode == plain ]] && continue
  # Inclusive cost per pair of each function that runs once or more per pair.
  callgrind_annotate --inclusive=yes --auto=no --threshold=100 "$dir/cg.$mode.$n2" 2>/dev/null |
    python3 -c '
import re, sys
n = int(sys.argv[1]); seen = {}
for line in sys.stdin:
    m = re.match(r"^ *([0-9,]+) \(.*?\)  (.*)$", line)
    if not m or "PROGRAM TOTALS" in line: continue
    cost = int(m.group(1).replace(",", "")) / n
    rest = re.sub(r" \[[^]]*\]$", "", m.group(2))
    fn = re.sub(r"^[^ ]*?\.(cc|c|h|S):", "", rest)   # drop "file:"
    fn = re.sub(r"^\?\?\?:", "", fn)
    fn = re.sub(r"\(.*$", "", fn).replace("heapwarden::internal::", "").replace("(anonymous namespace)::", "")
    if cost < 2 or not fn or fn in seen or fn in ("main", "(below main)", "MainWrapper") or fn.startswith(("0x", "_dl", "dl_", "__libc_start")): continue
    seen[fn] = 1
    print("  %6.0f  %s" % (cost, fn))
' $n2 | head -30
done

#!/usr/bin/env bash
# hook_overhead.sh: per-call cost of each interposed function, plain and under the
# preload, run side by side (alternating) so a noisy machine affects both alike.
# Prints one table of ns/call and the ratio. Usage: bench/hook_overhead.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
bench=$build/bin/heapwarden_bench_hooks
preload=$build/lib/libheapwarden_preload.so
[ -x "$bench" ] && [ -f "$preload" ] || { echo "build first: scripts/build.sh" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for round in 1 2 3; do
  "$bench" --benchmark_format=json --benchmark_min_time=0.2 > "$out/plain.$round.json"
  LD_PRELOAD=$(realpath "$preload") HEAPWARDEN_OPTIONS=output=$out/r.%p.json:symbolize=0 \
    "$bench" --benchmark_format=json --benchmark_min_time=0.2 > "$out/hw.$round.json"
done
python3 - "$out" <<'PY'
import json, statistics, sys, glob
out = sys.argv[1]
def load(kind):
    runs = {}
    for f in sorted(glob.glob(f"{out}/{kind}.*.json")):
        for b in json.load(open(f))["benchmarks"]:
            runs.setdefault(b["name"], []).append(b["cpu_time"])
    return {k: statistics.median(v) for k, v in runs.items()}
plain, hw = load("plain"), load("hw")
print(f"{'benchmark':40} {'plain ns':>10} {'heapwarden ns':>14} {'ratio':>7}")
for name in plain:
    print(f"{name:40} {plain[name]:10.1f} {hw[name]:14.1f} {hw[name]/plain[name]:6.1f}x")
PY

#!/usr/bin/env bash
# linked_overhead.sh: what linking libheapwarden costs while tracking is off. Runs
# heapwarden_bench_hooks plain, linked with libheapwarden.so and with libheapwarden.a
# (no HEAPWARDEN_OPTIONS: the hooks pass straight through), and, for scale, the linked
# build with tracking on; rounds alternate so a noisy machine affects all alike. Prints
# ns/call (median of the rounds) and each ratio to plain.
# Usage: bench/linked_overhead.sh [BUILD_DIR] [ROUNDS]
set -euo pipefail
build=${1:-build}
rounds=${2:-3}
for b in heapwarden_bench_hooks heapwarden_bench_hooks_linked heapwarden_bench_hooks_static; do
  [ -x "$build/bin/$b" ] || { echo "build first: cmake --build $build --target $b" >&2; exit 2; }
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
args=(--benchmark_format=json --benchmark_min_time=0.2)
for round in $(seq "$rounds"); do
  env -u HEAPWARDEN_OPTIONS -u LD_PRELOAD "$build/bin/heapwarden_bench_hooks" "${args[@]}" \
    > "$out/plain.$round.json"
  env -u HEAPWARDEN_OPTIONS -u LD_PRELOAD "$build/bin/heapwarden_bench_hooks_linked" "${args[@]}" \
    > "$out/linked_off.$round.json"
  env -u HEAPWARDEN_OPTIONS -u LD_PRELOAD "$build/bin/heapwarden_bench_hooks_static" "${args[@]}" \
    > "$out/static_off.$round.json"
  HEAPWARDEN_OPTIONS=output=$out/r.%p.json:symbolize=0 \
    "$build/bin/heapwarden_bench_hooks_linked" "${args[@]}" > "$out/linked_on.$round.json"
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
kinds = ["plain", "linked_off", "static_off", "linked_on"]
data = {k: load(k) for k in kinds}
print(f"{'benchmark (ns/call)':34} {'plain':>7} {'.so off':>14} {'.a off':>14} {'.so on':>14}")
for name in data["plain"]:
    p = data["plain"][name]
    cells = [f"{data[k][name]:7.1f} ({data[k][name] / p:4.2f}x)" for k in kinds[1:]]
    print(f"{name:34} {p:7.1f} " + " ".join(cells))
PY

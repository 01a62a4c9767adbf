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
python3 "$(dirname "${BASH_SOURCE[0]}")/median_table.py" "$out" plain \
  linked_off=".so off" static_off=".a off" linked_on=".so on"

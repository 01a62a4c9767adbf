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
python3 "$(dirname "${BASH_SOURCE[0]}")/median_table.py" "$out" plain hw=heapwarden

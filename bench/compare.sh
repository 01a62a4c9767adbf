#!/usr/bin/env bash
# compare.sh: the whole-program comparison in one command: installs the benchmark tools
# (scripts/setup.sh --bench: heaptrack, GNU time, valgrind, python3-numpy, sqlite3),
# configures and builds (scripts/build.sh), then runs bench/compare.py, which times every
# workload of bench/workloads/ plain, under heapwarden (exact/system, exact/mimalloc,
# sampled/system: the program and its raw report; and the whole `heapwarden run`,
# exact/system: symbolizing, writing the report and the summary included), under
# heaptrack and under valgrind, and prints one table.
#
# Usage: bench/compare.sh [BUILD_DIR] [--no-build] [compare.py options...]
#   BUILD_DIR   build directory (default: build); built with scripts/build.sh
#   --no-build  use BUILD_DIR as it is: no package install, no configure, no build
#   options     --rounds N, --quick, --only W,..., --configs C,..., --markdown, --scale F,
#               --valgrind-divisor N, --timeout S, --keep  (bench/compare.py --help)
# Examples:
#   bench/compare.sh                       # everything, 5 rounds (about 15 min on 2 cores)
#   bench/compare.sh build --quick         # smoke check
#   bench/compare.sh build --no-build --markdown > /tmp/perf.md   # the block of docs/performance.md
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

command_line="bench/compare.sh${*:+ $*}"
build_dir=build
if [[ $# -gt 0 && $1 != -* ]]; then
  build_dir=$1
  shift
fi
build=1
args=()
for arg in "$@"; do
  if [[ $arg == --no-build ]]; then build=0; else args+=("$arg"); fi
done

if [[ $build -eq 1 ]]; then
  scripts/setup.sh --bench >&2
  HEAPWARDEN_BUILD_DIR=$build_dir scripts/build.sh >&2
fi
if [[ ! -x /usr/bin/python3 ]]; then
  echo "compare.sh: /usr/bin/python3 not found (Debian's python3: scripts/setup.sh)" >&2
  exit 2
fi
HEAPWARDEN_BENCH_COMMAND=$command_line exec /usr/bin/python3 bench/compare.py "$build_dir" "${args[@]}"

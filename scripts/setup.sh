#!/usr/bin/env bash
# setup.sh: installs the Debian 12 packages heapwarden builds, tests and benchmarks with.
# Idempotent: asks dpkg what is already there and installs only what is missing; runs
# `apt-get update` only when something has to be installed. Needs root to install.
# Usage: scripts/setup.sh [--bench]
#   --bench  also the tools only the whole-program comparison (bench/compare.sh) uses:
#            heaptrack, GNU time (peak RSS of a process tree). CI runs it without --bench.
set -euo pipefail

bench=0
for arg in "$@"; do
  case "$arg" in
    --bench) bench=1 ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup: unknown argument '$arg' (usage: scripts/setup.sh [--bench])" >&2; exit 2 ;;
  esac
done

packages=(
  # toolchain and build system
  build-essential gcc g++ clang cmake ninja-build pkg-config git
  # clang's libFuzzer and sanitizer runtimes (scripts/fuzz.sh)
  libclang-rt-14-dev
  # libraries the code links: allocator, containers, tests, benchmarks, unwinding, symbols
  libmimalloc-dev libabsl-dev libgtest-dev libgmock-dev libbenchmark-dev
  libunwind-dev libdw-dev libelf-dev nlohmann-json3-dev
  # real programs the integration tests and benchmarks run under the preload
  python3 python3-numpy python3-pandas sqlite3 coreutils
  # Python embedded in a C program (tests/python: libpython3.11 and python3-embed.pc)
  python3-dev
  # CPython's own test suite (test_threading, test_json, test_re under heapwarden)
  libpython3.11-testsuite
  # a Jupyter kernel started headless under heapwarden (tests/python/notebook_test.cc)
  python3-ipykernel python3-jupyter-client
  # the reference tool the benchmarks compare against
  valgrind
  # the real readers of `report --format html|pprof` the tests run: a headless browser
  # and Go's pprof; zlib gzips the profile
  chromium golang-go zlib1g-dev
)
if [[ $bench -eq 1 ]]; then
  # bench/compare.sh only: the other reference tool, and GNU time for peak RSS
  packages+=(heaptrack time)
fi

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "installed" ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: missing packages: ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "setup: not root; install them with:" >&2
  echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
echo "setup: installed ${missing[*]}"

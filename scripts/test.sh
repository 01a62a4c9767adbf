#!/usr/bin/env bash
# test.sh: builds heapwarden and runs the test suite (unit, integration, real programs)
# with ctest on two cores, after checking the record side's lock annotations with clang
# (scripts/check_thread_safety.sh) and fuzzing the readers for a bounded time
# (scripts/fuzz.sh). Exits with ctest's status.
#
# The two full-size notebook runs (label `pandas`: ~1 GiB of pandas data each, 90 s,
# RSS thresholds that a machine busy with other work can push over) are left out by
# default; HEAPWARDEN_FULL_TESTS=1 runs them too. Extra arguments go to ctest, e.g.
#   scripts/test.sh -L unit
# HEAPWARDEN_BUILD_DIR=DIR builds and tests there instead of build/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/build.sh
# The record side's locks, checked by clang's -Wthread-safety (a build error, not a test).
scripts/check_thread_safety.sh
# The options, suppressions and report readers under libFuzzer, 20 s each (docs/
# reliability.md, "Fuzzing"); HEAPWARDEN_FUZZ_SECONDS=0 skips them.
if [[ "${HEAPWARDEN_FUZZ_SECONDS:-20}" != 0 ]]; then
  scripts/fuzz.sh "${HEAPWARDEN_FUZZ_SECONDS:-20}"
fi
exclude=(-LE pandas)
if [[ "${HEAPWARDEN_FULL_TESTS:-0}" == 1 ]]; then
  exclude=()
fi
exec ctest --test-dir "${HEAPWARDEN_BUILD_DIR:-build}" --output-on-failure -j2 "${exclude[@]}" "$@"

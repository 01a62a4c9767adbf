#!/usr/bin/env bash
# test.sh: builds heapwarden and runs the whole test suite (unit, integration, real
# programs) with ctest on two cores. Exits with ctest's status.
# Extra arguments go to ctest, e.g. scripts/test.sh -L unit
# HEAPWARDEN_BUILD_DIR=DIR builds and tests there instead of build/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/build.sh
exec ctest --test-dir "${HEAPWARDEN_BUILD_DIR:-build}" --output-on-failure -j2 "$@"

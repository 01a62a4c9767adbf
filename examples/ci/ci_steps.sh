#!/usr/bin/env bash
# ci_steps.sh: the steps of the CI jobs in docs/ci.md (github-actions.yml,
# gitlab-ci.yml), as one script that runs the same commands locally:
#   examples/ci/ci_steps.sh HEAPWARDEN_SOURCE PROJECT_SOURCE WORK_DIR
# PROJECT_SOURCE is a CMake project whose test binary installs heapwarden's GoogleTest
# listener (examples/gtest_consumer is one) and keeps its accepted leaks in leaks.supp.
# HW_BUILD=DIR reuses an already built heapwarden tree instead of building one.
# Exit status: the leak gate's (0 pass, 23 leaks above the limit, else the tests').
set -euo pipefail
hw_source=$(realpath "$1")
project=$(realpath "$2")
work=$(realpath -m "$3")
mkdir -p "$work"

echo "== 1. heapwarden: build and install (a CI cache can keep $work/heapwarden)"
if [[ -z "${HW_BUILD:-}" ]]; then
  HW_BUILD=$work/hw-build
  cmake -S "$hw_source" -B "$HW_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_INSTALL_PREFIX="$work/heapwarden" \
    -DHEAPWARDEN_BUILD_TESTS=OFF -DHEAPWARDEN_BUILD_BENCH=OFF > "$work/hw-configure.log"
  cmake --build "$HW_BUILD" > "$work/hw-build.log"
fi
cmake --install "$HW_BUILD" --prefix "$work/heapwarden" > "$work/hw-install.log"
export PATH=$work/heapwarden/bin:$PATH

echo "== 2. the project, against the installed heapwarden"
cmake -S "$project" -B "$work/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_PREFIX_PATH="$work/heapwarden" > "$work/configure.log"
cmake --build "$work/build" -j2 > "$work/build.log"

echo "== 3. the tests under the leak gate"
status=0
heapwarden run --fail-on-leak --max-leak-bytes 100 --suppressions "$project/leaks.supp" \
  -o "$work/heapwarden-report.json" -- "$work/build/consumer_tests" || status=$?
echo "exit status: $status"

echo "== 4. the reports, kept as artifacts whatever the verdict"
heapwarden report "$work/heapwarden-report.json" --format html -o "$work/heapwarden-report.html" ||
  echo "(no HTML report: this heapwarden has no html format)"
ls -l "$work"/heapwarden-report.*
exit $status

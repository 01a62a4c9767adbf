#!/usr/bin/env bash
# build.sh: installs what is missing, then configures and builds heapwarden into build/.
# Usage: scripts/build.sh [extra cmake configure arguments...]
# HEAPWARDEN_BUILD_DIR=DIR builds there instead of build/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/setup.sh
build_dir=${HEAPWARDEN_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
cmake --build "$build_dir"

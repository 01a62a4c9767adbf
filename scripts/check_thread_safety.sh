#!/usr/bin/env bash
# check_thread_safety.sh: builds the record side with clang and -Wthread-safety as
# errors (the locks of lib/record are annotated: base/spin_lock.h), so that a member
# touched without the lock it is ABSL_GUARDED_BY fails the build. Needs clang (setup.sh).
# HEAPWARDEN_TSA_BUILD_DIR=DIR builds there instead of build-thread-safety/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build_dir=${HEAPWARDEN_TSA_BUILD_DIR:-build-thread-safety}
mkdir -p "$build_dir"
CC=clang CXX=clang++ cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DHEAPWARDEN_BUILD_TESTS=OFF -DHEAPWARDEN_BUILD_BENCH=OFF \
  "-DCMAKE_CXX_FLAGS=-Wthread-safety -Wthread-safety-beta -Werror=thread-safety -Werror=thread-safety-beta" \
  > "$build_dir/configure.log" 2>&1 || { cat "$build_dir/configure.log"; exit 1; }
cmake --build "$build_dir" --target heapwarden_record
echo "thread-safety: lib/record builds clean under clang -Wthread-safety"

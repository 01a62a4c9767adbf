#!/usr/bin/env bash
# fuzz.sh [SECONDS] [TARGET...]: builds the libFuzzer targets of fuzz/ with clang
# (AddressSanitizer + UBSan, -O1, in build-fuzz/ unless HEAPWARDEN_FUZZ_BUILD_DIR says
# otherwise) and runs each for SECONDS (default 20) on 1 core. Targets: options,
# suppressions, report (default: all three).
#
# Each run starts from the seed corpus fuzz/corpus/TARGET plus what earlier runs found
# (kept in BUILD_DIR/corpus/TARGET, never in the source tree). A crash stops the run and
# fails the script; the input that crashed is in BUILD_DIR/crashes/TARGET/. To keep it
# as a regression test, copy it to tests/fuzz_regressions/TARGET/ (the ctest
# FuzzReplay.TARGET replays that folder through the normal build) and fix the bug.
#
# CI (scripts/test.sh) runs 20 s per target; by hand, run longer:
#   scripts/fuzz.sh 1800 report        # half an hour on the report reader
#   HEAPWARDEN_FUZZ_JOBS=2 scripts/fuzz.sh 600
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds=${1:-20}
shift || true
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then targets=(options suppressions report); fi
build_dir=${HEAPWARDEN_FUZZ_BUILD_DIR:-build-fuzz}
jobs=${HEAPWARDEN_FUZZ_JOBS:-1}

mkdir -p "$build_dir"
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
launcher=()
if command -v ccache > /dev/null; then launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
CC=clang CXX=clang++ cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DHEAPWARDEN_BUILD_TESTS=OFF -DHEAPWARDEN_BUILD_BENCH=OFF -DHEAPWARDEN_BUILD_FUZZERS=ON \
  "${launcher[@]}" "-DCMAKE_C_FLAGS=$flags" "-DCMAKE_CXX_FLAGS=$flags" \
  "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" \
  > "$build_dir/configure.log" 2>&1 || { cat "$build_dir/configure.log"; exit 1; }
ninja -C "$build_dir" -j2 "${targets[@]/%/_fuzzer}" > "$build_dir/build.log" 2>&1 ||
  { tail -50 "$build_dir/build.log"; exit 1; }

root=$(pwd)
build_abs=$(cd "$build_dir" && pwd)
parallel=()
if [[ "$jobs" -gt 1 ]]; then parallel=(-jobs="$jobs" -workers="$jobs"); fi
status=0
for target in "${targets[@]}"; do
  corpus="$build_abs/corpus/$target"
  crashes="$build_abs/crashes/$target"
  mkdir -p "$corpus" "$crashes"
  log="$build_abs/$target.log"
  echo "fuzz: $target for ${seconds}s (log: $log)"
  dict=()
  if [[ -f "$root/fuzz/$target.dict" ]]; then dict=(-dict="$root/fuzz/$target.dict"); fi
  # From the build directory: with -jobs, libFuzzer writes fuzz-N.log where it runs.
  # -close_fd_mask=3: the targets' own output (warnings, rendered reports) is noise.
  if ! (cd "$build_abs" && ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
      "$build_abs/bin/${target}_fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -close_fd_mask=3 "${parallel[@]}" "${dict[@]}" \
      -artifact_prefix="$crashes/" "$corpus" "$root/fuzz/corpus/$target") > "$log" 2>&1; then
    echo "fuzz: $target FAILED; the input is in $crashes/:"
    ls -l "$crashes"
    grep -m5 -E "ERROR|SUMMARY|runtime error" "$log" || tail -20 "$log"
    status=1
  else
    grep -E "^Done [0-9]+ runs" "$log" | tail -1 || true
  fi
done
exit $status

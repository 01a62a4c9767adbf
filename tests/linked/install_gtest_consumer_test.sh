#!/usr/bin/env bash
# install_gtest_consumer_test.sh: `cmake --install` of a built tree into a temporary
# prefix, then examples/gtest_consumer built against that prefix (find_package with
# heapwarden::gtest, and pkg-config heapwarden-gtest) and run under the installed
# `heapwarden run --fail-on-leak` with a byte limit and a suppressions file: exactly
# the leaking test fails, naming its function; the suppressed one and the one under
# the limit pass; the run's exit status is the gate's; and the listener's own memory is
# not in the test binary's report.
# Usage: install_gtest_consumer_test.sh BUILD_DIR SOURCE_DIR   (ctest runs it; exit 0 = pass)
set -euo pipefail
build=$(realpath "$1")
source=$(realpath "$2")
work=$(mktemp -d "${TMPDIR:-/tmp}/heapwarden-gtest-install-XXXXXX")
[[ -n "${HW_KEEP_TMP:-}" ]] || trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
example=$source/examples/gtest_consumer
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

step "cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix" > "$work/install.log"
for f in include/heapwarden/leak_check_listener.h include/heapwarden/leak_check.h \
         lib/pkgconfig/heapwarden-gtest.pc; do
  [[ -e "$prefix/$f" ]] || fail "not installed: $f"
done

step "examples/gtest_consumer with find_package(heapwarden CONFIG COMPONENTS gtest)"
cmake -S "$example" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo > "$work/configure.log" || { cat "$work/configure.log"; fail "configure"; }
cmake --build "$work/cmake-build" -j2 > "$work/build.log" || { cat "$work/build.log"; fail "build"; }
tests=$work/cmake-build/consumer_tests
# What the binary links: GoogleTest and the C++ runtime, nothing of heapwarden's.
if ldd "$tests" | grep -Eq 'heapwarden|absl|libdw|libelf'; then
  ldd "$tests"; fail "consumer_tests links heapwarden's internals"
fi

step "without heapwarden every test passes"
out=$(cd "$work" && env -u LD_PRELOAD -u HEAPWARDEN_OPTIONS "$tests" 2>&1) || { echo "$out"; fail "plain run failed"; }
grep -q "\[  PASSED  \] 4 tests." <<< "$out" || { echo "$out"; fail "plain run: not 4 passed"; }

# Runs the tests under the installed tool with the example's gate; sets $out and $status.
run_gated() {
  local report=$1
  shift
  status=0
  out=$(cd "$work" && PATH=$prefix/bin:$PATH "$prefix/bin/heapwarden" run --fail-on-leak \
        --max-leak-bytes 100 --suppressions "$example/leaks.supp" -o "$report" -- "$@" 2>&1) || status=$?
}

check_verdicts() {
  local name=$1
  grep -q "\[  FAILED  \] Leaks.ForgetsABuffer (" <<< "$out" || { echo "$out"; fail "$name: the leaking test did not fail"; }
  grep -q "this test leaked 4096 byte(s) in 1 object(s)" <<< "$out" || { echo "$out"; fail "$name: no leak message"; }
  grep -Eq "#0 0x[0-9a-f]+ in \(anonymous namespace\)::ForgetBuffer\(\) .*consumer_tests.cc:[0-9]+" <<< "$out" ||
    { echo "$out"; fail "$name: the failure does not name ForgetBuffer with its line"; }
  grep -q "consumer_tests.cc:[0-9]*: Failure" <<< "$out" || { echo "$out"; fail "$name: the failure is not located in the test source"; }
  for ok in Leaks.AcceptedLegacyLeak Leaks.SmallLeakUnderLimit Clean.FreesWhatItTakes; do
    grep -q "\[       OK \] $ok (" <<< "$out" || { echo "$out"; fail "$name: $ok did not pass"; }
  done
  grep -q "\[  FAILED  \] 1 test, listed below:" <<< "$out" || { echo "$out"; fail "$name: not exactly one failure"; }
}

step "heapwarden run --fail-on-leak: the leaking test fails, the gate fails the run"
run_gated "$work/all.json" "$tests"
check_verdicts "find_package build"
[[ $status -eq 23 ]] || { echo "$out"; fail "exit status $status, want 23 (the gate's)"; }

step "the same without the leaking test: the gate passes, the run exits 0"
run_gated "$work/passing.json" "$tests" --gtest_filter=-Leaks.ForgetsABuffer
grep -q "\[  PASSED  \] 3 tests." <<< "$out" || { echo "$out"; fail "filtered run: not 3 passed"; }
[[ $status -eq 0 ]] || { echo "$out"; fail "filtered run exit status $status, want 0"; }

step "the listener's memory is not in the test binary's report"
python3 - "$work/all.json" <<'PY' || fail "listener memory in the report"
import json, sys
r = json.load(open(sys.argv[1]))
frames_by_id = {f["id"]: f for f in r.get("frames", [])}
stacks = {s["id"]: [frames_by_id[f] if isinstance(f, int) else f for f in s["frames"]]
          for s in r["stacks"]}
def listener(site):
    return any("LeakCheckListener" in f.get("function", "") or
               "heapwarden_leak_check" in f.get("function", "") for f in stacks[site["stack"]])
mine = [s for s in r["sites"] if listener(s)]
live = sum(s["live_bytes"] for s in mine)
allocated = sum(s["bytes_allocated"] for s in mine)
total_live = r["totals"]["live_bytes"]
print(f"listener sites {len(mine)}: {allocated} bytes allocated, {live} live at exit; "
      f"process live at exit {total_live}")
assert live == 0, "the listener holds memory at exit"
# Its allocations are GoogleTest's copies of one failure message (a few KiB each), not
# a symbolizer's tables (elfutils, Abseil: 12.7 MiB live at exit before).
foreign = [f.get("function", "") for s in mine for f in stacks[s["stack"]]
           if any(k in f.get("function", "") for k in ("dwarf_", "dwfl_", "absl::", "report::"))]
assert not foreign, f"symbolizer frames under the listener: {foreign[:5]}"
assert allocated < 256 * 1024, f"the listener allocated {allocated} bytes"
assert total_live < 256 * 1024, f"{total_live} bytes live at exit"
PY

step "examples/gtest_consumer with pkg-config heapwarden-gtest"
cp -r "$example" "$work/pc"
make -C "$work/pc" PKG_CONFIG_PATH="$prefix/lib/pkgconfig" > "$work/make.log" 2>&1 ||
  { cat "$work/make.log"; fail "make"; }
run_gated "$work/pc.json" "$work/pc/consumer_tests_pc"
check_verdicts "pkg-config build"
[[ $status -eq 23 ]] || { echo "$out"; fail "pkg-config build: exit status $status, want 23"; }

step "the bare installed preload applies the same gate per test"
status=0
out=$(cd "$work" && PATH=$prefix/bin:$PATH LD_PRELOAD=$prefix/lib/libheapwarden_preload.so \
      HEAPWARDEN_OPTIONS="output=$work/bare.json:fail_on_leak=1:max_leak_bytes=100:suppressions=$example/leaks.supp:summary=0" \
      "$tests" 2>&1) || status=$?
check_verdicts "bare preload"
[[ $status -eq 23 ]] || { echo "$out"; fail "bare preload: exit status $status, want 23"; }
echo "PASS"

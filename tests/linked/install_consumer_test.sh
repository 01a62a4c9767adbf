#!/usr/bin/env bash
# install_consumer_test.sh: `cmake --install` of a built tree into a temporary prefix,
# then examples/consumer built against that prefix with find_package (CMake) and with
# pkg-config (its Makefile), each flavour run with tracking off and on; and the
# installed `heapwarden run` finding the installed preload.
# Usage: install_consumer_test.sh BUILD_DIR SOURCE_DIR   (ctest runs it; exit 0 = pass)
set -euo pipefail
build=$(realpath "$1")
source=$(realpath "$2")
work=$(mktemp -d "${TMPDIR:-/tmp}/heapwarden-install-XXXXXX")
[[ -n "${HW_KEEP_TMP:-}" ]] || trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

step "cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix" > "$work/install.log"
for f in include/heapwarden/heapwarden.h include/heapwarden/heapwarden.hpp \
         lib/libheapwarden_preload.so bin/heapwarden \
         lib/cmake/heapwarden/heapwarden-config.cmake \
         lib/cmake/heapwarden/heapwarden-config-version.cmake \
         lib/cmake/heapwarden/heapwarden-targets.cmake \
         lib/pkgconfig/heapwarden.pc lib/pkgconfig/heapwarden-static.pc; do
  [[ -e "$prefix/$f" ]] || fail "not installed: $f"
done
libdir=$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --variable=libdir heapwarden)
[[ -e "$libdir/libheapwarden.so" && -e "$libdir/libheapwarden.a" ]] ||
  fail "libheapwarden.so/.a not in $libdir"
if [[ -d "$source/python/heapwarden" ]]; then
  [[ -f "$prefix/share/heapwarden/python/heapwarden/__init__.py" ]] ||
    fail "the Python package is not at share/heapwarden/python/heapwarden"
fi

# Runs one consumer binary: off (no report, same output as the headers-only build),
# then on through HEAPWARDEN_OPTIONS (a report with the consumer's tags and exact bytes).
check_consumer() {
  local binary=$1 name
  name=$(basename "$binary")
  step "$name: tracking off"
  local off on
  off=$(cd "$work" && env -u HEAPWARDEN_OPTIONS -u LD_PRELOAD "$binary")
  grep -q "heapwarden active: no" <<< "$off" || fail "$name active without being asked: $off"
  [[ "$off" == "$reference" ]] || fail "$name output differs from the headers-only build"
  step "$name: tracking on"
  rm -f "$work/$name.json"
  on=$(cd "$work" && PATH=$prefix/bin:$PATH \
       HEAPWARDEN_OPTIONS=output=$work/$name.json "$binary")
  grep -q "heapwarden active: yes" <<< "$on" || fail "$name not active: $on"
  grep -q "tag embeddings  live   16384  peak   16384" <<< "$on" || fail "$name tag_stats: $on"
  python3 - "$work/$name.json" <<'PY' || fail "$name report"
import json, sys
r = json.load(open(sys.argv[1]))
tags = {t["tag"]: t for t in r["tags"]}
assert tags["embeddings"]["bytes_allocated"] == 16384, tags.get("embeddings")
assert "load/index" in tags and tags["load/index"]["bytes_allocated"] > 0, tags.keys()
assert "cache" in tags, tags.keys()
assert r["process"]["complete"], r["process"]
if r["version"] == 2:  # each frame once, in "frames"
    functions = [f.get("function", "") for f in r["frames"]]
else:
    functions = [f.get("function", "") for s in r["stacks"] for f in s["frames"]]
assert any(f.startswith("main") for f in functions), "report not symbolized"
PY
}

step "consumer with find_package(heapwarden CONFIG)"
cmake -S "$source/examples/consumer" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo > "$work/configure.log" || { cat "$work/configure.log"; fail "configure"; }
cmake --build "$work/cmake-build" -j2 > "$work/build.log" || { cat "$work/build.log"; fail "build"; }
reference=$(cd "$work" && env -u HEAPWARDEN_OPTIONS -u LD_PRELOAD "$work/cmake-build/consumer_headers")
grep -q "heapwarden active: no" <<< "$reference" || fail "headers-only build active: $reference"
check_consumer "$work/cmake-build/consumer"
check_consumer "$work/cmake-build/consumer_static"

step "consumer with pkg-config"
cp -r "$source/examples/consumer" "$work/pc"
make -C "$work/pc" PKG_CONFIG_PATH="$prefix/lib/pkgconfig" > "$work/make.log" ||
  { cat "$work/make.log"; fail "make"; }
check_consumer "$work/pc/consumer_pc"
check_consumer "$work/pc/consumer_pc_static"

step "installed heapwarden run finds the installed preload"
out=$(cd "$work" && "$prefix/bin/heapwarden" run -o "$work/run.json" -- \
      "$work/cmake-build/consumer_headers" 2> "$work/run.err") || { cat "$work/run.err"; fail "heapwarden run"; }
grep -q "heapwarden active: yes" <<< "$out" || fail "headers-only consumer not tracked under run: $out"
grep -q "tag embeddings  live   16384" <<< "$out" || fail "tags under run: $out"

if [[ -d "$source/python/heapwarden" ]]; then
  step "installed heapwarden run puts the installed Python package on PYTHONPATH"
  out=$(cd "$work" && "$prefix/bin/heapwarden" run -o "$work/py.json" -- \
        python3 -c 'import heapwarden; print(heapwarden.__file__)' 2> "$work/py.err") ||
    { cat "$work/py.err"; fail "heapwarden run python3"; }
  [[ "$out" == "$prefix/share/heapwarden/python/heapwarden/__init__.py" ]] ||
    fail "python imported heapwarden from $out"
fi
echo "PASS"

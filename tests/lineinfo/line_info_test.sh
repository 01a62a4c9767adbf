#!/usr/bin/env bash
# line_info_test.sh: runs one build of tests/programs/line_info.c under `heapwarden run`
# and checks that every frame of the leak's stack inside the program has the function,
# file and line that llvm-symbolizer (else addr2line) gives for the same address, with
# no line where they have none (_start), and that the allocating lines are the source's.
# Usage: line_info_test.sh HEAPWARDEN PROGRAM SOURCE   (ctest runs it; exit 0 = pass)
set -euo pipefail
heapwarden=$1
program=$(realpath "$2")
source=$(realpath "$3")
work=$(mktemp -d "${TMPDIR:-/tmp}/heapwarden-lineinfo-XXXXXX")
[[ -n "${HW_KEEP_TMP:-}" ]] || trap 'rm -rf "$work"' EXIT

symbolizer=
for candidate in llvm-symbolizer-14 llvm-symbolizer addr2line; do
  if command -v "$candidate" > /dev/null; then symbolizer=$candidate; break; fi
done
[[ -n "$symbolizer" ]] || { echo "FAIL: neither llvm-symbolizer nor addr2line"; exit 1; }

"$heapwarden" run -o "$work/r.json" -- "$program" 2> "$work/run.err" ||
  { cat "$work/run.err"; echo "FAIL: heapwarden run"; exit 1; }

python3 - "$work/r.json" "$program" "$source" "$symbolizer" <<'PY'
import json, os, subprocess, sys

report_path, program, source, symbolizer = sys.argv[1:]
r = json.load(open(report_path))

# Report version 1 keeps frames inline with module paths; version 2 keeps ids.
frames_by_id = {f["id"]: f for f in r.get("frames", [])}
modules_by_id = {m["id"]: m["path"] for m in r.get("modules", [])}
stacks = {s["id"]: s for s in r["stacks"]}

def frame(f):
    f = frames_by_id[f] if isinstance(f, int) else f
    module = f.get("module", "")
    if isinstance(module, int):
        module = modules_by_id.get(module, "")
    return dict(f, module=module)

sites = [s for s in r["sites"] if s["bytes_allocated"] == 1337]
assert len(sites) == 1, f"want one site of 1337 bytes, got {sites}"
stack = [frame(f) for f in stacks[sites[0]["stack"]]["frames"]]

def site_line(name):
    for n, text in enumerate(open(source), 1):
        if f"SITE:{name}" in text:
            return n
    raise AssertionError(f"no SITE:{name} in {source}")

def reference(offset):
    """[(function, file, line)] innermost first at ELF address `offset`."""
    address = hex(offset)
    if "llvm-symbolizer" in symbolizer:
        out = subprocess.run([symbolizer, "--obj=" + program, "--inlining", "--functions=linkage",
                              "--demangle", address], capture_output=True, text=True, check=True).stdout
        lines = [l for l in out.split("\n") if l]
        pairs = zip(lines[0::2], lines[1::2])
        result = []
        for function, location in pairs:
            path, line, _column = location.rsplit(":", 2)
            result.append((function, path, int(line)))
        return result
    out = subprocess.run([symbolizer, "-f", "-i", "-C", "-e", program, address],
                         capture_output=True, text=True, check=True).stdout
    lines = [l for l in out.split("\n") if l]
    result = []
    for function, location in zip(lines[0::2], lines[1::2]):
        path, line = location.rsplit(":", 1)
        line = line.split(" ")[0]
        result.append((function, path, int(line) if line.isdigit() else 0))
    return result

def normalise(path, line):
    if line == 0 or path in ("", "??"):
        return ("", 0)
    return (os.path.normpath(path), line)

errors = []
mine = [f for f in stack if f.get("kind", "native") == "native" and f["module"] == program]
by_offset = {}
for f in mine:
    by_offset.setdefault(f["offset"], []).append(f)
checked = 0
for offset, group in by_offset.items():
    want = [(fn, *normalise(p, l)) for fn, p, l in reference(offset - 1)]
    got = [(f.get("function", "??"), *normalise(f.get("file", ""), f.get("line", 0))) for f in group]
    if want != got:
        errors.append(f"offset {hex(offset)}: report {got} != {symbolizer} {want}")
    checked += 1

def find(function):
    return next((f for f in mine if f.get("function", "").split("(")[0] == function), None)

fill, call, start = find("FillBlock"), find("leak_line_info"), find("_start")
if fill is None or fill.get("line") != site_line("fill"):
    errors.append(f"FillBlock should be at line {site_line('fill')}: {fill}")
if call is None or call.get("line") != site_line("call"):
    errors.append(f"leak_line_info should be at line {site_line('call')}: {call}")
if start is None or start.get("file") or start.get("line"):
    errors.append(f"_start should be in the stack with no file or line: {start}")
if find("main") is None or not find("main").get("line"):
    errors.append(f"main should have a line: {find('main')}")

for f in stack:
    print(f"  {f.get('function', '??')} {f.get('file', '')}:{f.get('line', 0)} "
          f"({os.path.basename(f['module'])}+{hex(f.get('offset', 0))})")
if errors:
    print("FAIL:\n  " + "\n  ".join(errors))
    sys.exit(1)
print(f"PASS: {checked} addresses match {symbolizer}")
PY

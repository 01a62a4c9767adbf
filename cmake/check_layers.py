#!/usr/bin/env python3
"""check_layers.py: fails the build when a record-side file includes a layer above its own.

The record side (lib/record/) is built in layers, each a folder that may include only
the folders below it (docs/design.md, "The map"):

    base < alloc < track < leaks < emit < service < (lib/record/*.cc: the orchestration)

Usage: check_layers.py LIB_RECORD_DIR STAMP_FILE
Prints one line per upward include (file:line: what and why) and exits 1, or touches
STAMP_FILE and exits 0.
"""
import pathlib
import re
import sys

LAYERS = ["base", "alloc", "track", "leaks", "emit", "service"]
TOP = len(LAYERS)  # files directly in lib/record/
INCLUDE = re.compile(r'^\s*#\s*include\s+"record/([a-z_]+)/')


def layer_of(path: pathlib.Path, root: pathlib.Path) -> int:
    rel = path.relative_to(root)
    return LAYERS.index(rel.parts[0]) if len(rel.parts) > 1 else TOP


def main() -> int:
    root = pathlib.Path(sys.argv[1]).resolve()
    stamp = pathlib.Path(sys.argv[2])
    errors = []
    for path in sorted(root.rglob("*")):
        if path.suffix not in (".h", ".cc", ".inc") or not path.is_file():
            continue
        rel = path.relative_to(root)
        if len(rel.parts) > 2 or (len(rel.parts) == 2 and rel.parts[0] not in LAYERS):
            errors.append(f"{path}: not in a layer folder ({', '.join(LAYERS)})")
            continue
        own = layer_of(path, root)
        for number, line in enumerate(path.read_text().splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            target = m.group(1)
            if target not in LAYERS:
                errors.append(f"{path}:{number}: includes unknown layer record/{target}/")
            elif LAYERS.index(target) > own:
                errors.append(
                    f"{path}:{number}: record/{rel.parts[0] if own < TOP else ''} may not "
                    f"include record/{target}/ (a higher layer; dependencies point down: "
                    f"{' < '.join(LAYERS)} < orchestration)")
    if errors:
        print("\n".join(errors), file=sys.stderr)
        return 1
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.touch()
    return 0


if __name__ == "__main__":
    sys.exit(main())

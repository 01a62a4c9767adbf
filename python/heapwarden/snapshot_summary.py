"""Live memory of a heapwarden report by line, largest first: what ``%heapwarden
snapshot`` prints in the cell (heapwarden/magics.py runs this file as a script, in a
process of its own, so that parsing the report does not grow the kernel it measures).

    python3 snapshot_summary.py REPORT < CELLS_JSON

CELLS_JSON maps a notebook cell's file name (ipykernel compiles each cell under a file
of its own) to its execution count. A site is named by the innermost frame on its stack
that is in a cell ("make_table (Cell In[3], line 2)", as IPython's tracebacks name
cells), else by its innermost Python frame, else by its first named native frame;
memory mapped outside malloc (pymalloc's arenas) is marked "[mapped]".
Reads report versions 1 (frames inline) and 2 (a frame table).
"""

import json
import sys


def human_size(n):
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return ("%d %s" % (value, unit)) if unit == "B" else ("%.1f %s" % (value, unit))
        value /= 1024
    return "%d B" % n


def _frames_of(report, stack):
    """The frames of a stack as dicts, from a version 1 report (frames inline) or a
    version 2 one (frame ids into the report's "frames")."""
    frames = stack.get("frames", [])
    if frames and not isinstance(frames[0], dict):
        table = report.get("_frames_by_id")
        if table is None:
            table = {f.get("id"): f for f in report.get("frames", [])}
            report["_frames_by_id"] = table
        return [table.get(i, {}) for i in frames]
    return frames


def _site_name(frames, cells):
    python = [f for f in frames if f.get("kind") == "python"]
    for f in python:
        if f.get("file") in cells:
            return "%s (Cell In[%s], line %s)" % (f.get("function", "?"), cells[f["file"]], f.get("line", "?"))
    if python:
        f = python[0]
        return "%s (%s:%s)" % (f.get("function", "?"), f.get("file", "?"), f.get("line", "?"))
    for f in frames:
        if f.get("function"):
            return "%s (native)" % f["function"]
    return "(native, no symbols)"


def summarize(path, cells, top=5):
    """The lines printed after a snapshot: live memory by site, largest first."""
    with open(path) as f:
        report = json.load(f)
    stacks = {s.get("id"): s for s in report.get("stacks", [])}
    by_name = {}
    for site in report.get("sites", []):
        live = site.get("live_bytes", 0)
        if live <= 0:
            continue
        name = _site_name(_frames_of(report, stacks.get(site.get("stack"), {})), cells)
        if site.get("source") == "mapped":
            name += " [mapped]"
        entry = by_name.setdefault(name, [0, 0])
        entry[0] += live
        entry[1] += site.get("live_blocks", 0)
    ranked = sorted(by_name.items(), key=lambda item: -item[1][0])
    lines = ["live memory by line (%d lines; [mapped]: regions mapped outside malloc, such as pymalloc's arenas):" % len(ranked)]
    for name, (live, blocks) in ranked[:top]:
        lines.append("  %10s  %6d blocks  %s" % (human_size(live), blocks, name))
    return lines


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: snapshot_summary.py REPORT < CELLS_JSON\n")
        return 2
    text = sys.stdin.read()
    cells = json.loads(text) if text.strip() else {}
    for line in summarize(argv[1], cells):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

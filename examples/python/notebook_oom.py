#!/usr/bin/python3
"""notebook_oom.py: the notebook that runs out of memory although it deleted its data.

A notebook cell reads a CSV in chunks, builds DataFrames and arrays from it, keeps a
small summary, deletes the rest and calls gc.collect(). The resident set hardly moves:
the memory is free inside the allocators (glibc's heap, CPython's pymalloc arenas) but
still resident, so the next cell dies. heapwarden.trim() asks the allocator to hand
the free pages back, and this script prints RSS at every step to show what it gives.

    heapwarden run -- /usr/bin/python3 examples/python/notebook_oom.py
    heapwarden run --python-malloc -- /usr/bin/python3 examples/python/notebook_oom.py
    heapwarden run --backend mimalloc -- /usr/bin/python3 examples/python/notebook_oom.py

Without heapwarden it still runs, and calls glibc's malloc_trim(0) itself instead, for
comparison (trim_via= says which). --rows sets the size: the
default (3,000,000 rows) builds about 1 GiB; tests use small values too. Needs Debian's
python3-pandas and python3-numpy (hence /usr/bin/python3).

Output: one "key=value" line per step, RSS in bytes, for scripts and tests to read.
"""

import argparse
import ctypes
import gc
import os
import subprocess
import sys
import tempfile


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def mib(n):
    return "%.1f MiB" % (n / 1048576.0)


def report(key, value, note=""):
    print("%s=%d%s" % (key, value, ("  # " + note) if note else ""), flush=True)


class _TrimResult(ctypes.Structure):
    _fields_ = [("rss_before", ctypes.c_uint64), ("rss_after", ctypes.c_uint64),
                ("released_bytes", ctypes.c_uint64), ("ok", ctypes.c_int)]


def trim():
    """heapwarden.trim() when the package is importable (heapwarden run puts it on
    PYTHONPATH), else the C function straight from the preload. Without heapwarden,
    glibc's malloc_trim(0), measured here. Returns (how, result dict)."""
    try:
        import heapwarden  # noqa: F401  (python/heapwarden)
        if heapwarden.active():
            return "heapwarden.trim", heapwarden.trim()
    except ImportError:
        pass
    lib = ctypes.CDLL(None)
    if hasattr(lib, "heapwarden_trim"):
        lib.heapwarden_trim.restype = _TrimResult
        r = lib.heapwarden_trim()
        if r.ok:
            return "heapwarden_trim", {"rss_before": r.rss_before, "rss_after": r.rss_after,
                                       "released_bytes": r.released_bytes}
    before = rss_bytes()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    after = rss_bytes()
    return "malloc_trim", {"rss_before": before, "rss_after": after,
                           "released_bytes": max(0, before - after)}


def write_csv(path, rows, np, pd):
    """Writes `rows` rows of made-up measurements, in slices, so that the CSV itself
    never sits in memory whole."""
    rng = np.random.default_rng(2024)
    cities = np.array(["Lisbon", "Oslo", "Quito", "Perth", "Tunis", "Lima", "Osaka",
                       "Cork", "Accra", "Riga"])
    step = 250000
    with open(path, "w") as out:
        for start in range(0, rows, step):
            n = min(step, rows - start)
            frame = pd.DataFrame({
                "id": np.arange(start, start + n),
                "city": cities[rng.integers(0, len(cities), n)],
                "temperature": rng.normal(15, 8, n).round(2),
                "humidity": rng.uniform(0, 100, n).round(1),
                "station": ["st-%06d" % i for i in rng.integers(0, 999999, n)],
            })
            frame.to_csv(out, header=(start == 0), index=False)
            del frame


def build(path, np, pd, chunk_rows):
    """What the notebook holds after its analysis cell: the table, per-chunk arrays and
    a Python-level index, all derived from the CSV."""
    chunks = []
    arrays = []
    index = {}
    previews = []
    for chunk in pd.read_csv(path, chunksize=chunk_rows):
        # Kept: a peek at every chunk, made while the big objects are being built, so
        # it lands between them, as the cells' small results do in a real notebook.
        previews.append(chunk.iloc[:3].copy())
        chunk["fahrenheit"] = chunk["temperature"] * 9 / 5 + 32
        chunk["label"] = chunk["city"] + "/" + chunk["station"]
        arrays.append(chunk[["temperature", "humidity", "fahrenheit"]].to_numpy())
        arrays.append(np.outer(chunk["humidity"].to_numpy()[:512], np.ones(512)))
        for row_id, label in zip(chunk["id"].to_numpy()[::8], chunk["label"].to_numpy()[::8]):
            index[int(row_id)] = (label, row_id % 7)
        chunks.append(chunk)
    table = pd.concat(chunks, ignore_index=True)
    return table, chunks, arrays, index, previews


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=3000000,
                        help="rows of the generated CSV (default: 3,000,000, about 1 GiB built)")
    parser.add_argument("--chunk-rows", type=int, default=100000)
    parser.add_argument("--csv", help="CSV path (default: a temporary file, removed at the end)")
    parser.add_argument("--write-csv-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.write_csv_only:
        import numpy as np
        import pandas as pd
        write_csv(args.csv, args.rows, np, pd)
        return 0

    import numpy as np
    import pandas as pd

    report("pid", os.getpid())
    print("pymalloc=%s" % ("off" if os.environ.get("PYTHONMALLOC") == "malloc" else "on"))
    csv_path = args.csv or tempfile.mktemp(prefix="notebook_oom.", suffix=".csv")
    try:
        # The CSV comes from elsewhere, as a notebook's input does: another process
        # writes it, untracked, so this one starts from a clean heap.
        env = {k: v for k, v in os.environ.items()
               if k not in ("LD_PRELOAD", "HEAPWARDEN_OPTIONS", "PYTHONMALLOC")}
        subprocess.run([sys.executable, os.path.abspath(__file__), "--write-csv-only",
                        "--csv", csv_path, "--rows", str(args.rows)], env=env, check=True)
        gc.collect()
        before = rss_bytes()
        report("rss_before_build", before, mib(before))

        table, chunks, arrays, index, previews = build(csv_path, np, pd, args.chunk_rows)
        built = rss_bytes()
        report("rss_built", built, mib(built))

        # What the notebook keeps: a summary a few hundred bytes long, and the previews.
        summary = table.groupby("city")["temperature"].mean().round(3).to_dict()
        print("summary=%s previews=%d" % (sorted(summary.items())[:3], len(previews)))

        del table, chunks, arrays, index
        gc.collect()
        after_gc = rss_bytes()
        report("rss_after_gc", after_gc, mib(after_gc))

        how, result = trim()
        after_trim = rss_bytes()
        print("trim_via=%s" % how)
        report("trim_released", result["released_bytes"], mib(result["released_bytes"]))
        report("rss_after_trim", after_trim, mib(after_trim))
        print("returned_by_gc=%s returned_by_trim=%s still_above_start=%s" % (
            mib(built - after_gc), mib(after_gc - after_trim), mib(after_trim - before)))
    finally:
        if not args.csv:
            os.unlink(csv_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

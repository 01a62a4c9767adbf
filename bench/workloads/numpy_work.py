#!/usr/bin/python3
"""numpy_work: a data-science style Python job for heap-tracker overhead runs.

Run it with Debian's interpreter, which has python3-numpy (and python3-pandas):
    /usr/bin/python3 bench/workloads/numpy_work.py [--iters N]

Each iteration creates arrays, does arithmetic that makes temporary arrays, reduces
them, and churns pure-Python objects (dicts, lists, strings); when pandas imports, a
small groupby runs every few iterations. Prints a checksum line that depends only on
the arguments (floats are rounded), so plain and tracked runs can be compared.
"""
import argparse
import sys

import numpy as np

try:
    import pandas as pd
except ImportError:  # the workload still runs, and says so in its output
    pd = None

DEFAULT_ITERS = 120


def arrays(rng, n):
    a = rng.random(n)
    b = np.arange(n, dtype=np.float64) / n
    c = a * b + np.sqrt(a + 1.0) - b ** 2          # several temporaries
    d = np.where(c > 0.5, c, -c)
    m = np.outer(a[:96], b[:96]) @ np.ones((96, 8))  # small matrices
    s = np.sort(d[: n // 4])
    idx = np.argsort(a[: n // 8])
    stacked = np.concatenate([a[:1000], b[:1000], c[:1000]]).reshape(3, -1)
    return float(c.sum() + d.mean() + m.sum() + s[len(s) // 2] + idx[0] + stacked.std())


def objects(i, count):
    records = []
    for k in range(count):
        name = "item-%d-%d" % (i, k)
        records.append({"name": name, "key": k % 17, "tags": [name[:6], str(k), "x" * (k % 9)]})
    index = {}
    for r in records:
        index.setdefault(r["key"], []).append(r["name"])
    joined = ",".join(sorted(index[3]))
    words = " ".join(r["tags"][1] for r in records).split()
    return len(joined) + len(words) + sum(len(v) for v in index.values())


def frame(rng, rows):
    df = pd.DataFrame({
        "group": rng.integers(0, 50, rows),
        "value": rng.random(rows),
        "label": ["g%d" % (k % 13) for k in range(rows)],
    })
    g = df.groupby("group")["value"].agg(["sum", "mean", "count"])
    h = df.groupby("label").size()
    return float(g["sum"].sum() + g["count"].sum() + h.sum())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=DEFAULT_ITERS, help="iterations (default %(default)s)")
    args = parser.parse_args()
    if args.iters < 1:
        parser.error("--iters: expected at least 1")
    rng = np.random.default_rng(1234)
    total_arrays = 0.0
    total_objects = 0
    total_frames = 0.0
    for i in range(args.iters):
        total_arrays += arrays(rng, 200_000)
        total_objects += objects(i, 2_000)
        if pd is not None and i % 10 == 0:
            total_frames += frame(rng, 20_000)
    print("numpy_work iters=%d pandas=%s arrays=%.6e objects=%d frames=%.6e"
          % (args.iters, "yes" if pd is not None else "no", total_arrays, total_objects, total_frames))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The table the per-call benchmark scripts print (hook_overhead.sh, linked_overhead.sh).

usage: median_table.py OUT_DIR BASELINE KIND[=LABEL]...

Reads OUT_DIR/<kind>.<round>.json (Google Benchmark's JSON, one file per round) and
prints, for every benchmark, the median CPU ns/call of BASELINE and of each KIND with
its ratio to BASELINE.
"""
import glob
import json
import statistics
import sys


def medians(out, kind):
    runs = {}
    for path in sorted(glob.glob(f"{out}/{kind}.*.json")):
        with open(path) as f:
            for b in json.load(f)["benchmarks"]:
                runs.setdefault(b["name"], []).append(b["cpu_time"])
    return {name: statistics.median(v) for name, v in runs.items()}


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__.strip().splitlines()[2])
    out, baseline = argv[1], argv[2]
    kinds = [k.split("=", 1) if "=" in k else (k, k) for k in argv[3:]]
    base = medians(out, baseline)
    data = {kind: medians(out, kind) for kind, _ in kinds}
    header = f"{'benchmark (ns/call)':40} {baseline:>9}" + "".join(f" {label:>18}" for _, label in kinds)
    print(header)
    for name, p in base.items():
        cells = "".join(f" {data[k][name]:9.1f} ({data[k][name] / p:5.2f}x)" for k, _ in kinds)
        print(f"{name:40} {p:9.1f}{cells}")


if __name__ == "__main__":
    main(sys.argv)

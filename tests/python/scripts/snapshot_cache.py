# snapshot_cache.py: a cache kept alive by known lines, and a snapshot the script takes
# of itself (heapwarden.snapshot, argv[1]) while the cache is live. The "# LINE:"
# markers are what the test looks up:
#   cache  a 24 MiB numpy array (3 Mi float64) the module-level cache keeps;
#   frame  a pandas DataFrame the cache keeps (16 MiB of float64, made inside pandas);
#   scratch  a 16 MiB array freed before the snapshot: not live in it.
import sys

import numpy as np
import pandas as pd

import heapwarden

_cache = {}


def remember_array(key):
    if key not in _cache:
        _cache[key] = np.full(3 * 1024 * 1024, 1.5)  # LINE:cache
    return _cache[key]


def remember_frame(key):
    if key not in _cache:
        _cache[key] = pd.DataFrame({"price": np.linspace(1.0, 2.0, 2 * 1024 * 1024)})  # LINE:frame
    return _cache[key]


def scratch_total():
    scratch = np.ones(2 * 1024 * 1024)  # LINE:scratch
    return float(scratch.sum())


def main():
    total = scratch_total()
    total += float(remember_array("prices").sum())
    total += float(remember_frame("table")["price"].sum())
    print("snapshot", heapwarden.snapshot(sys.argv[1]))
    print("total", int(total))


main()

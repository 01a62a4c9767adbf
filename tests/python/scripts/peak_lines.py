# peak_lines.py: arrays of known sizes made on known lines (the "# LINE:" markers, which
# the test looks up). At the peak, `table` (32 MiB) and `index` (8 MiB) are live;
# `scratch` (16 MiB) was freed before either was made.
import numpy as np


def load_scratch():
    return np.ones(2 * 1024 * 1024)  # LINE:scratch


def load_table():
    return np.ones(4 * 1024 * 1024)  # LINE:table


def build_index(n):
    return np.zeros(n, dtype=np.int64)  # LINE:index


def main():
    scratch = load_scratch()
    total = float(scratch.sum())
    del scratch
    table = load_table()
    index = build_index(1024 * 1024)
    total += float(table.sum()) + float(index.sum())
    del table, index
    print(int(total))


main()

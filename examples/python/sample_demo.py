# sample_demo.py: a small Python + NumPy job for docs/sampling.md: many small dicts
# (pymalloc and malloc) and a few large matrices (malloc, then mmap).
import numpy as np
def load_rows(n):
    return [{"id": i, "name": "row%d" % i} for i in range(n)]
def build_matrix(n):
    return [np.random.rand(256, 256) for _ in range(n)]
rows = load_rows(300000)
mats = build_matrix(64)
total = sum(m.sum() for m in mats)
print(len(rows), round(total) > 0)

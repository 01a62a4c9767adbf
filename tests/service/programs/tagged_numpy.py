# tagged_numpy.py: a numpy array allocated under `with heapwarden.tag("load")`, kept
# to the end; a decorated function's array under "train". Prints what the module sees.
import heapwarden
import numpy

with heapwarden.tag("load"):
    table = numpy.ones(8 * 1024 * 1024 // 8)  # 8 MiB of float64


@heapwarden.tag("train")
def train():
    return numpy.zeros(1024 * 1024 // 8)  # 1 MiB


model = train()
print("active", heapwarden.active())
print("load", heapwarden.tag_stats("load"))
print("stats", heapwarden.stats()["live_bytes"] >= table.nbytes)
print("trim", heapwarden.trim()["ok"])

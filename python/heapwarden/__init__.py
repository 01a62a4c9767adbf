"""heapwarden: tag memory, read statistics, write snapshots and trim from Python.

A pure-Python module over heapwarden's C API (ctypes), for programs running under
``heapwarden run -- python3 script.py`` (which puts this package on PYTHONPATH) or with
``libheapwarden_preload.so`` in LD_PRELOAD::

    import heapwarden

    with heapwarden.tag("load"):          # allocations made here belong to "load"
        table = load_table(path)

    @heapwarden.tag("train")              # the whole call is tagged
    def train(table): ...

    print(heapwarden.stats()["live_bytes"])
    heapwarden.snapshot("/tmp/now.json")  # a report of the process as it is now
    print(heapwarden.trim()["released_bytes"])

Without heapwarden in the process, importing warns once (RuntimeWarning) and every
function still works and returns the "inactive" value it documents, so the same
script runs with and without it.

Tags are per OS thread, like the C API's: a tag set in one thread does not apply to
another (nor across asyncio tasks sharing a thread while one is suspended). They
nest: ``with tag("epoch"): with tag("load"):`` gives the path ``"epoch/load"``. The
frees of tagged memory are charged to the tag, whichever thread frees it.
"""

import contextlib
import ctypes
import functools
import warnings

__all__ = ["active", "tag", "snapshot", "stats", "trim", "tag_stats"]


class _Stats(ctypes.Structure):
    # struct heapwarden_stats in include/heapwarden/heapwarden.h, field for field.
    _fields_ = [
        ("live_bytes", ctypes.c_uint64),
        ("live_blocks", ctypes.c_uint64),
        ("peak_live_bytes", ctypes.c_uint64),
        ("allocations", ctypes.c_uint64),
        ("frees", ctypes.c_uint64),
        ("bytes_allocated", ctypes.c_uint64),
        ("rss_bytes", ctypes.c_uint64),
        ("peak_rss_bytes", ctypes.c_uint64),
        ("retained_bytes", ctypes.c_uint64),
        ("mapped_bytes", ctypes.c_uint64),
    ]


class _TrimResult(ctypes.Structure):
    # heapwarden_trim_result, returned by value.
    _fields_ = [
        ("rss_before", ctypes.c_uint64),
        ("rss_after", ctypes.c_uint64),
        ("released_bytes", ctypes.c_uint64),
        ("ok", ctypes.c_int),
    ]


def _load():
    """The process's own symbols (where LD_PRELOAD put heapwarden's), or None."""
    try:
        lib = ctypes.CDLL(None)
        active = lib.heapwarden_active
    except (OSError, AttributeError):
        return None
    active.restype = ctypes.c_int
    active.argtypes = []
    lib.heapwarden_tag_push.restype = None
    lib.heapwarden_tag_push.argtypes = [ctypes.c_char_p]
    lib.heapwarden_tag_pop.restype = None
    lib.heapwarden_tag_pop.argtypes = []
    lib.heapwarden_trim.restype = _TrimResult
    lib.heapwarden_trim.argtypes = []
    lib.heapwarden_snapshot.restype = ctypes.c_int
    lib.heapwarden_snapshot.argtypes = [ctypes.c_char_p]
    lib.heapwarden_stats.restype = ctypes.c_int
    lib.heapwarden_stats.argtypes = [ctypes.POINTER(_Stats)]
    lib.heapwarden_tag_stats.restype = ctypes.c_int
    lib.heapwarden_tag_stats.argtypes = [
        ctypes.c_char_p,
        ctypes.POINTER(ctypes.c_uint64),
        ctypes.POINTER(ctypes.c_uint64),
    ]
    return lib


_lib = _load()
if _lib is None or not _lib.heapwarden_active():
    _lib = None
    warnings.warn(
        "heapwarden is not tracking this process (run it under `heapwarden run`); "
        "heapwarden functions do nothing",
        RuntimeWarning,
        stacklevel=2,
    )


def _encode(text):
    if isinstance(text, bytes):
        return text
    return str(text).encode("utf-8", "surrogateescape")


def active():
    """True when heapwarden is tracking this process."""
    return _lib is not None


class tag(contextlib.ContextDecorator):
    """Attributes this thread's allocations to ``name`` while active.

    As a context manager (``with heapwarden.tag("load"):``) or a decorator
    (``@heapwarden.tag("load")``). Nests with other tags of the same thread into a
    slash-joined path. Does nothing when heapwarden is inactive.
    """

    def __init__(self, name):
        self._name = _encode(name)

    def __enter__(self):
        if _lib is not None:
            _lib.heapwarden_tag_push(self._name)
        return self

    def __exit__(self, *exc):
        if _lib is not None:
            _lib.heapwarden_tag_pop()
        return False


def snapshot(path):
    """Writes a report of the process as it is now to ``path`` ("complete": false).

    Like the report at exit it names functions, files and lines, Python's and native
    (the heapwarden tool symbolizes it before this returns). Atomic (write, then
    rename), mode 0600. Returns True on success, False when the file cannot be
    written or heapwarden is inactive.
    """
    if _lib is None:
        return False
    return _lib.heapwarden_snapshot(_encode(path)) == 0


_STAT_KEYS = [name for name, _ in _Stats._fields_]


def stats():
    """Process-wide figures in bytes, as a dict.

    Keys: active, live_bytes, live_blocks, peak_live_bytes, allocations, frees,
    bytes_allocated, rss_bytes, peak_rss_bytes, retained_bytes (resident but holding
    no live block: what trim may return), mapped_bytes. All 0 when inactive.
    """
    out = _Stats()
    ok = _lib is not None and _lib.heapwarden_stats(ctypes.byref(out)) == 0
    result = {"active": ok}
    for key in _STAT_KEYS:
        result[key] = int(getattr(out, key)) if ok else 0
    return result


def trim():
    """Asks the allocator to hand freed memory back to the OS.

    Returns {"ok", "rss_before", "rss_after", "released_bytes"}; ok is False (and the
    rest 0) when heapwarden is inactive. Recorded in the report's "trims".
    """
    if _lib is None:
        return {"ok": False, "rss_before": 0, "rss_after": 0, "released_bytes": 0}
    r = _lib.heapwarden_trim()
    return {
        "ok": bool(r.ok),
        "rss_before": int(r.rss_before),
        "rss_after": int(r.rss_after),
        "released_bytes": int(r.released_bytes),
    }


def tag_stats(path):
    """{"live_bytes", "peak_live_bytes"} of a whole tag path ("epoch/load"), or None
    when no allocation was made under it (or heapwarden is inactive)."""
    if _lib is None:
        return None
    live = ctypes.c_uint64()
    peak = ctypes.c_uint64()
    if _lib.heapwarden_tag_stats(_encode(path), ctypes.byref(live), ctypes.byref(peak)) != 0:
        return None
    return {"live_bytes": int(live.value), "peak_live_bytes": int(peak.value)}


def load_ipython_extension(ipython):
    """``%load_ext heapwarden`` in IPython or Jupyter: adds the ``%heapwarden`` magic
    (heapwarden/magics.py)."""
    from heapwarden import magics

    magics.register(ipython)

#!/usr/bin/env python3
"""make_big_report.py: writes a synthetic, symbolized heapwarden report with many sites
(default 100000), to measure how the HTML and pprof renderers and a browser cope.

Stacks come from random walks down a fixed call graph of C++-looking functions, so they
share prefixes the way a real program's do; sizes, lifetimes, tags and the timeline are
random but deterministic (seeded). Usage: make_big_report.py OUT.json [SITES]
"""
import json
import random
import sys


def main():
    out = sys.argv[1]
    sites_wanted = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
    rng = random.Random(12)
    functions = [
        "app::%s::%s%d(std::vector<int> const&, unsigned long)" % (
            rng.choice(["io", "parse", "model", "net", "cache", "ui", "db"]),
            rng.choice(["Load", "Build", "Read", "Decode", "Merge", "Grow", "Copy"]), i)
        for i in range(4000)]
    module = "/opt/app/bin/bigapp"
    # Each function calls a few others: a walk from main down this graph is a stack.
    callees = {i: [rng.randrange(len(functions)) for _ in range(rng.randint(2, 9))]
               for i in range(len(functions))}
    tags = ["", "phase/load", "phase/train", "phase/eval", "cache", "net/recv"]

    def frame(fn):
        return {"address": "0x%x" % (0x400000 + fn * 64 + 5), "module": module,
                "offset": fn * 64 + 5, "function": functions[fn],
                "file": "src/%s.cc" % functions[fn].split("::")[1], "line": 10 + fn % 500}

    stacks, seen = [], set()
    while len(stacks) < sites_wanted:
        depth = rng.randint(6, 22)
        walk = [rng.randrange(40)]
        for _ in range(depth - 1):
            walk.append(rng.choice(callees[walk[-1]]))
        key = tuple(walk)
        if key in seen:
            continue
        seen.add(key)
        stacks.append(walk)
    report_stacks = [{"id": i + 1, "frames": [frame(fn) for fn in reversed(walk)]}
                     for i, walk in enumerate(stacks)]

    sites, peak_sites, leaks, long_lived = [], [], [], []
    for i in range(len(stacks)):
        allocs = rng.randint(1, 5000)
        size = rng.choice([16, 32, 64, 256, 4096, 65536]) * rng.randint(1, 16)
        live_blocks = rng.randint(0, allocs) if rng.random() < 0.3 else 0
        tag = rng.choice(tags)
        sites.append({"stack": i + 1, "tag": tag, "source": "heap", "allocations": allocs,
                      "bytes_allocated": allocs * size, "live_blocks": live_blocks,
                      "live_bytes": live_blocks * size,
                      "peak_live_bytes": max(live_blocks, allocs // 3) * size,
                      "median_lifetime_s": round(rng.random() * 5, 6)})
        if rng.random() < 0.3:
            blocks = max(1, allocs // 3)
            peak_sites.append({"stack": i + 1, "tag": tag, "live_blocks": blocks,
                               "live_bytes": blocks * size})
        if live_blocks and rng.random() < 0.05:
            leaks.append({"stack": i + 1, "tag": tag,
                          "kind": rng.choice(["direct", "indirect", "reachable"]),
                          "blocks": live_blocks, "bytes": live_blocks * size, "suppressed": False})
        if live_blocks and rng.random() < 0.2:
            long_lived.append({"stack": i + 1, "tag": tag, "blocks": live_blocks,
                               "bytes": live_blocks * size, "oldest_age_s": round(rng.random() * 50, 3)})
    peak_bytes = sum(p["live_bytes"] for p in peak_sites)
    timeline, live = [], 0
    for k in range(3000):
        t = 0.1 * (k + 1)
        live = max(0, int(peak_bytes * (0.5 + 0.5 * (k / 3000)) * rng.uniform(0.8, 1.0)))
        timeline.append({"t": round(t, 3), "live_bytes": live, "rss_bytes": int(live * 1.2) + 50 << 20})
    report = {
        "format": "heapwarden-report", "version": 1,
        "heapwarden": {"symbolized": True, "report_time": 300.5, "version": "synthetic"},
        "process": {"pid": 4242, "argv": ["bigapp", "--synthetic"], "exe": module,
                    "exit_status": 0, "backend": "system", "mode": "exact", "complete": True},
        "totals": {"allocations": sum(s["allocations"] for s in sites), "frees": 0,
                   "bytes_allocated": sum(s["bytes_allocated"] for s in sites),
                   "live_blocks": sum(s["live_blocks"] for s in sites),
                   "live_bytes": sum(s["live_bytes"] for s in sites),
                   "peak_live_bytes": peak_bytes, "peak_time": 250.0,
                   "rss_bytes": 1 << 30, "peak_rss_bytes": 2 << 30, "retained_bytes": 1 << 28},
        "stacks": report_stacks, "sites": sites, "tags": [], "leaks": leaks,
        "long_lived": long_lived,
        "peak": {"time": 250.0, "live_bytes": peak_bytes, "sites": peak_sites},
        "timeline": timeline,
        "trims": [{"t": 120.0, "trigger": "auto", "rss_before": 2 << 30, "rss_after": 1 << 30,
                   "released_bytes": 1 << 30}],
        "errors": [],
    }
    with open(out, "w") as f:
        json.dump(report, f, separators=(",", ":"))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""ab_preloads.py: one change's cost, before against after, in the same run.

usage: ab_preloads.py BEFORE_BUILD AFTER_BUILD [--rounds N] [--only W,...] [--options O]

Runs each workload of bench/workloads (the AFTER build's binaries, so both sides run the
same program) plain, under BEFORE's preload and under AFTER's, alternating within each
round so that a noisy machine slows all three alike, and prints the median wall time of
each and the AFTER/BEFORE ratio. HEAPWARDEN_OPTIONS for both: --options (default exact
mode, system backend). A ratio above 1 means the change made tracking slower.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = "/usr/bin/python3"


def workloads(build):
    b = os.path.join(build, "bin")
    return {
        "churn-1t": [os.path.join(b, "heapwarden_work_churn"), "--threads", "1", "--ops", "4000000"],
        "churn-2t": [os.path.join(b, "heapwarden_work_churn"), "--threads", "2", "--ops", "1000000"],
        "containers": [os.path.join(b, "heapwarden_work_containers"), "--iters", "15000"],
        "numpy": [PYTHON, os.path.join(REPO, "bench", "workloads", "numpy_work.py"), "--iters", "20"],
    }


def timed(argv, env):
    start = time.monotonic()
    done = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = time.monotonic() - start
    if done.returncode != 0:
        sys.exit("ab_preloads: %s exited %d: %s" % (argv[0], done.returncode, done.stderr.decode()[-500:]))
    return elapsed, done.stdout


def main():
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("before")
    p.add_argument("after")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--only", default="")
    p.add_argument("--options", default="mode=exact:backend=system")
    args = p.parse_args()
    chosen = workloads(os.path.abspath(args.after))
    if args.only:
        chosen = {k: v for k, v in chosen.items() if k in args.only.split(",")}
    base_env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "HEAPWARDEN_OPTIONS")}
    tmp = tempfile.mkdtemp(prefix="heapwarden-ab.")
    sides = {"plain": None}
    for name, build in (("before", args.before), ("after", args.after)):
        preload = os.path.join(os.path.abspath(build), "lib", "libheapwarden_preload.so")
        if not os.path.isfile(preload):
            sys.exit("ab_preloads: %s not found" % preload)
        sides[name] = preload
    times = {(w, s): [] for w in chosen for s in sides}
    for _ in range(args.rounds):
        for w, argv in chosen.items():
            outputs = set()
            for side, preload in sides.items():
                env = dict(base_env)
                if preload:
                    env["LD_PRELOAD"] = preload
                    env["HEAPWARDEN_OPTIONS"] = "output=%s/r.%%p.json:symbolize=0:%s" % (tmp, args.options)
                elapsed, out = timed(argv, env)
                times[(w, side)].append(elapsed)
                outputs.add(out)
            if len(outputs) != 1:
                sys.exit("ab_preloads: %s printed different output under a preload" % w)
    print("| workload | plain s | before s | after s | before/plain | after/plain | after/before |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for w in chosen:
        m = {s: statistics.median(times[(w, s)]) for s in sides}
        print("| %s | %.3f | %.3f | %.3f | %.2fx | %.2fx | %.3f |" % (
            w, m["plain"], m["before"], m["after"], m["before"] / m["plain"], m["after"] / m["plain"],
            m["after"] / m["before"]))
    print("\n(%d rounds, medians; HEAPWARDEN_OPTIONS=%s; %s)" % (args.rounds, args.options, " ".join(sys.argv)))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""compare.py: whole-program overhead of heapwarden next to heaptrack and valgrind.

Runs each workload of bench/workloads/ under each configuration, alternating: every
round runs every configuration of a workload once, in an order that rotates from round
to round, so a noisy machine slows all configurations alike. Measures wall time and the
peak RSS of the child's process tree, checks that every tracked run printed exactly what
the plain run printed and exited 0, and prints one table.

Usage: /usr/bin/python3 bench/compare.py [BUILD_DIR] [--rounds N] [--quick] [--only W,...]
                                         [--configs C,...] [--markdown] [--scale F]
Stdlib only. Run it with Debian's /usr/bin/python3: the numpy workload needs that
interpreter's python3-numpy. Exit status: 0 when every run matched, 1 when a run failed
or printed something else than the plain run, 2 on bad arguments or a missing build.
"""
import argparse
import json
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKLOAD_DIR = os.path.join(REPO, "bench", "workloads")
SYSTEM_PYTHON = "/usr/bin/python3"
SQLITE = "/usr/bin/sqlite3"

# name -> (description, default size, quick size, target key in TARGETS or None)
WORKLOADS = {
    "churn-1t": ("malloc/free churn, 4096 slots, 1 thread", 12_000_000, 2_000_000, "churn"),
    "churn-2t": ("churn, thread A allocates, thread B frees", 3_000_000, 500_000, "churn"),
    "containers": ("std containers under 24 distinct noinline frames", 40_000, 8_000, "containers"),
    "numpy": ("Debian python3 + numpy (+ pandas groupby)", 60, 15, "python"),
    "sqlite": ("sqlite3 :memory:, INSERT rows + index + aggregates", 100_000, 20_000, None),
}

PRELOAD_CONFIGS = {
    "hw-exact-system": "mode=exact:backend=system",
    "hw-exact-mimalloc": "mode=exact:backend=mimalloc",
    "hw-sampled-system": "mode=sampled:sample_bytes=524288:backend=system",
    # The exact mode without Python frames (issue 13): their cost is the difference.
    "hw-exact-nopy": "mode=exact:backend=system:python_frames=off",
}
# What a user waits for: all of `heapwarden run` (the program under the preload, then
# reading, symbolizing and writing its report and printing the summary), exact mode,
# system backend. The hw-* rows above it time the program and its raw report only.
RUN_CONFIGS = {"hw-run-exact-system": "mode=exact:backend=system"}
CONFIGS = ["plain", "hw-exact-system", "hw-run-exact-system", "hw-exact-nopy", "hw-exact-mimalloc",
           "hw-sampled-system", "heaptrack", "valgrind"]
CONFIG_LABEL = {
    "plain": "plain",
    "hw-exact-system": "hw exact system",
    "hw-run-exact-system": "whole run, exact system",
    "hw-exact-nopy": "hw exact, python_frames=off",
    "hw-exact-mimalloc": "hw exact mimalloc",
    "hw-sampled-system": "hw sampled system",
    "heaptrack": "heaptrack",
    "valgrind": "valgrind memcheck",
}
# The targets: wall-time ratio to plain, per configuration and workload kind.
TARGETS = {
    "hw-exact-system": {"churn": 2.0, "containers": 2.0, "python": 1.3},
    "hw-run-exact-system": {"churn": 2.0, "containers": 2.0, "python": 1.3},
    "hw-exact-mimalloc": {"churn": 1.0, "containers": 1.2, "python": 1.2},
    "hw-sampled-system": {"churn": 1.05, "containers": 1.05, "python": 1.05},
}
RSS_TARGET = {"hw-exact-system": {"churn": 1.5}, "hw-exact-mimalloc": {"churn": 1.5}}
HEAPTRACK_FACTOR = 3.0

HEAPTRACK_BANNER_END = "starting application, this might take some time...\n"
HEAPTRACK_TRAILER = "Heaptrack finished! Now run the following to investigate the data:\n"


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line and status 2, not argparse's usage block
        raise UsageError(message)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the machine

def read_first(path, pattern):
    try:
        with open(path) as f:
            for line in f:
                m = re.match(pattern, line)
                if m:
                    return m.group(1).strip()
    except OSError:
        pass
    return "?"


def tool_version(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        text = (out.stdout or out.stderr).strip().splitlines()
        return text[0] if text else "?"
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"


def git_state():
    try:
        head = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=30).stdout.strip()
        return head + (" + uncommitted changes" if dirty else "") if head else "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def machine_info():
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    try:
        glibc = os.confstr("CS_GNU_LIBC_VERSION")
    except (ValueError, OSError):
        glibc = " ".join(platform.libc_ver())
    mem_kib = read_first("/proc/meminfo", r"MemTotal:\s+(\d+)")
    mem = "%.1f GiB" % (int(mem_kib) / 1048576) if mem_kib.isdigit() else "?"
    numpy = tool_version([SYSTEM_PYTHON, "-c", "import numpy; print('numpy', numpy.__version__)"])
    pandas = tool_version([SYSTEM_PYTHON, "-c",
                           "import pandas; print('pandas', pandas.__version__)"])
    return {
        "cpu": "%s, nproc %d (%d online)" % (read_first("/proc/cpuinfo", r"model name\s*:\s*(.*)"),
                                             affinity, os.cpu_count()),
        "memory": mem,
        "kernel": platform.release(),
        "glibc": glibc,
        "os": read_first("/etc/os-release", r'PRETTY_NAME="?([^"]*)"?'),
        "tools": "; ".join([
            tool_version(["heaptrack", "--version"]),
            tool_version(["valgrind", "--version"]),
            "sqlite " + tool_version([SQLITE, "--version"]).split(" ")[0],
            tool_version([SYSTEM_PYTHON, "--version"]),
            numpy, pandas]),
        "tree": git_state(),
    }


def loadavg():
    return "%.2f %.2f %.2f" % os.getloadavg()


# ---------------------------------------------------------------- running

class Run:
    __slots__ = ("wall", "rss_kib", "status", "stdout", "stderr_tail", "note", "verdict", "ok")

    def __init__(self, wall, rss_kib, status, stdout, stderr_tail, note=""):
        self.wall, self.rss_kib, self.status = wall, rss_kib, status
        self.stdout, self.stderr_tail, self.note = stdout, stderr_tail, note
        self.verdict, self.ok = "", False


GNU_TIME = "/usr/bin/time"


def run_measured(argv, env, tmp, timeout):
    """Runs argv; returns a Run with wall seconds and the peak RSS of its process tree.

    The peak RSS comes from GNU time (`time -f %M`), which forks the command and reads
    wait4's rusage: the largest resident set of the command and of every descendant it
    waited for. Taken directly from this process's wait4 it would include this Python
    process's own ~10 MiB, which the child holds between fork and exec. Without GNU time
    that is what it falls back to (the `time` package: scripts/setup.sh --bench).
    """
    out_path = os.path.join(tmp, "stdout")
    err_path = os.path.join(tmp, "stderr")
    rss_path = os.path.join(tmp, "maxrss")
    use_time = os.access(GNU_TIME, os.X_OK)
    if use_time:
        argv = [GNU_TIME, "-q", "-f", "%M", "-o", rss_path] + argv
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.monotonic()
        proc = subprocess.Popen(argv, env=env, cwd=tmp, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=err, start_new_session=True)
        timed_out = []

        def kill():
            timed_out.append(True)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, wstatus, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(wstatus)
    rss_kib = usage.ru_maxrss
    if use_time:
        try:
            with open(rss_path) as f:
                rss_kib = int(f.read().split()[-1])
        except (OSError, ValueError, IndexError):
            pass
    with open(out_path, "rb") as f:
        stdout = f.read().decode("utf-8", "replace")
    with open(err_path, "rb") as f:
        stderr = f.read().decode("utf-8", "replace")
    note = "timed out after %ds" % timeout if timed_out else ""
    tail = "\n".join(stderr.strip().splitlines()[-5:])
    return Run(wall, rss_kib, proc.returncode, stdout, tail, note)


def shell_word(arg):
    """shlex.quote, except that $TMP (the temporary directory) stays expandable."""
    if "$TMP" in arg and arg.count("$") == 1 and not any(c in arg for c in '"`\\'):
        return '"%s"' % arg
    return shlex.quote(arg)


def strip_heaptrack(stdout):
    """heaptrack prints its own lines on stdout around the program's; keep the program's."""
    start = stdout.find(HEAPTRACK_BANNER_END)
    if start >= 0:
        stdout = stdout[start + len(HEAPTRACK_BANNER_END):]
    end = stdout.rfind(HEAPTRACK_TRAILER)
    if end >= 0:
        stdout = stdout[:end]
    return stdout


class Bench:
    def __init__(self, args):
        self.args = args
        self.build = os.path.abspath(args.build_dir)
        self.preload = os.path.join(self.build, "lib", "libheapwarden_preload.so")
        self.cli = os.path.join(self.build, "bin", "heapwarden")
        self.tmp = tempfile.mkdtemp(prefix="heapwarden-bench.")
        self.base_env = {k: v for k, v in os.environ.items()
                         if k not in ("LD_PRELOAD", "HEAPWARDEN_OPTIONS", "PYTHONMALLOC")}
        self.base_env["PYTHONHASHSEED"] = "0"
        self.missing = {}  # config or workload -> why it cannot run
        self.sql_scripts = {}
        self.kept_reports = {}  # workload -> one hw-exact-system report, for symbolize timing
        self.report_modes = {}  # (workload, config) -> the mode its report says it recorded

    # sizes
    def size(self, workload, small=False):
        _, full, quick, _ = WORKLOADS[workload]
        n = quick if self.args.quick else full
        n = max(1, int(n * self.args.scale))
        if small:
            n = max(1, n // self.args.valgrind_divisor)
        return n

    def workload_argv(self, workload, size):
        binp = os.path.join(self.build, "bin")
        if workload == "churn-1t":
            return [os.path.join(binp, "heapwarden_work_churn"), "--threads", "1", "--ops", str(size)]
        if workload == "churn-2t":
            return [os.path.join(binp, "heapwarden_work_churn"), "--threads", "2", "--ops", str(size)]
        if workload == "containers":
            return [os.path.join(binp, "heapwarden_work_containers"), "--iters", str(size)]
        if workload == "numpy":
            return [SYSTEM_PYTHON, os.path.join(WORKLOAD_DIR, "numpy_work.py"), "--iters", str(size)]
        if workload == "sqlite":
            return [SQLITE, "-batch", "-init", "/dev/null", ":memory:", ".read " + self.sql_script(size)]
        raise AssertionError(workload)

    def sql_script(self, rows):
        if rows not in self.sql_scripts:
            path = os.path.join(self.tmp, "sqlite.%d.sql" % rows)
            subprocess.run([SYSTEM_PYTHON, os.path.join(WORKLOAD_DIR, "sqlite_script.py"),
                            "--rows", str(rows), "-o", path], check=True)
            self.sql_scripts[rows] = path
        return self.sql_scripts[rows]

    def check_prerequisites(self, workloads, configs):
        if not os.path.isfile(self.preload):
            raise UsageError("%s not found: build first (scripts/build.sh, or bench/compare.sh)" % self.preload)
        if any(c in RUN_CONFIGS for c in configs) and not os.access(self.cli, os.X_OK):
            raise UsageError("%s not found: build first (scripts/build.sh, or bench/compare.sh)" % self.cli)
        for w in workloads:
            if w.startswith("churn") or w == "containers":
                exe = self.workload_argv(w, 1)[0]
                if not os.access(exe, os.X_OK):
                    raise UsageError("%s not found: build the bench targets first" % exe)
        if shutil.which("heaptrack") is None:
            self.missing["heaptrack"] = "n/a (not installed)"
        if shutil.which("valgrind") is None:
            self.missing["valgrind"] = "n/a (not installed)"
        if "numpy" in workloads:
            ok = subprocess.run([SYSTEM_PYTHON, "-c", "import numpy"], capture_output=True).returncode == 0 \
                if os.access(SYSTEM_PYTHON, os.X_OK) else False
            if not ok:
                self.missing["numpy"] = "n/a (python3-numpy not installed)"
        if "sqlite" in workloads and not os.access(SQLITE, os.X_OK):
            self.missing["sqlite"] = "n/a (sqlite3 not installed)"

    def config_argv_env(self, workload, config, report_dir):
        small = config in ("valgrind", "plain-small")
        argv = self.workload_argv(workload, self.size(workload, small))
        env = dict(self.base_env)
        if config in PRELOAD_CONFIGS:
            # Through env(1), so that only the workload is preloaded, not GNU time.
            argv = ["/usr/bin/env", "LD_PRELOAD=" + self.preload,
                    "HEAPWARDEN_OPTIONS=output=%s/r.%%p.json:symbolize=0:%s" % (
                        report_dir, PRELOAD_CONFIGS[config])] + argv
        elif config in RUN_CONFIGS:
            argv = ["/usr/bin/env", "HEAPWARDEN_OPTIONS=" + RUN_CONFIGS[config], self.cli, "run",
                    "-o", os.path.join(report_dir, "r.json"), "--"] + argv
        elif config == "heaptrack":
            argv = ["heaptrack", "-o", os.path.join(report_dir, "ht")] + argv
        elif config == "valgrind":
            argv = ["valgrind", "--tool=memcheck", "--leak-check=full", "-q"] + argv
        return argv, env

    def describe_command(self, workload, config):
        argv, _ = self.config_argv_env(workload, config, "$TMP")
        if argv[0] == "/usr/bin/env":
            argv = argv[1:]
        return " ".join(shell_word(a) for a in argv)

    def run_one(self, workload, config):
        report_dir = os.path.join(self.tmp, "out")
        shutil.rmtree(report_dir, ignore_errors=True)
        os.makedirs(report_dir)
        argv, env = self.config_argv_env(workload, config, report_dir)
        run = run_measured(argv, env, self.tmp, self.args.timeout)
        if config == "heaptrack":
            run.stdout = strip_heaptrack(run.stdout)
        if config in PRELOAD_CONFIGS:
            reports = sorted(f for f in os.listdir(report_dir) if f.startswith("r.") and f.endswith(".json"))
            if not reports and not run.note:
                run.note = "no report written"
            if reports and (workload, config) not in self.report_modes:
                self.report_modes[(workload, config)] = self.report_mode(
                    max((os.path.join(report_dir, f) for f in reports), key=os.path.getsize))
            if config == "hw-exact-system" and reports:
                keep = os.path.join(self.tmp, "report.%s.json" % workload)
                biggest = max(reports, key=lambda f: os.path.getsize(os.path.join(report_dir, f)))
                shutil.move(os.path.join(report_dir, biggest), keep)
                self.kept_reports[workload] = keep
        if config in RUN_CONFIGS and not run.note and not os.path.isfile(os.path.join(report_dir, "r.json")):
            run.note = "no report written"
        shutil.rmtree(report_dir, ignore_errors=True)
        return run

    @staticmethod
    def report_mode(path):
        """The mode the report says was recorded ("exact", "sampled"), or "?"."""
        try:
            with open(path) as f:
                return json.load(f).get("process", {}).get("mode", "?")
        except (OSError, ValueError, AttributeError):
            return "?"

    def symbolize_times(self):
        """Times `heapwarden symbolize` and `heapwarden report` once per kept report."""
        rows = []
        if not os.access(self.cli, os.X_OK):
            return rows
        for workload, path in self.kept_reports.items():
            out = path.replace(".json", ".sym.json")
            env = dict(self.base_env)
            t0 = time.monotonic()
            sym = subprocess.run([self.cli, "symbolize", path, "-o", out], env=env,
                                 capture_output=True, text=True)
            t1 = time.monotonic()
            rep = subprocess.run([self.cli, "report", out], env=env, capture_output=True, text=True)
            t2 = time.monotonic()
            rows.append({
                "workload": workload,
                "raw_mib": os.path.getsize(path) / 1048576,
                "symbolize_s": t1 - t0 if sym.returncode == 0 else None,
                "report_s": t2 - t1 if rep.returncode == 0 else None,
                "error": "" if sym.returncode == 0 and rep.returncode == 0 else
                         (sym.stderr or rep.stderr).strip().splitlines()[-1:] or ["failed"],
            })
        return rows

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


# ---------------------------------------------------------------- the table

def median(xs):
    return statistics.median(xs) if xs else None


def fmt_ratio(x):
    return "—" if x is None else "%.2fx" % x


def summarize(bench, workloads, configs, results):
    """results[(workload, config)] = [Run per round]; returns rows for the table."""
    rows = []
    for w in workloads:
        target_key = WORKLOADS[w][3]
        for c in configs:
            label = CONFIG_LABEL[c]
            size = bench.size(w, small=(c == "valgrind"))
            if c == "valgrind":
                label += " (size 1/%d)" % bench.args.valgrind_divisor
            row = {"workload": w, "config": c, "label": label, "size": size}
            why = bench.missing.get(c) or bench.missing.get(w)
            if why:
                row["na"] = why
                rows.append(row)
                continue
            runs = results.get((w, c), [])
            base = results.get((w, "plain-small" if c == "valgrind" else "plain"), [])
            ok_pairs = [(r, b) for r, b in zip(runs, base) if r.ok and b.ok]
            row["wall"] = median([r.wall for r in runs if r.ok])
            row["rss"] = median([r.rss_kib / 1024 for r in runs if r.ok])
            if c != "plain":
                row["ratio"] = median([r.wall / b.wall for r, b in ok_pairs])
                row["rss_ratio"] = median([r.rss_kib / b.rss_kib for r, b in ok_pairs])
                row["base_wall"] = median([b.wall for b in base if b.ok])
            row["bad"] = sorted({r.verdict for r in runs if not r.ok})
            row["mode_note"] = ""
            if c in PRELOAD_CONFIGS:
                wanted = "sampled" if "mode=sampled" in PRELOAD_CONFIGS[c] else "exact"
                got = bench.report_modes.get((w, c))
                if got is not None and got != wanted:
                    row["mode_note"] = "report says mode=%s" % got
            t = TARGETS.get(c, {}).get(target_key)
            row["target"] = t
            row["rss_target"] = RSS_TARGET.get(c, {}).get(target_key)
            rows.append(row)
    return rows


def heaptrack_rows(workloads, results, bench):
    out = []
    for w in workloads:
        if bench.missing.get("heaptrack") or bench.missing.get(w):
            out.append((w, None, None, bench.missing.get("heaptrack") or bench.missing.get(w)))
            continue
        ht = results.get((w, "heaptrack"), [])
        vals = []
        for hw in ("hw-exact-system", "hw-exact-mimalloc"):
            runs = results.get((w, hw), [])
            pairs = [h.wall / r.wall for h, r in zip(ht, runs) if h.ok and r.ok]
            vals.append(median(pairs))
        out.append((w, vals[0], vals[1], ""))
    return out


def cell_status(row):
    if row.get("bad"):
        return "FAILED: " + ", ".join(row["bad"])
    return ""


def target_mark(value, target):
    if target is None or value is None:
        return ""
    return "<= %gx %s" % (target, "ok" if value <= target else "MISSED")


def render_text(rows, ht_rows, sym_rows, info, bench):
    lines = []
    hdr = "%-11s %-27s %10s %8s %9s %8s %9s  %s" % (
        "workload", "configuration", "size", "wall s", "vs plain", "RSS MiB", "RSS ratio", "target / status")
    lines.append(hdr)
    lines.append("-" * len(hdr))
    last = None
    for r in rows:
        if last is not None and r["workload"] != last:
            lines.append("")
        last = r["workload"]
        if "na" in r:
            lines.append("%-11s %-27s %10s %s" % (r["workload"], r["label"], r["size"], r["na"]))
            continue
        wall = "—" if r["wall"] is None else "%.3f" % r["wall"]
        rss = "—" if r["rss"] is None else "%.1f" % r["rss"]
        notes = [target_mark(r.get("ratio"), r["target"])]
        if r["rss_target"]:
            notes.append("RSS " + target_mark(r.get("rss_ratio"), r["rss_target"]))
        if r["config"] == "valgrind" and r.get("base_wall") is not None:
            notes.append("vs plain at the same size (%.3f s)" % r["base_wall"])
        if r["mode_note"]:
            notes.append(r["mode_note"])
        if cell_status(r):
            notes.append(cell_status(r))
        lines.append("%-11s %-27s %10s %8s %9s %8s %9s  %s" % (
            r["workload"], r["label"], r["size"], wall,
            fmt_ratio(r.get("ratio")) if r["config"] != "plain" else "1.00x", rss,
            fmt_ratio(r.get("rss_ratio")) if r["config"] != "plain" else "1.00x",
            "; ".join(n for n in notes if n)))
    if ht_rows:
        lines.append("")
        lines.append("heaptrack wall / heapwarden exact wall (median of per-round pairs; target >= %.0fx):"
                     % HEAPTRACK_FACTOR)
    for w, sysr, mir, why in ht_rows:
        if why:
            lines.append("  %-11s %s" % (w, why))
        else:
            lines.append("  %-11s vs exact system %s %s, vs exact mimalloc %s %s" % (
                w, fmt_ratio(sysr), ht_mark(sysr), fmt_ratio(mir), ht_mark(mir)))
    if sym_rows:
        lines.append("")
        lines.append("after the run, once (not in the table): heapwarden symbolize + report of one "
                     "hw exact system report")
        for s in sym_rows:
            lines.append("  %-11s raw report %.0f KiB, symbolize %s, report %s %s" % (
                s["workload"], s["raw_mib"] * 1024, fmt_s(s["symbolize_s"]), fmt_s(s["report_s"]),
                " ".join(s["error"]) if s["error"] else ""))
    return "\n".join(lines)


def ht_mark(x):
    if x is None:
        return ""
    return "ok" if x >= HEAPTRACK_FACTOR else "MISSED"


def fmt_s(x):
    return "failed" if x is None else "%.2f s" % x


def render_markdown(rows, ht_rows, sym_rows, info, bench, load_before, load_after, command):
    out = []
    out.append("Machine: %s, %s; %s; kernel %s; %s." % (
        info["cpu"], info["memory"], info["os"], info["kernel"], info["glibc"]))
    out.append("Tools: %s." % info["tools"])
    out.append("Tree: %s. Load average before %s, after %s. %d round(s)%s." % (
        info["tree"], load_before, load_after, bench.args.rounds,
        ", quick sizes" if bench.args.quick else ""))
    out.append("")
    out.append("Command: `%s`" % command)
    out.append("")
    out.append("| workload | configuration | size | wall s (median) | vs plain | peak RSS MiB | RSS vs plain | target | status |")
    out.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |")
    for r in rows:
        if "na" in r:
            out.append("| %s | %s | %s | %s | | | | | |" % (r["workload"], r["label"], r["size"], r["na"]))
            continue
        wall = "—" if r["wall"] is None else "%.3f" % r["wall"]
        rss = "—" if r["rss"] is None else "%.1f" % r["rss"]
        targets = []
        if r["target"]:
            targets.append(target_mark(r.get("ratio"), r["target"]))
        if r["rss_target"]:
            targets.append("RSS " + target_mark(r.get("rss_ratio"), r["rss_target"]))
        status = cell_status(r) or "output matches"
        if r["mode_note"]:
            status += "; " + r["mode_note"]
        if r["config"] == "valgrind" and r.get("base_wall") is not None:
            status += "; vs plain at the same size (%.3f s)" % r["base_wall"]
        plain = r["config"] == "plain"
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["workload"], r["label"], r["size"], wall,
            "1.00x" if plain else fmt_ratio(r.get("ratio")), rss,
            "1.00x" if plain else fmt_ratio(r.get("rss_ratio")), "; ".join(targets), status))
    if ht_rows:
        out.append("")
        out.append("heaptrack wall / heapwarden exact wall (median of per-round pairs; target >= %.0fx):"
                   % HEAPTRACK_FACTOR)
        out.append("")
        out.append("| workload | heaptrack / hw exact system | heaptrack / hw exact mimalloc |")
        out.append("| --- | ---: | ---: |")
    for w, sysr, mir, why in ht_rows:
        if why:
            out.append("| %s | %s | %s |" % (w, why, why))
        else:
            out.append("| %s | %s %s | %s %s |" % (w, fmt_ratio(sysr), ht_mark(sysr), fmt_ratio(mir), ht_mark(mir)))
    if sym_rows:
        out.append("")
        out.append("Symbolizing after the run (once, not in the table above): `heapwarden symbolize` "
                   "and `heapwarden report` on one hw exact system report per workload.")
        out.append("")
        out.append("| workload | raw report KiB | symbolize s | report s |")
        out.append("| --- | ---: | ---: | ---: |")
        for s in sym_rows:
            out.append("| %s | %.0f | %s | %s |" % (s["workload"], s["raw_mib"] * 1024,
                                                  fmt_s(s["symbolize_s"]).replace(" s", ""),
                                                  fmt_s(s["report_s"]).replace(" s", "")))
    return "\n".join(out)


# ---------------------------------------------------------------- main

def parse_args(argv):
    p = Parser(prog="bench/compare.py", description="whole-program overhead: heapwarden vs heaptrack vs valgrind")
    p.add_argument("build_dir", nargs="?", default=os.path.join(REPO, "build"),
                   help="build directory with lib/libheapwarden_preload.so and bin/ (default: build)")
    p.add_argument("--rounds", type=int, default=None, help="rounds (default 5, 2 with --quick)")
    p.add_argument("--quick", action="store_true", help="smoke check: smaller sizes, 2 rounds")
    p.add_argument("--only", default="", help="comma-separated workloads: %s (or churn)" % ", ".join(WORKLOADS))
    p.add_argument("--configs", default="", help="comma-separated configurations: %s "
                   "(plain always runs: it is the baseline)" % ", ".join(CONFIGS))
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown (for docs/performance.md)")
    p.add_argument("--scale", type=float, default=1.0, help="multiply every workload size by this")
    p.add_argument("--valgrind-divisor", type=int, default=20, help="valgrind runs at size/N (default 20)")
    p.add_argument("--timeout", type=int, default=900, help="seconds before one run is killed (default 900)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (reports, scripts)")
    args = p.parse_args(argv)
    if args.rounds is None:
        args.rounds = 2 if args.quick else 5
    if args.rounds < 1:
        raise UsageError("--rounds: expected at least 1, got %d" % args.rounds)
    if not args.scale > 0:
        raise UsageError("--scale: expected a positive number, got %s" % args.scale)
    if args.valgrind_divisor < 1:
        raise UsageError("--valgrind-divisor: expected at least 1, got %d" % args.valgrind_divisor)
    if args.timeout < 1:
        raise UsageError("--timeout: expected at least 1, got %d" % args.timeout)
    workloads = []
    for name in filter(None, (s.strip() for s in args.only.split(","))):
        names = [w for w in WORKLOADS if w.startswith(name + "-")] if name not in WORKLOADS else [name]
        if not names:
            raise UsageError("--only: unknown workload '%s' (one of: %s)" % (name, ", ".join(WORKLOADS)))
        workloads += [n for n in names if n not in workloads]
    args.workloads = [w for w in WORKLOADS if w in workloads] if workloads else list(WORKLOADS)
    configs = []
    for name in filter(None, (s.strip() for s in args.configs.split(","))):
        if name not in CONFIGS:
            raise UsageError("--configs: unknown configuration '%s' (one of: %s)" % (name, ", ".join(CONFIGS)))
        configs.append(name)
    args.config_list = [c for c in CONFIGS if c == "plain" or c in configs] if configs else list(CONFIGS)
    if not os.path.isdir(args.build_dir):
        raise UsageError("build directory '%s' not found: build first (scripts/build.sh)" % args.build_dir)
    return args


def main(argv):
    try:
        args = parse_args(argv)
        bench = Bench(args)
        bench.check_prerequisites(args.workloads, args.config_list)
    except UsageError as e:
        print("compare.py: %s" % e, file=sys.stderr)
        return 2
    command = os.environ.get("HEAPWARDEN_BENCH_COMMAND") or " ".join(
        shlex.quote(a) for a in [SYSTEM_PYTHON, os.path.relpath(os.path.abspath(__file__))] + argv)
    info = machine_info()
    load_before = loadavg()
    log("bench: %s; load %s; temporary files in %s" % (info["cpu"], load_before, bench.tmp))

    configs = args.config_list
    run_configs = list(configs)
    if "valgrind" in configs and "valgrind" not in bench.missing:
        run_configs.append("plain-small")
    results = {}
    reference = {}  # (workload, small) -> stdout of the first plain run at that size
    failures = []
    try:
        # One untimed plain run per workload and size first: the reference output every
        # timed run is checked against, and a warm page cache for all of them.
        for w in args.workloads:
            if w in bench.missing:
                continue
            for small in (False, True):
                if small and "plain-small" not in run_configs:
                    continue
                cfg = "plain-small" if small else "plain"
                log("bench: %s%s: %s" % (w, " (valgrind size)" if small else "", bench.describe_command(w, cfg)))
                warm = bench.run_one(w, cfg)
                if warm.status != 0 or warm.note:
                    log("bench: *** the plain run of %s failed (%s); its runs are not verified ***\n%s"
                        % (w, warm.note or "exit status %d" % warm.status, warm.stderr_tail))
                else:
                    reference[(w, small)] = warm.stdout
        for rnd in range(args.rounds):
            for w in args.workloads:
                if w in bench.missing:
                    continue
                todo = [c for c in run_configs if c not in bench.missing]
                k = rnd % len(todo)
                for c in todo[k:] + todo[:k]:
                    run = bench.run_one(w, c)
                    small = c in ("valgrind", "plain-small")
                    ref_key = (w, small)
                    if run.note:
                        run.verdict = run.note
                    elif run.status != 0:
                        run.verdict = "exit status %d" % run.status
                    elif ref_key not in reference:
                        run.verdict = "no plain reference"
                    elif run.stdout != reference[ref_key]:
                        run.verdict = "OUTPUT DIFFERS from plain"
                    else:
                        run.verdict = ""
                    run.ok = not run.verdict
                    if not run.ok:
                        failures.append((w, c, rnd + 1, run, bench.describe_command(w, c)))
                    results.setdefault((w, c), []).append(run)
                    log("bench: round %d/%d %-10s %-18s %8.3f s %8.1f MiB %s" % (
                        rnd + 1, args.rounds, w, c, run.wall, run.rss_kib / 1024,
                        "ok" if run.ok else "*** " + run.verdict + " ***"))
        sym_rows = bench.symbolize_times() if "hw-exact-system" in configs else []
        for s in sym_rows:
            log("bench: %s: heapwarden symbolize %s, report %s" % (s["workload"], fmt_s(s["symbolize_s"]),
                                                                    fmt_s(s["report_s"])))
    finally:
        if args.keep or failures:  # a failed run's inputs (the SQL script) stay for its reproducer
            log("bench: kept %s ($TMP below)" % bench.tmp)
        else:
            bench.cleanup()
    load_after = loadavg()

    rows = summarize(bench, args.workloads, configs, results)
    ht_rows = heaptrack_rows(args.workloads, results, bench) if "heaptrack" in configs else []
    if args.markdown:
        print(render_markdown(rows, ht_rows, sym_rows, info, bench, load_before, load_after, command))
    else:
        print("machine: %s; %s; %s; kernel %s; %s" % (info["cpu"], info["memory"], info["os"],
                                                     info["kernel"], info["glibc"]))
        print("tools:   %s" % info["tools"])
        print("tree:    %s" % info["tree"])
        print("load:    before %s, after %s" % (load_before, load_after))
        print("command: %s" % command)
        print("rounds:  %d%s; wall = median seconds; ratios = median of per-round paired ratios to plain "
              "(valgrind: to plain at the same reduced size); RSS = peak of the child's process tree"
              % (args.rounds, " (quick sizes)" if args.quick else ""))
        print()
        print(render_text(rows, ht_rows, sym_rows, info, bench))
    if failures:
        print("", file=sys.stderr)
        for w, c, rnd, run, cmd in failures:
            log("*** MISMATCH: %s / %s, round %d: %s" % (w, c, rnd, run.verdict))
            log("    reproduce: %s" % cmd)
            if run.verdict.startswith("OUTPUT"):
                log("    plain printed:   %r" % reference.get((w, c == "valgrind"), "")[:300])
                log("    tracked printed: %r" % run.stdout[:300])
            if run.stderr_tail:
                log("    stderr tail: " + run.stderr_tail.replace("\n", "\n                 "))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The ``%heapwarden`` magic for IPython and Jupyter (``%load_ext heapwarden``).

In a kernel started under heapwarden (``heapwarden jupyter-kernel install``, then pick
that kernel)::

    %load_ext heapwarden
    %heapwarden snapshot            # a report of the kernel as it is now, summarized here
    %heapwarden snapshot now.json   # ... written to that path
    %heapwarden trim                # hand freed memory back to the OS
    %heapwarden                     # live, peak, RSS and retained memory in one line

A kernel is long-lived: its exit report comes when it shuts down, so snapshots are how
a notebook user sees what holds memory now. The summary names each site by the
innermost line of a notebook cell on its stack ("Cell In[3], line 2", as IPython's
tracebacks do), else by its innermost Python frame.
"""

import json
import os
import subprocess
import sys

from heapwarden import active, snapshot, stats, trim
from heapwarden.snapshot_summary import human_size

_USAGE = "usage: %heapwarden [stats | snapshot [PATH] | trim]"
_SUMMARY_TIMEOUT_S = 300
_snapshot_count = 0


def _default_snapshot_path():
    """HEAPWARDEN_REPORT_DIR (set by the installed kernelspec) or the working directory,
    named by the kernel's pid and a count, so two snapshots never overwrite each other."""
    global _snapshot_count
    _snapshot_count += 1
    directory = os.environ.get("HEAPWARDEN_REPORT_DIR") or os.getcwd()
    return os.path.join(directory, "snapshot.%d.%d.json" % (os.getpid(), _snapshot_count))


def _stats_line(s):
    return "live heap %s in %d blocks (peak %s), mapped %s; RSS %s, retained %s" % (
        human_size(s["live_bytes"]),
        s["live_blocks"],
        human_size(s["peak_live_bytes"]),
        human_size(s["mapped_bytes"]),
        human_size(s["rss_bytes"]),
        human_size(s["retained_bytes"]),
    )


def _cell_names(shell):
    """{cell file name: execution count}: ipykernel compiles each cell under a file name
    of its own; IPython keeps which cell that was."""
    names = getattr(getattr(shell, "compile", None), "_filename_map", None)
    return dict(names) if isinstance(names, dict) else {}


def _summary_lines(path, shell):
    """snapshot_summary.py's lines for this snapshot, from a process of its own: reading
    the report here would add its whole parsed size to the kernel's live heap and peak,
    the figures the user is looking at."""
    preload = [p for p in os.environ.get("LD_PRELOAD", "").replace(" ", ":").split(":") if p and "heapwarden" not in p]
    env = dict(os.environ, LD_PRELOAD=":".join(preload))
    env.pop("HEAPWARDEN_OPTIONS", None)
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "snapshot_summary.py")
    try:
        done = subprocess.run(
            [sys.executable, script, path],
            input=json.dumps(_cell_names(shell)),
            capture_output=True,
            text=True,
            env=env,
            timeout=_SUMMARY_TIMEOUT_S,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return ["(cannot summarize it: %s)" % e]
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1:] or ["exit status %d" % done.returncode]
        return ["(cannot summarize it: %s)" % last[0]]
    return done.stdout.splitlines()


def _not_active():
    print(
        "heapwarden is not tracking this kernel: install a kernel with "
        "`heapwarden jupyter-kernel install` and pick it in Jupyter"
    )


def heapwarden_magic(line, shell=None):
    words = line.split()
    action = words[0] if words else "stats"
    if action in ("-h", "--help", "help"):
        print(_USAGE)
        return
    if not active():
        _not_active()
        return
    if action == "stats" and len(words) <= 1:
        print("heapwarden: " + _stats_line(stats()))
    elif action == "snapshot" and len(words) <= 2:
        path = os.path.abspath(os.path.expanduser(words[1])) if len(words) == 2 else _default_snapshot_path()
        if not snapshot(path):
            print("heapwarden: cannot write a snapshot to %s" % path)
            return
        print("heapwarden: snapshot written to %s" % path)
        print(_stats_line(stats()))
        for text in _summary_lines(path, shell):
            print(text)
    elif action == "trim" and len(words) == 1:
        r = trim()
        if not r["ok"]:
            print("heapwarden: trim failed")
            return
        print(
            "heapwarden: trim: RSS %s -> %s, released %s"
            % (human_size(r["rss_before"]), human_size(r["rss_after"]), human_size(r["released_bytes"]))
        )
    else:
        print(_USAGE)


def register(shell):
    """Adds %heapwarden to an IPython shell (load_ipython_extension calls this)."""
    shell.register_magic_function(
        lambda line: heapwarden_magic(line, shell), magic_kind="line", magic_name="heapwarden"
    )

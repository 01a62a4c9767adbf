# threads_fork.py: Python frames in a thread started by `threading` and in a child made
# by multiprocessing's fork start method. Each allocates a distinctive buffer on a
# marked line and keeps it until it exits (so it is in the peak).
import multiprocessing as mp
import sys
import threading

keep = []


def in_thread():
    keep.append(bytearray(3 * 1024 * 1024 + 11))  # LINE:thread


def in_child():
    block = bytearray(5 * 1024 * 1024 + 13)  # LINE:child
    sys.stdout.write("child %d\n" % len(block))


if __name__ == "__main__":
    t = threading.Thread(target=in_thread)
    t.start()
    t.join()
    ctx = mp.get_context("fork")
    p = ctx.Process(target=in_child)
    p.start()
    p.join()
    sys.exit(p.exitcode)

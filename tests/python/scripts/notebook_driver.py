# notebook_driver.py: starts a Jupyter kernel headless with jupyter_client, runs cells in
# it and prints, as one JSON object on stdout, what each cell printed. Every wait is
# bounded, so a kernel that hangs fails the test fast; the kernel is shut down (then
# killed) whatever happens.
#
#   python3 notebook_driver.py KERNELS_DIR KERNEL_NAME SHUTDOWN_WAIT_S < CELLS_JSON
import json
import sys
import threading
import time

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

MESSAGE_TIMEOUT_S = 90


def run_cell(manager, client, code):
    msg_id = client.execute(code)
    if code.startswith("# INTERRUPT"):
        # As Jupyter's interrupt button does (interrupt_mode "signal": SIGINT to the
        # kernel's process group).
        threading.Timer(2.0, manager.interrupt_kernel).start()
    out = []
    deadline = time.monotonic() + MESSAGE_TIMEOUT_S
    while True:
        msg = client.get_iopub_msg(timeout=max(1, deadline - time.monotonic()))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        if kind == "stream":
            out.append(msg["content"]["text"])
        elif kind == "error":
            out.append("ERROR %s: %s\n" % (msg["content"]["ename"], msg["content"]["evalue"]))
        elif kind == "status" and msg["content"]["execution_state"] == "idle":
            return "".join(out)


def main():
    kernels_dir, name, shutdown_wait = sys.argv[1], sys.argv[2], float(sys.argv[3])
    cells = json.load(sys.stdin)
    manager = KernelManager(kernel_name=name, kernel_spec_manager=KernelSpecManager(kernel_dirs=[kernels_dir]))
    # Jupyter gives a kernel this long to exit before it kills its process group; the
    # exit report is written in that time.
    manager.shutdown_wait_time = shutdown_wait
    manager.start_kernel()
    client = manager.client()
    result = {"outputs": []}
    try:
        client.start_channels()
        client.wait_for_ready(timeout=MESSAGE_TIMEOUT_S)
        for code in cells:
            result["outputs"].append(run_cell(manager, client, code))
    finally:
        client.stop_channels()
        start = time.monotonic()
        manager.shutdown_kernel(now=False)
        result["shutdown_s"] = time.monotonic() - start
    print(json.dumps(result))


main()

"""Stray async errors from notebook code, without and with the shipped model loaded (which starts
tfjs-backend-wasm, whose Emscripten module adds process handlers that rethrow): each becomes an
error output of the cell that caused it, and the kernel lives.

Prints one "ok - ..." line per check and "ALL OK"; any failure exits non-zero.
Usage: kernel_errors.py LOGFILE
"""
import os
import sys

os.environ["GRADCAM_BACKEND"] = "wasm"  # the backend whose handlers killed the kernel (before start: the kernel inherits it)

from kernel_util import IMPORT, Iopub, check, run_cell, start  # noqa: E402

log_path = sys.argv[1]
km, kc = start(log_path)
io = Iopub(kc)

STRAYS = [
    ('setTimeout(() => { throw new Error("late") }, 50)', "late", "a timer that throws after its cell finished"),
    ('Promise.reject(new Error("x"))', "x", "a promise rejected with nobody awaiting it"),
]


def strays(when):
    for code, evalue, label in STRAYS:
        mark = len(io.msgs)
        cell, _, _ = run_cell(kc, io, code)
        err = io.wait(lambda m: m["msg_type"] == "error" and m["content"]["evalue"] == evalue, timeout=20,
                      what=f"the error output of {label}", since=mark)
        check(err["parent_header"].get("msg_id") == cell and err["content"]["ename"] == "Error"
              and any("keeps running" in line for line in err["content"]["traceback"]),
              f"{when}: {label} is an error output of its cell", err["content"])
        check(km.is_alive(), f"{when}: the kernel lives after {label}")
        _, out, _ = run_cell(kc, io, "1 + 1")
        check(out.strip() == "2", f"{when}: the kernel still executes 1 + 1 after {label}", out)


try:
    strays("without a model")

    _, out, _ = run_cell(kc, io, f'''
import * as gradcam from "{IMPORT}";
const model = await gradcam.loadShippedModel();
console.log((await gradcam.initBackend()).name, model.outputs[0].shape[1]);
''', timeout=120)
    check(out.strip().splitlines()[-1] == "wasm 10", "the shipped model is loaded on the wasm backend", out)
    _, out, _ = run_cell(kc, io, 'console.log(process.listeners("uncaughtException").length, process.listeners("unhandledRejection").length)')
    check(out.strip() == "1 1", "one listener per process error event: the kernel's (the wasm backend's were removed)", out)
    strays("with the model loaded")

    # A listener added by a cell is removed as well: the kernel, not notebook code, owns these events.
    run_cell(kc, io, '{ process.on("unhandledRejection", (r) => { throw r; }); }')
    strays("after a cell added a rethrowing listener")
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)

log = open(log_path).read()
check("removed a process 'uncaughtException' listener" in log and "removed a process 'unhandledRejection' listener" in log,
      "the kernel log names the foreign listeners it removed")
tslab_said = [m["content"]["text"] for m in io.msgs if m["msg_type"] == "stream" and
              ("UncaughtException:" in m["content"]["text"] or "UnhandledPromiseRejection:" in m["content"]["text"])]
check(tslab_said == [], "tslab's console.error handlers did not run", tslab_said)
print("ALL OK", flush=True)

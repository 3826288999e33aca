"""Shared helpers for the drivers that talk to the gradcam-ts kernel through jupyter_client.

Environment (set by test/kernel-fixture.ts): JUPYTER_PATH points at a temporary prefix holding
our kernelspec; GRADCAM_KERNEL_WORKDIR is the kernel's cwd (node_modules/gradcam-ts links to the
repo); GRADCAM_IMPORT is the module specifier a notebook cell imports the package by;
GRADCAM_KERNEL_LOG receives the kernel's stderr (its log lines).
"""
import os
import time
from queue import Empty

from jupyter_client.manager import KernelManager
import zmq

KERNEL_NAME = os.environ.get("GRADCAM_KERNEL_NAME", "gradcam-ts")
WORKDIR = os.environ["GRADCAM_KERNEL_WORKDIR"]
IMPORT = os.environ.get("GRADCAM_IMPORT", "gradcam-ts")


def start(log_path):
    km = KernelManager(kernel_name=KERNEL_NAME)
    log = open(log_path, "w")
    km.start_kernel(cwd=WORKDIR, stderr=log, stdout=log)
    kc = km.client()
    # Jupyter Server reads IOPub eagerly on its own thread; these scripts read it between sends, and
    # under load their receive queue's high-water mark (1000 messages) dropped answers the kernel had
    # sent (82 of a 1,000-edit burst, once in CI). The queue is unbounded here, as a server's reading is.
    kc.context.setsockopt(zmq.RCVHWM, 0)
    kc.start_channels()
    kc.wait_for_ready(timeout=90)
    return km, kc


class Iopub:
    """Every IOPub message kept, so a check can look back as well as wait."""

    def __init__(self, kc):
        self.kc = kc
        self.msgs = []
        self.seen = 0

    def pump(self, timeout):
        try:
            self.msgs.append(self.kc.get_iopub_msg(timeout=timeout))
            return True
        except Empty:
            return False

    def wait(self, pred, timeout=30, what="message", since=0):
        deadline = time.time() + timeout
        i = since
        while True:
            while i < len(self.msgs):
                if pred(self.msgs[i]):
                    return self.msgs[i]
                i += 1
            left = deadline - time.time()
            if left <= 0:
                kinds = [(m["msg_type"], m["content"].get("data", {}).get("method") if isinstance(m["content"].get("data"), dict) else None) for m in self.msgs[since:]]
                raise AssertionError(f"timed out waiting for {what}; got {kinds}")
            self.pump(min(left, 0.5))

    def idle_for(self, msg_id, timeout=60):
        return self.wait(lambda m: m["msg_type"] == "status" and m["parent_header"].get("msg_id") == msg_id
                         and m["content"]["execution_state"] == "idle", timeout, f"idle after {msg_id}")

    def stream_text(self, msg_id, name="stdout"):
        return "".join(m["content"]["text"] for m in self.msgs
                       if m["msg_type"] == "stream" and m["content"]["name"] == name
                       and m["parent_header"].get("msg_id") == msg_id)


def shell_reply(kc, msg_id, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = kc.get_shell_msg(timeout=max(0.1, deadline - time.time()))
        if m["parent_header"].get("msg_id") == msg_id:
            return m
    raise AssertionError(f"no shell reply to {msg_id}")


def run_cell(kc, iopub, code, timeout=90, expect="ok"):
    """Execute code; wait for reply and idle; return (msg_id, stdout, stderr)."""
    msg_id = kc.execute(code)
    reply = shell_reply(kc, msg_id, timeout)
    iopub.idle_for(msg_id, timeout)
    out, err = iopub.stream_text(msg_id), iopub.stream_text(msg_id, "stderr")
    status = reply["content"]["status"]
    assert status == expect, f"cell status {status}, expected {expect}\n--- code\n{code}\n--- stdout\n{out}\n--- stderr\n{err}"
    return msg_id, out, err


def send_shell(kc, msg_type, content, buffers=None, metadata=None):
    """Send like a front end would (jupyter_client signs the four JSON frames only)."""
    msg = kc.session.msg(msg_type, content, metadata=metadata or {})
    kc.session.send(kc.shell_channel.socket, msg, buffers=buffers or [])
    return msg["header"]["msg_id"]


def check(cond, label, detail=""):
    if not cond:
        raise AssertionError(f"FAILED: {label} {detail}")
    print(f"ok - {label}", flush=True)

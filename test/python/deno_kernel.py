"""Drive Deno's Jupyter kernel (deno jupyter) through jupyter_client as a front end would: run
showGradCam in it, then send what a browser sends (a class click, a request, a control comm), and
print one JSON line saying what arrived. test/deno/kernel.test.ts judges it.

Environment (set by the mocha test): JUPYTER_PATH holds Deno's kernelspec "deno" (installed by
`deno jupyter --install`); GRADCAM_KERNEL_WORKDIR is the kernel's cwd, a project whose
node_modules/gradcam-ts links to this repo; GRADCAM_KERNEL_LOG receives the kernel's output.
"""
import base64
import json
import os
import sys
import queue
import time
import uuid

from jupyter_client.manager import KernelManager

WORKDIR = os.environ["GRADCAM_KERNEL_WORKDIR"]
LOG = os.environ["GRADCAM_KERNEL_LOG"]

km = KernelManager(kernel_name="deno")
log = open(LOG, "w")
km.start_kernel(cwd=WORKDIR, stderr=log, stdout=log)
kc = km.client()
kc.start_channels()
kc.wait_for_ready(timeout=90)
msgs = []


def run(code, timeout=120):
    """Execute a cell; return its reply and the IOPub messages parented to it."""
    msg_id = kc.execute(code)
    reply = kc.get_shell_msg(timeout=timeout)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=timeout)
    mine = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = kc.get_iopub_msg(timeout=timeout)
        msgs.append(m)
        if m["parent_header"].get("msg_id") != msg_id:
            continue
        if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
            # Deno's kernel can publish a cell's console.log stream just after its idle status (seen
            # under load): take what still arrives for this cell within a second.
            late = time.time() + 1
            while time.time() < late:
                try:
                    m = kc.get_iopub_msg(timeout=max(0.05, late - time.time()))
                except queue.Empty:
                    break
                msgs.append(m)
                if m["parent_header"].get("msg_id") == msg_id:
                    mine.append(m)
            return reply["content"], mine
        mine.append(m)
    raise AssertionError(f"no idle after {code[:60]!r}")


def drain(seconds):
    """IOPub and shell messages that arrive within `seconds` (answers to what the browser sent)."""
    got = []
    deadline = time.time() + seconds
    while time.time() < deadline:
        for channel in (kc.iopub_channel, kc.shell_channel):
            if channel.msg_ready():
                got.append(channel.get_msg(timeout=1))
        time.sleep(0.05)
    return got


def stdout_of(cell_msgs):
    return "".join(m["content"]["text"] for m in cell_msgs if m["msg_type"] == "stream" and m["content"]["name"] == "stdout")


def send_comm(msg_type, content, buffers=None):
    msg = kc.session.msg(msg_type, content)
    kc.shell_channel.send(msg) if not buffers else kc.session.send(kc.shell_channel.socket, msg, buffers=buffers)
    return msg["header"]["msg_id"]


out = {}
try:
    reply, setup = run('''import * as gc from "gradcam-ts";
const model = await gc.loadShippedModel();
const examples = await gc.readExamples();
const deer = examples.find((e) => e.role === "deer")!;
const ship = examples.find((e) => e.role === "ship")!;''')
    out["setup"] = {"status": reply["status"], "stdout": stdout_of(setup),
                    "stderr": "".join(m["content"]["text"] for m in setup if m["msg_type"] == "stream" and m["content"]["name"] == "stderr")}

    reply, shown = run('const w = await gc.showGradCam(model, [deer.pixels, ship.pixels], { titles: ["deer", "ship"] });')
    out["show"] = {"status": reply["status"], "types": [m["msg_type"] for m in shown],
                   "error": next((m["content"] for m in shown if m["msg_type"] == "error"), None)}
    opened = next((m for m in shown if m["msg_type"] == "comm_open"), None)
    display = next((m for m in shown if m["msg_type"] == "display_data"), None)
    if opened:
        data = opened["content"]["data"]
        state = data["state"]
        images = state.get("images", [])
        out["comm_open"] = {
            "target_name": opened["content"]["target_name"],
            "comm_id": opened["content"]["comm_id"],
            "version": opened["metadata"].get("version"),
            "buffers": len(opened["buffers"]),
            "buffer_bytes": sum(len(b) for b in opened["buffers"]),
            "buffer_paths": data.get("buffer_paths", []),
            "model": [state.get("_model_name"), state.get("_model_module"), state.get("_view_name")],
            "esm_chars": len(state.get("_esm", "")),
            "anywidget_id": state.get("_anywidget_id"),
            "interactive": state.get("interactive"),
            "kernel_note": state.get("kernel_note"),
            "layers": state.get("layers"),
            "class_names": state.get("class_names"),
            "selected_class": state.get("selected_class"),
            "titles": [im.get("title") for im in images],
        }
    if display:
        bundle = display["content"]["data"]
        png = base64.b64decode(bundle.get("image/png", ""))
        out["display"] = {"mimes": sorted(bundle), "view": bundle.get("application/vnd.jupyter.widget-view+json"),
                          "png_signature": png[:8] == b"\x89PNG\r\n\x1a\n", "png_bytes": len(png)}

    # What a browser sends: a class click (update), a request for the model (custom), a control comm.
    comm_id = out.get("comm_open", {}).get("comm_id", "none")
    send_comm("comm_msg", {"comm_id": comm_id, "data": {"method": "update", "state": {"selected_class": [3, 3]}, "buffer_paths": []}})
    send_comm("comm_msg", {"comm_id": comm_id, "data": {"method": "custom", "content": {"type": "layer", "layer": "conv5", "request": "r1"}}})
    control = uuid.uuid4().hex
    send_comm("comm_open", {"comm_id": control, "target_name": "jupyter.widget.control", "data": {}})
    after = drain(3)
    out["after_browser"] = {
        "kernel_comm_msgs": [m["content"].get("data", {}) for m in after if m["msg_type"] == "comm_msg"],
        "control_closed": any(m["msg_type"] == "comm_close" and m["content"].get("comm_id") == control for m in after),
    }
    reply, probe = run('console.log(JSON.stringify({ selected: w.selectedClass, layer: w.get("layer"), interactive: w.get("interactive") }));')
    out["probe"] = {"status": reply["status"], "stdout": stdout_of(probe)}
    reply, ended = run("w")  # a cell ending with the widget: Deno's display protocol
    result = next((m["content"]["data"] for m in ended if m["msg_type"] == "execute_result"), {})
    out["cell_ends_with_widget"] = {"mimes": sorted(result), "view": result.get("application/vnd.jupyter.widget-view+json")}
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)
    log.close()

print(json.dumps(out))
sys.stdout.flush()

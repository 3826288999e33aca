"""Brush edits against the real Grad-CAM widget through jupyter_client, as a person brushing does,
then a burst: the kernel must live, answer every request, and keep its memory flat.

Prints one "ok - ..." line per check, an "rss ..." line with the measured numbers and "ALL OK".
Usage: kernel_stress.py LOGFILE EDITS BURST
"""
import base64
import json
import sys
import time
from queue import Empty

from kernel_util import IMPORT, Iopub, check, run_cell, send_shell, shell_reply, start

log_path, EDITS, BURST = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
WARMUP = 50
SIDE = 32


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


km, kc = start(log_path)
pid = km.provisioner.pid
io = Iopub(kc)


answered = {}  # request id -> answer type, for every answer read so far


def pump(timeout):
    """Read one IOPub message, keeping only which request it answers (not its buffers); False when none came.
    'maps' (the guided maps that follow an image) is not an answer."""
    try:
        m = kc.get_iopub_msg(timeout=timeout)
    except Empty:
        if not km.is_alive():
            raise AssertionError(f"the kernel died (exit code {km.provisioner.process.poll()})")
        return False
    data = m["content"].get("data") if m["msg_type"] == "comm_msg" else None
    if isinstance(data, dict) and data.get("method") == "custom" and data["content"]["type"] != "maps":
        answered[data["content"]["request"]] = data["content"]["type"]
    return True


def answers(wanted, timeout):
    """Wait until every request id in `wanted` has its answer; returns {request: type}."""
    deadline = time.time() + timeout
    while not wanted <= answered.keys():
        if time.time() > deadline:
            missing = sorted(wanted - answered.keys())
            raise AssertionError(f"{len(missing)} requests unanswered after {timeout}s (e.g. {missing[:5]}); kernel alive: {km.is_alive()}")
        pump(1)
    return {r: answered.pop(r) for r in wanted}


GC_CELL = """
{
  const v8 = require("v8"), vm = require("vm");
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as () => void;
  gc(); gc();
  const pkg = require("path").dirname(require.resolve("gradcam-ts/package.json"));
  const m = process.memoryUsage(), t = require(require.resolve("@tensorflow/tfjs", { paths: [pkg] })).memory();
  console.log(JSON.stringify({ heap: m.heapUsed >> 20, external: m.external >> 20, tensors: t.numTensors, tensorMB: t.numBytes >> 20 }));
}
"""


def settled(label):
    """Collect garbage in the kernel, then its RSS and heap figures (a leak survives a full GC; garbage does not)."""
    _, out, _ = run_cell(kc, io, GC_CELL)
    io.msgs.clear()
    figures = json.loads(out.strip().splitlines()[-1])
    figures["rss"] = round(rss_mb(pid), 1)
    print(f"  {label}: {figures}", flush=True)
    return figures


try:
    mark = len(io.msgs)
    cell, _, _ = run_cell(kc, io, f'''
import * as gradcam from "{IMPORT}";
const model = await gradcam.loadShippedModel();
const deer = (await gradcam.readExamples()).find((e) => e.role === "deer")!.pixels;
const w = await gradcam.showGradCam(model, [deer], {{ methods: ["gradcam"], titles: ["deer"] }});
console.log(Buffer.from(deer).toString("base64"));
''', timeout=120)
    deer = bytearray(base64.b64decode(io.stream_text(cell).strip().splitlines()[-1]))
    # Either front end (anywidget by default, or our labextension): the Grad-CAM state is what tells it.
    opened = io.wait(lambda m: m["msg_type"] == "comm_open" and m["content"]["data"]["state"].get("_model_name") in ("AnyModel", "GradCamModel")
                     and "class_names" in m["content"]["data"]["state"],
                     what="the Grad-CAM widget's comm_open", since=mark)
    wid = opened["content"]["comm_id"]
    io.msgs.clear()  # from here on nothing is kept: thousands of answers with buffers

    def edit(i):
        """A 4x4 grey patch that walks over the image: every edit differs from the last and from the original."""
        px = bytearray(deer)
        x0, y0 = (i * 3) % (SIDE - 4), (i * 7) % (SIDE - 4)
        for y in range(y0, y0 + 4):
            for x in range(x0, x0 + 4):
                px[3 * (y * SIDE + x):3 * (y * SIDE + x) + 3] = b"\x80\x80\x80"
        request = f"e{i}"
        send_shell(kc, "comm_msg", {"comm_id": wid, "data": {"method": "custom", "content": {
            "type": "edit", "request": request, "image": 0, "width": SIDE, "height": SIDE}}}, buffers=[bytes(px)])
        return request

    for i in range(WARMUP):
        answers({edit(i)}, 60)
    start = settled(f"after {WARMUP} warm-up edits")
    t0 = time.time()
    kinds = {}
    for i in range(WARMUP, WARMUP + EDITS):
        kind = answers({edit(i)}, 60)
        kinds.update(kind)
        if (i - WARMUP + 1) % 500 == 0:
            print(f"  {i - WARMUP + 1} edits: rss {rss_mb(pid):.1f} MB", flush=True)
    seq_s = time.time() - t0
    after_edits = settled(f"after {EDITS} edits")
    check(list(set(kinds.values())) == ["image"] and len(kinds) == EDITS,
          f"{EDITS} brush edits sent one after another: each answered with its new image", set(kinds.values()))

    t1 = time.time()
    burst = []
    for i in range(BURST):
        burst.append(edit(WARMUP + EDITS + i))
        while pump(0):  # read as a front end does while it sends, so IOPub's high-water mark never drops answers
            pass
    got = answers(set(burst), 120)
    burst_s = time.time() - t1
    counts = {k: list(got.values()).count(k) for k in sorted(set(got.values()))}
    check(len(got) == BURST and set(counts) <= {"image", "superseded"} and got[burst[-1]] == "image",
          f"a burst of {BURST} edits: every request answered (the newest with its image, waiting ones superseded)", counts)

    check(km.is_alive(), "the kernel process is alive")
    r = shell_reply(kc, kc.kernel_info(), 30)
    check(r["content"]["status"] == "ok", "the kernel answers kernel_info")
    io.msgs.clear()
    _, out, _ = run_cell(kc, io, "1 + 1")
    check(out.strip() == "2", "the kernel executes a cell: 1 + 1 = 2", out)
    _, out, _ = run_cell(kc, io, "console.log(w.lastEdit?.kind, w.pixels(0).length)")
    check(out.strip() == "edit 3072", "the widget in the kernel holds the last edit", out)

    end = settled("after the burst")
    grown = end["rss"] - start["rss"]
    print(f"rss start {start['rss']:.1f} MB, after {EDITS} edits {after_edits['rss']:.1f} MB, after the burst {end['rss']:.1f} MB "
          f"(grown {grown:+.1f} MB); {EDITS} edits in {seq_s:.1f}s ({1000 * seq_s / EDITS:.1f} ms per round trip), "
          f"burst of {BURST} answered in {burst_s:.1f}s: {counts}", flush=True)
    check(end["tensors"] == start["tensors"], "no tensor leaked", (start["tensors"], end["tensors"]))
    check(end["heap"] - start["heap"] < 16, "the JS heap stays flat: under 16 MB growth after a full GC", (start["heap"], end["heap"]))
    check(grown < 64, "RSS stays flat: under 64 MB growth over the edits and the burst", f"{grown:+.1f} MB")
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)

log = open(log_path).read()
failed = [line for line in log.splitlines() if "Socket is busy" in line or "failed to send" in line or ("sending" in line and "failed" in line)]
check(failed == [], "the kernel log has no failed send", failed[:3])
print("ALL OK", flush=True)

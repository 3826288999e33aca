"""Front-end side of the comm protocol against the gradcam-ts kernel (jupyter_client).

Prints one "ok - ..." line per check and "ALL OK" at the end; any failure exits non-zero.
Usage: comm_driver.py LOGFILE
"""
import struct
import sys
import time
import uuid

import zmq
from kernel_util import IMPORT, Iopub, check, run_cell, send_shell, shell_reply, start

log_path = sys.argv[1]
km, kc = start(log_path)
io = Iopub(kc)
try:
    # --- a comm target registered by a cell, opened from the front end with a binary buffer
    run_cell(kc, io, f'''
import * as gradcam from "{IMPORT}";
gradcam.registerCommTarget("test.echo", (comm, open) => {{
  comm.send({{ opened_with: open.data }}, {{ buffers: open.buffers.map((b) => Buffer.from(b).reverse()) }});
  comm.onMsg((m) => comm.send({{ echo: m.data, sizes: m.buffers.map((b) => b.length) }},
                              {{ buffers: m.buffers.map((b) => Buffer.from(b).reverse()) }}));
}});
''')
    cid = uuid.uuid4().hex
    mark = len(io.msgs)
    open_id = send_shell(kc, "comm_open", {"comm_id": cid, "target_name": "test.echo", "data": {"hello": "world"}},
                         buffers=[b"\x01\x02\x03"])
    m = io.wait(lambda m: m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == cid, what="reply to comm_open", since=mark)
    check(m["content"]["data"] == {"opened_with": {"hello": "world"}}, "comm_open data reaches the target handler", m["content"])
    check([bytes(b) for b in m["buffers"]] == [b"\x03\x02\x01"], "binary buffer of comm_open arrives and a binary buffer comes back", m["buffers"])
    check(m["parent_header"]["msg_id"] == open_id, "kernel's reply is parented to the comm_open")

    mark = len(io.msgs)
    big = bytes(range(256)) * 40
    msg_id = send_shell(kc, "comm_msg", {"comm_id": cid, "data": {"n": 2}}, buffers=[b"ab", big])
    m = io.wait(lambda m: m["msg_type"] == "comm_msg" and m["parent_header"].get("msg_id") == msg_id, what="echo", since=mark)
    check(m["content"]["data"] == {"echo": {"n": 2}, "sizes": [2, len(big)]}, "comm_msg with two buffers: data and sizes", m["content"]["data"])
    check([bytes(b) for b in m["buffers"]] == [b"ba", big[::-1]], "both reply buffers are the reversed bytes")
    io.wait(lambda m: m["msg_type"] == "status" and m["parent_header"].get("msg_id") == msg_id and m["content"]["execution_state"] == "idle",
            what="idle after comm_msg", since=mark)
    check(True, "busy/idle published for comm_msg (the widget front end throttles on it)")

    # --- comm_info, filtered by target
    def comm_info(**content):
        mid = send_shell(kc, "comm_info_request", content)
        r = shell_reply(kc, mid)
        assert r["header"]["msg_type"] == "comm_info_reply", r["header"]["msg_type"]
        return r["content"]
    r = comm_info(target_name="test.echo")
    check(r == {"status": "ok", "comms": {cid: {"target_name": "test.echo"}}}, "comm_info_reply filtered by target lists the comm", r)
    check(comm_info(target_name="jupyter.widget")["comms"] == {}, "comm_info_reply for another target is empty")
    check(cid in comm_info()["comms"], "unfiltered comm_info_reply lists the comm")

    # --- unknown target: answered by comm_close
    bad = uuid.uuid4().hex
    mark = len(io.msgs)
    send_shell(kc, "comm_open", {"comm_id": bad, "target_name": "no.such.target", "data": {}})
    io.wait(lambda m: m["msg_type"] == "comm_close" and m["content"]["comm_id"] == bad, what="comm_close for unknown target", since=mark)
    check(True, "comm_open for an unknown target is answered by comm_close")

    # --- a widget model: open, display, buffers
    mark = len(io.msgs)
    widget_cell, _, _ = run_cell(kc, io, f'''
import * as gradcam from "{IMPORT}";
type S = {{ value: number; doubled: number; data: Uint8Array | Float32Array }};
const w = new gradcam.WidgetModel<S>(
  {{ _model_name: "TestModel", _model_module: "test-widgets", _model_module_version: "1.0.0",
    _view_name: "TestView", _view_module: "test-widgets", _view_module_version: "1.0.0" }},
  {{ value: 1, doubled: 2, data: new Float32Array([1.5, -2]) }});
const seen: number[] = [];
w.on("change:value", (v) => {{ seen.push(v); w.set({{ doubled: v * 2 }}); }});
w.display();
''')
    op = io.wait(lambda m: m["msg_type"] == "comm_open" and m["content"]["target_name"] == "jupyter.widget", what="widget comm_open", since=mark)
    wid = op["content"]["comm_id"]
    st = op["content"]["data"]["state"]
    check(op["metadata"].get("version") == "2.1.0", "widget comm_open carries protocol version 2.1.0 in metadata")
    check(st["_model_name"] == "TestModel" and st["_model_module"] == "test-widgets" and st["_view_name"] == "TestView"
          and st["value"] == 1 and "data" not in st, "widget state: model/view names, values, typed array taken out", st)
    check(op["content"]["data"]["buffer_paths"] == [["data"]] and bytes(op["buffers"][0]) == struct.pack("<2f", 1.5, -2),
          "Float32Array travels as a raw little-endian buffer at buffer_paths [['data']]")
    check(op["parent_header"]["msg_id"] == widget_cell, "widget comm_open is parented to its execute_request")
    dd = io.wait(lambda m: m["msg_type"] == "display_data" and m["parent_header"].get("msg_id") == widget_cell, what="display_data", since=mark)
    view = dd["content"]["data"]["application/vnd.jupyter.widget-view+json"]
    check(view["model_id"] == wid and view["version_major"] == 2 and "text/plain" in dd["content"]["data"],
          "display_data: widget-view+json names the model, with a text/plain fallback", dd["content"]["data"])

    # --- front-end update reaches the listener; echo_update parented to the update
    mark = len(io.msgs)
    up = send_shell(kc, "comm_msg", {"comm_id": wid, "data": {"method": "update", "state": {"value": 21}, "buffer_paths": []}})
    echo = io.wait(lambda m: m["msg_type"] == "comm_msg" and m["content"]["data"].get("method") == "echo_update", what="echo_update", since=mark)
    check(echo["parent_header"]["msg_id"] == up and echo["content"]["data"]["state"] == {"value": 21},
          "echo_update repeats the front end's state, parented to its update (how the front end knows its echo)")
    upd = io.wait(lambda m: m["msg_type"] == "comm_msg" and m["content"]["data"].get("method") == "update", what="kernel update", since=mark)
    check(upd["content"]["data"]["state"] == {"doubled": 42}, "listener in the kernel saw value=21 and pushed doubled=42", upd["content"])
    _, out, _ = run_cell(kc, io, "console.log(JSON.stringify(seen), w.get('value'))")
    check(out.strip() == "[21] 21", "kernel-side listener ran exactly once with the new value", out)

    # --- a cell awaiting a front-end change, with a binary buffer in the update
    mark = len(io.msgs)
    wait_id = kc.execute('''
const v = await w.waitFor("change:value", { timeoutMs: 30000 });
const d = w.get("data");
console.log("waited", v, d.byteLength, Array.from(new Float32Array(new Uint8Array(d.buffer, d.byteOffset, d.byteLength).slice().buffer)).join(","));
''')
    time.sleep(1.0)
    send_shell(kc, "comm_msg", {"comm_id": wid, "data": {"method": "update", "state": {"value": 7}, "buffer_paths": [["data"]]}},
               buffers=[struct.pack("<2f", 3, 4)])
    reply = shell_reply(kc, wait_id)
    io.idle_for(wait_id)
    out = io.stream_text(wait_id)
    check(reply["content"]["status"] == "ok" and out.strip() == "waited 7 8 3,4", "a cell awaiting waitFor('change:value') resumes with the front end's value and buffer", out + io.stream_text(wait_id, "stderr"))

    # --- request_state
    mark = len(io.msgs)
    rq = send_shell(kc, "comm_msg", {"comm_id": wid, "data": {"method": "request_state"}})
    full = io.wait(lambda m: m["msg_type"] == "comm_msg" and m["parent_header"].get("msg_id") == rq, what="request_state reply", since=mark)
    fd = full["content"]["data"]
    check(fd["method"] == "update" and fd["state"]["value"] == 7 and fd["state"]["doubled"] == 14 and fd["buffer_paths"] == [["data"]]
          and bytes(full["buffers"][0]) == struct.pack("<2f", 3, 4), "request_state answers with the full state and its buffers", fd)

    # --- custom messages both ways
    run_cell(kc, io, 'w.on("custom", (c, b) => w.send({ got: c, n: b.length }, b));')
    mark = len(io.msgs)
    cu = send_shell(kc, "comm_msg", {"comm_id": wid, "data": {"method": "custom", "content": {"x": 1}}}, buffers=[b"\xff\x00"])
    m = io.wait(lambda m: m["msg_type"] == "comm_msg" and m["parent_header"].get("msg_id") == cu, what="custom reply", since=mark)
    check(m["content"]["data"] == {"method": "custom", "content": {"got": {"x": 1}, "n": 1}} and bytes(m["buffers"][0]) == b"\xff\x00",
          "custom message with a buffer reaches the kernel and a custom reply comes back", m["content"])

    # --- a message from an async callback after its cell finished, parented to that cell
    timer_cell, _, _ = run_cell(kc, io, "setTimeout(() => w.set({ value: 99 }), 400);")
    after = len(io.msgs)
    m = io.wait(lambda m: m["msg_type"] == "comm_msg" and m["content"]["data"].get("state", {}).get("value") == 99,
                what="update from the timer", since=after)
    check(m["parent_header"]["msg_id"] == timer_cell, "update sent by a timer after the cell finished is parented to that cell's execute_request")

    # --- a throwing listener reports into its own cell; the rest keeps working
    thrower, _, _ = run_cell(kc, io, 'w.on("change:value", (v) => { if (v === 13) throw new Error("boom from listener"); });')
    mark = len(io.msgs)
    send_shell(kc, "comm_msg", {"comm_id": wid, "data": {"method": "update", "state": {"value": 13}, "buffer_paths": []}})
    err = io.wait(lambda m: m["msg_type"] == "stream" and "boom from listener" in m["content"]["text"], what="listener error", since=mark)
    check(err["content"]["name"] == "stderr" and err["parent_header"]["msg_id"] == thrower,
          "a throwing listener's error goes to stderr of the cell that registered it")
    io.wait(lambda m: m["msg_type"] == "comm_msg" and m["content"]["data"].get("state") == {"doubled": 26}, what="other listener", since=mark)
    check(True, "the other listener still ran (doubled=26)")

    # --- the control comm: all widget states at once
    ctl = uuid.uuid4().hex
    mark = len(io.msgs)
    send_shell(kc, "comm_open", {"comm_id": ctl, "target_name": "jupyter.widget.control", "data": {}})
    rs = send_shell(kc, "comm_msg", {"comm_id": ctl, "data": {"method": "request_states"}})
    m = io.wait(lambda m: m["msg_type"] == "comm_msg" and m["parent_header"].get("msg_id") == rs, what="update_states", since=mark)
    d = m["content"]["data"]
    check(d["method"] == "update_states" and d["states"][wid]["model_name"] == "TestModel" and d["states"][wid]["state"]["value"] == 13
          and [wid, "state", "data"] in d["buffer_paths"], "jupyter.widget.control request_states returns every widget's state", d)

    # --- bad input: logged, kernel keeps running
    sock = kc.shell_channel.socket
    hdr = kc.session.msg_header("kernel_info_request")
    import json
    frames = [json.dumps(x, default=str).encode() for x in (hdr, {}, {}, {})]
    sock.send_multipart([b"<IDS|MSG>", b"0" * 64] + frames)  # wrong signature
    sock.send_multipart([b"<IDS|MSG>", b""] + frames)  # missing signature
    bad_json = [b"{not json", b"{}", b"{}", b"{}"]
    sock.send_multipart([b"<IDS|MSG>", kc.session.sign(bad_json)] + bad_json)  # signed, malformed JSON
    send_shell(kc, "comm_msg", {"comm_id": "0" * 32, "data": {}})  # unknown comm id
    mid = kc.kernel_info()
    r = shell_reply(kc, mid, 30)
    check(r["content"]["status"] == "ok", "kernel still answers kernel_info after bad messages")
    _, out, _ = run_cell(kc, io, 'console.log("alive")')
    check(out.strip() == "alive", "kernel still executes after bad messages")

    # --- the front end closes the widget
    run_cell(kc, io, 'let closedSeen = false; w.on("close", () => { closedSeen = true; });')
    cl = send_shell(kc, "comm_close", {"comm_id": wid, "data": {}})
    io.idle_for(cl, 30)
    _, out, _ = run_cell(kc, io, 'console.log(closedSeen, w.isClosed)')
    check(out.strip() == "true true", "comm_close from the front end closes the widget and fires 'close'", out)
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)

log = open(log_path).read()
for needle in ["wrong signature", "missing signature", "malformed JSON", "unknown comm id", "unknown target"]:
    check(needle in log, f"kernel log names the problem: {needle!r}")
print("ALL OK", flush=True)

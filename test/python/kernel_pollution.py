"""A hostile front end tries to reach Object.prototype through widget messages (buffer_paths and
state keys __proto__ / constructor / prototype): every attempt is refused and logged, nothing in
the kernel changes, and the widget and the kernel keep working.

Prints one "ok - ..." line per check and "ALL OK"; any failure exits non-zero.
Usage: kernel_pollution.py LOGFILE
"""
import sys
import uuid

from kernel_util import IMPORT, Iopub, check, run_cell, send_shell, start

log_path = sys.argv[1]
km, kc = start(log_path)
io = Iopub(kc)


def update(wid, state, paths, buffers):
    """A widget update as ipywidgets sends it ("__proto__" is an ordinary key to json.dumps)."""
    return send_shell(kc, "comm_msg", {"comm_id": wid, "data": {"method": "update", "state": state, "buffer_paths": paths}}, buffers=buffers)


PROBE = ('console.log(JSON.stringify([({} as any).polluted, ({} as any).hacked, Object.prototype.hasOwnProperty("polluted"), '
         '(Object as any).polluted, Object.keys(Object.prototype).length]))')
CLEAN = "[null,null,false,null,0]"

try:
    mark = len(io.msgs)
    run_cell(kc, io, f'''
import * as gradcam from "{IMPORT}";
const w = new gradcam.WidgetModel<{{ value: number; data: Uint8Array }}>(
  {{ _model_name: "TestModel", _model_module: "test-widgets", _model_module_version: "1.0.0" }},
  {{ value: 1, data: new Uint8Array([1]) }});
const seen: string[] = [];
w.on("change", (changed) => seen.push(Object.keys(changed).join(",")));
''')
    op = io.wait(lambda m: m["msg_type"] == "comm_open" and m["content"]["target_name"] == "jupyter.widget", what="widget comm_open", since=mark)
    wid = op["content"]["comm_id"]
    _, out, _ = run_cell(kc, io, PROBE)
    check(out.strip() == CLEAN, "Object.prototype is clean before the attacks", out)

    attacks = [
        ("buffer_paths [['__proto__', 'polluted']] (the issue's reproduction)", {"value": 2}, [["__proto__", "polluted"]]),
        ("buffer_paths [['constructor', 'prototype', 'polluted']]", {"value": 3}, [["constructor", "prototype", "polluted"]]),
        ("buffer_paths [['data', '__proto__', 'polluted']] (inside a value)", {"value": 4, "data": {}}, [["data", "__proto__", "polluted"]]),
        ("state key __proto__ holding {'hacked': 1}", {"__proto__": {"hacked": 1}, "value": 5}, []),
        ("state key constructor holding {'prototype': {'hacked': 1}}", {"constructor": {"prototype": {"hacked": 1}}}, []),
        ("a nested state key __proto__", {"value": 6, "data": {"x": [{"__proto__": {"hacked": 1}}]}}, []),
    ]
    for label, state, paths in attacks:
        up = update(wid, state, paths, [b"\x01\x02"] * len(paths))
        io.idle_for(up, 30)
        _, out, _ = run_cell(kc, io, PROBE)
        check(out.strip() == CLEAN, f"refused: {label}; Object.prototype untouched", out)

    # The control comm and a comm_open with a hostile comm id.
    ctl = uuid.uuid4().hex
    send_shell(kc, "comm_open", {"comm_id": ctl, "target_name": "jupyter.widget.control", "data": {}})
    rs = send_shell(kc, "comm_msg", {"comm_id": ctl, "data": {"__proto__": {"method": "request_states"}}})
    io.idle_for(rs, 30)
    mark = len(io.msgs)
    bad_open = send_shell(kc, "comm_open", {"comm_id": "__proto__", "target_name": "jupyter.widget.control", "data": {}})
    closed = io.wait(lambda m: m["msg_type"] == "comm_close" and m["parent_header"].get("msg_id") == bad_open, what="comm_close", since=mark)
    check(closed["content"]["comm_id"] == "__proto__", "a comm_open with the comm id __proto__ is answered with comm_close")
    info = kc.comm_info()
    reply = kc.get_shell_msg(timeout=30)
    while reply["parent_header"].get("msg_id") != info:
        reply = kc.get_shell_msg(timeout=30)
    check("__proto__" not in reply["content"]["comms"] and ctl in reply["content"]["comms"], "comm_info lists no __proto__ comm", reply["content"])

    _, out, _ = run_cell(kc, io, 'console.log(JSON.stringify(seen), w.get("value"), Object.keys(w.state).join(","))')
    check(out.strip() == '[] 1 value,data', "no attack reached the widget's state or its listeners", out)
    up = update(wid, {"value": 7}, [["data"]], [b"\x09"])
    io.idle_for(up, 30)
    _, out, _ = run_cell(kc, io, 'console.log(JSON.stringify(seen), w.get("value"), Array.from(w.get("data") as Uint8Array).join(","))')
    check(out.strip() == '["value,data"] 7 9', "an honest update with a buffer still works afterwards", out)
    _, out, _ = run_cell(kc, io, "1 + 1")
    check(out.strip() == "2", "the kernel still executes 1 + 1", out)
    check(km.is_alive(), "the kernel lives")
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)

log = open(log_path).read()
check(log.count("the kernel refuses __proto__, constructor, prototype") >= len(attacks),
      "the kernel log names each refused key and the rule", [line for line in log.splitlines() if "refuses" in line][:8])
print("ALL OK", flush=True)

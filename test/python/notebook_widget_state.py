"""Execute a notebook that creates a widget with `jupyter nbconvert --execute` (nbclient inside)
and check the saved notebook carries the widget state under metadata.widgets.
Usage: notebook_widget_state.py  (JUPYTER_PATH, GRADCAM_KERNEL_WORKDIR, GRADCAM_IMPORT set by the mocha fixture)
"""
import base64
import os
import subprocess
import sys

import nbformat
from kernel_util import IMPORT, WORKDIR, KERNEL_NAME, check

src = os.path.join(WORKDIR, "widget.ipynb")
out = os.path.join(WORKDIR, "widget.executed.ipynb")
nb = nbformat.v4.new_notebook()
nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "TypeScript (gradcam-ts)", "language": "typescript"}
nb.cells = [
    nbformat.v4.new_code_cell(f'''import * as gradcam from "{IMPORT}";
const w = new gradcam.WidgetModel<{{ value: number; label: string; data: Uint8Array }}>(
  {{ _model_name: "TestModel", _model_module: "test-widgets", _model_module_version: "1.0.0",
    _view_name: "TestView", _view_module: "test-widgets", _view_module_version: "1.0.0" }},
  {{ value: 3, label: "three", data: new Uint8Array([1, 2, 250]) }},
  {{ fallback: () => ({{ text: "TestModel: value 3" }}) }});
w.display();'''),
    nbformat.v4.new_code_cell('w.set({ value: 4, label: "four" });\nconsole.log("value is", w.get("value"));'),
]
nbformat.write(nb, src)

r = subprocess.run([sys.executable, "-m", "nbconvert", "--to", "notebook", "--execute", "--output", os.path.basename(out),
                    "--ExecutePreprocessor.timeout=120", src], cwd=WORKDIR, capture_output=True, text=True)
print(r.stderr[-2000:], flush=True)
check(r.returncode == 0, "jupyter nbconvert --execute runs the notebook with our kernel", r.returncode)

done = nbformat.read(out, as_version=4)
ws = done.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json")
check(ws is not None, "saved notebook has metadata.widgets['application/vnd.jupyter.widget-state+json']", done.metadata)
check(ws["version_major"] == 2, "widget state version_major is 2", ws)
(model_id, entry), = ws["state"].items()
check(entry["model_name"] == "TestModel" and entry["model_module"] == "test-widgets" and entry["model_module_version"] == "1.0.0",
      "model name/module/version saved", entry)
check(entry["state"]["value"] == 4 and entry["state"]["label"] == "four", "the saved state includes the kernel-side update from cell 2", entry["state"])
bufs = entry.get("buffers", [])
check(len(bufs) == 1 and bufs[0]["path"] == ["data"] and base64.b64decode(bufs[0]["data"]) == bytes([1, 2, 250]),
      "the binary buffer is saved at its path, base64", bufs)
outs = done.cells[0].outputs
view = [o for o in outs if o.output_type == "display_data" and "application/vnd.jupyter.widget-view+json" in o.data]
check(len(view) == 1 and view[0].data["application/vnd.jupyter.widget-view+json"]["model_id"] == model_id
      and view[0].data["text/plain"] == "TestModel: value 3", "cell 1 output is the widget view (model id matches) with its text fallback", outs)
check("value is 4" in "".join(o.get("text", "") for o in done.cells[1].outputs), "cell 2 printed the new value")
print("ALL OK", flush=True)

/**
 * showGradCam in Deno's Jupyter kernel, driven by a real Jupyter client (jupyter_client in the
 * pinned .venv): Deno's kernelspec installed by `deno jupyter --install` into a temp folder, a
 * project whose node_modules/gradcam-ts links to this repo, and what a browser would receive and send.
 */
import { expect } from 'chai';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { installDenoKernelspec } from '../../notebooks/build';
import { missingPrerequisite, PYTHON, REPO } from '../support/kernel-fixture';
import { requireBuiltPackage } from '../support/deno';

interface Report {
  setup: { status: string; stdout: string; stderr: string };
  show: { status: string; types: string[]; error: unknown };
  comm_open?: {
    target_name: string; comm_id: string; version: string; buffers: number; buffer_bytes: number; buffer_paths: (string | number)[][];
    model: string[]; esm_chars: number; anywidget_id: string; interactive: boolean; kernel_note?: string; layers: string[];
    class_names: string[]; selected_class: number[]; titles: string[];
  };
  display?: { mimes: string[]; view: { model_id: string }; png_signature: boolean; png_bytes: number };
  after_browser: { kernel_comm_msgs: unknown[]; control_closed: boolean };
  probe: { status: string; stdout: string };
  cell_ends_with_widget: { mimes: string[]; view?: { model_id: string } };
}

function runDriver(env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [path.join(REPO, 'test', 'python', 'deno_kernel.py')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

describe("showGradCam in Deno's Jupyter kernel (real client, deno from npm)", function () {
  this.timeout(240_000);
  let root: string;
  let report: Report;
  let kernelLog: string;

  before(async function () {
    const missing = missingPrerequisite();
    if (missing) {
      console.log(`      (skipped: ${missing})`);
      this.skip();
    }
    requireBuiltPackage();
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'gradcam-deno-kernel-'));
    installDenoKernelspec(path.join(root, 'share'));
    // A user's project: a package.json (Deno then resolves bare imports through node_modules) and gradcam-ts installed.
    const workdir = path.join(root, 'project');
    fs.mkdirSync(path.join(workdir, 'node_modules'), { recursive: true });
    fs.writeFileSync(path.join(workdir, 'package.json'), '{ "private": true }\n');
    fs.symlinkSync(REPO, path.join(workdir, 'node_modules', 'gradcam-ts'), 'dir');
    kernelLog = path.join(root, 'kernel.log');
    const r = await runDriver({
      ...process.env,
      JUPYTER_PATH: path.join(root, 'share', 'jupyter'),
      JUPYTER_DATA_DIR: path.join(root, 'data'),
      JUPYTER_RUNTIME_DIR: path.join(root, 'runtime'),
      JUPYTER_PLATFORM_DIRS: '1',
      GRADCAM_KERNEL_WORKDIR: workdir,
      GRADCAM_KERNEL_LOG: kernelLog,
      DENO_NO_UPDATE_CHECK: '1',
      GRADCAM_QUIET: '0', // the backend line is part of what is checked
      PYTHONDONTWRITEBYTECODE: '1',
    });
    const log = fs.existsSync(kernelLog) ? fs.readFileSync(kernelLog, 'utf8').slice(-2000) : '';
    expect(r.code, `driver failed:\n${r.err.slice(-3000)}\nkernel log:\n${log}`).to.equal(0);
    report = JSON.parse(r.out.trim().split('\n').pop() ?? '{}') as Report;
  });

  after(() => {
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('loads gradcam-ts there: the shipped model and examples, the backend line on stdout (no red stderr box)', () => {
    expect(report.setup.status).to.equal('ok');
    expect(report.setup.stdout).to.match(/gradcam-ts: TensorFlow\.js .* on (wasm|cpu)/);
    expect(report.setup.stderr).to.equal('');
  });

  it('opens the widget with one comm_open through Deno.jupyter.broadcast: anywidget, the front end in _esm, every map as a binary buffer', () => {
    expect(report.show.error).to.equal(null);
    expect(report.show.status).to.equal('ok');
    const open = report.comm_open;
    expect(open, `messages of the cell: ${report.show.types.join(', ')}`).to.not.equal(undefined);
    if (!open) return;
    expect(open.target_name).to.equal('jupyter.widget');
    expect(open.version).to.equal('2.1.0');
    expect(open.model).to.deep.equal(['AnyModel', 'anywidget', 'AnyView']);
    expect(open.anywidget_id).to.equal('gradcam-ts-widget.GradCamWidget');
    expect(open.esm_chars).to.be.greaterThan(10_000);
    expect(open.titles).to.deep.equal(['deer', 'ship']);
    expect(open.class_names).to.have.length(10);
    expect(open.selected_class).to.deep.equal([4, 8]); // deer and ship, as predicted
    expect(open.buffers).to.equal(open.buffer_paths.length);
    expect(open.buffers).to.be.at.least(2 * 4); // per image at least pixels, probabilities, alphas and one method's maps
    const mapPaths = open.buffer_paths.filter((p) => p[2] === 'maps').map((p) => p.join('/'));
    expect(mapPaths).to.include.members(['images/0/maps/gradcam', 'images/1/maps/gradcam']);
    // ten classes' 32x32 float32 Grad-CAM maps alone are 40 KB per image
    expect(open.buffer_bytes).to.be.greaterThan(2 * 10 * 32 * 32 * 4);
  });

  it("marks the state as one the kernel cannot answer: interactive false, no layer menu, a note that names the tslab kernel", () => {
    const open = report.comm_open;
    if (!open) throw new Error('no comm_open');
    expect(open.interactive).to.equal(false);
    expect(open.layers).to.deep.equal([]);
    expect(open.kernel_note).to.match(/Deno's Jupyter kernel/);
    expect(open.kernel_note).to.match(/occlusion brush.*adding an image.*layer menu/);
    expect(open.kernel_note).to.match(/"TypeScript \(gradcam-ts\)"/);
  });

  it('then displays it: the widget view of that comm, with a PNG fallback', () => {
    expect(report.display?.mimes).to.include.members(['application/vnd.jupyter.widget-view+json', 'image/png', 'text/plain']);
    expect(report.display?.view.model_id).to.equal(report.comm_open?.comm_id);
    expect(report.display?.png_signature).to.equal(true);
    expect(report.display?.png_bytes).to.be.greaterThan(1000);
    expect(report.show.types.indexOf('comm_open')).to.be.below(report.show.types.indexOf('display_data'));
  });

  it('shows the widget again when a cell ends with it (Deno\'s display protocol), as a Python notebook does', () => {
    expect(report.cell_ends_with_widget.mimes).to.include('application/vnd.jupyter.widget-view+json');
    expect(report.cell_ends_with_widget.view?.model_id).to.equal(report.comm_open?.comm_id);
  });

  it("is one-way, as Deno's kernel is: the browser's class click and request never reach the notebook, and nothing hangs", () => {
    // Deno closes a comm the browser opens and drops comm_msg; the kernel keeps running cells.
    expect(report.after_browser.control_closed).to.equal(true);
    expect(report.after_browser.kernel_comm_msgs).to.deep.equal([]);
    expect(report.probe.status).to.equal('ok');
    expect(JSON.parse(report.probe.stdout)).to.deep.equal({ selected: [4, 8], layer: 'conv6', interactive: false });
  });
});

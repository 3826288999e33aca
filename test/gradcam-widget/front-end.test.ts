/**
 * Which front end the kernel opens the Grad-CAM widget for: anywidget by default (identity fields
 * as anywidget 0.11 declares them, our ES module in `_esm`, our CSS in `_css`), the labextension
 * when asked; and the anywidget route's two-way traffic (a class click, a brush edit) over the comm.
 */
import { expect } from 'chai';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import type * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { KernelRuntime } from '../../src/jupyter/runtime';
import { ANYWIDGET_MODULE_VERSION } from '../../src/jupyter/anywidget';
import { ANYWIDGET_BUNDLE_DIR, chosenFrontEnd, gradCamAnywidget, gradCamWidgetIdentity, showGradCamIdentity } from '../../src/gradcam-widget/front-end';
import { showGradCam, type GradCamWidget } from '../../src/gradcam-widget';
import type { JSONObject } from '../../src/jupyter/wire';
import type { GradCamReply } from '../../src/shared/gradcam-schema';
import { frontendMessage, Recorder, type Published } from '../support/comm-recorder';
import { loadModel } from '../../src/model/io';
import { SHIPPED_MODEL_DIR } from '../../src/model/shipped';
import { readExamples } from '../../src/render/examples';
import { JUPYTER_PYTHON } from '../../src/cli/jupyter-env';

const BUNDLE = path.join(ANYWIDGET_BUNDLE_DIR, 'index.mjs');

describe('the Grad-CAM widget\'s front end: anywidget by default, the labextension when asked', function () {
  let model: tf.LayersModel;
  let t: Recorder;
  let runtime: KernelRuntime;
  let deer: Uint8Array;
  let ship: Uint8Array;

  before(async function () {
    if (!fs.existsSync(BUNDLE)) {
      if (process.env.CI) throw new Error(`${BUNDLE} is missing: npm run build`);
      console.log('      (skipped: the anywidget module is not built; npm run build)');
      this.skip();
    }
    await initBackend({ quiet: true });
    model = await loadModel(SHIPPED_MODEL_DIR);
    const examples = await readExamples();
    deer = (examples.find((e) => e.role === 'deer') as { pixels: Uint8Array }).pixels;
    ship = (examples.find((e) => e.role === 'ship') as { pixels: Uint8Array }).pixels;
  });
  beforeEach(() => {
    t = new Recorder();
    runtime = new KernelRuntime(t);
  });
  after(() => model?.dispose());

  const show = (extra = {}): Promise<GradCamWidget> => showGradCam(model, [deer, ship], { titles: ['deer', 'ship'], trueLabels: [4, 8], widget: { runtime }, display: false, ...extra });
  const opened = (): { state: JSONObject; paths: string[]; buffers: Buffer[] } => {
    const open = t.sent.find((s) => s.msgType === 'comm_open') as Published;
    const data = open.content.data as JSONObject;
    return { state: data.state as JSONObject, paths: (data.buffer_paths as (string | number)[][]).map((p) => p.join('/')), buffers: open.buffers };
  };

  it("opens the comm as anywidget's AnyModel / AnyView, with our module as _esm and our stylesheet as _css", async () => {
    const saved = process.env.GRADCAM_WIDGET;
    delete process.env.GRADCAM_WIDGET;
    try {
      const w = await show();
      const { state } = opened();
      expect(state).to.include({
        _model_name: 'AnyModel', _model_module: 'anywidget', _model_module_version: '~0.11.*',
        _view_name: 'AnyView', _view_module: 'anywidget', _view_module_version: '~0.11.*',
        _anywidget_id: 'gradcam-ts-widget.GradCamWidget',
      });
      expect(state._esm).to.equal(fs.readFileSync(BUNDLE, 'utf8'));
      expect(state._css).to.equal(fs.readFileSync(path.join(ANYWIDGET_BUNDLE_DIR, 'style.css'), 'utf8')).and.to.contain('.gc-widget');
      // The kernel's own view of its state leaves anywidget's machinery out.
      expect(w.state).to.not.have.any.keys('_esm', '_css', '_anywidget_id');
      w.close();
    } finally {
      if (saved !== undefined) process.env.GRADCAM_WIDGET = saved;
    }
  });

  it('sends _esm as an ES module whose only export is the default { render } anywidget 0.9+ loads', async () => {
    await show({ frontEnd: 'anywidget' });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gradcam-esm-')), 'widget.mjs');
    fs.writeFileSync(file, String(opened().state._esm));
    // Imported in Node as anywidget imports it in the browser (a module of its own, nothing else loaded).
    const mod = (await import(pathToFileURL(file).href)) as { default?: { render?: unknown } };
    expect(Object.keys(mod), 'a named render would make anywidget warn of the old form').to.deep.equal(['default']);
    expect(mod.default?.render).to.be.a('function');
    expect(String(opened().state._esm)).to.not.match(/\brequire\(|from\s*["'][^"'./]/, 'imports nothing from outside');
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });

  it('puts the same binary buffers at the same paths on either route (only the identity differs)', async () => {
    await show({ frontEnd: 'anywidget' });
    const any = opened();
    t = new Recorder();
    runtime = new KernelRuntime(t);
    await show({ frontEnd: 'labextension' });
    const lab = opened();
    expect(lab.state).to.include({ _model_name: 'GradCamModel', _model_module: 'gradcam-ts-widget', _view_name: 'GradCamView' });
    expect(lab.state).to.not.have.any.keys('_esm', '_css', '_anywidget_id');
    expect(any.paths).to.deep.equal(lab.paths);
    expect(any.buffers.map((b) => b.byteLength)).to.deep.equal(lab.buffers.map((b) => b.byteLength));
    const strip = (s: JSONObject): JSONObject => Object.fromEntries(Object.entries(s).filter(([k]) => !k.startsWith('_')));
    expect(strip(any.state)).to.deep.equal(strip(lab.state));
  });

  it('answers request_state with the module too (a reloaded page builds the widget from the kernel)', async () => {
    const w = await show({ frontEnd: 'anywidget' });
    runtime.comms.handle(frontendMessage(w.id, { method: 'request_state' }));
    const update = t.sent.filter((s) => s.msgType === 'comm_msg').pop() as Published;
    const data = update.content.data as JSONObject;
    expect(data.method).to.equal('update');
    expect((data.state as JSONObject)._esm).to.equal(opened().state._esm);
    expect((data.state as JSONObject)._model_module).to.equal('anywidget');
  });

  it('hears a class click and answers a brush edit with its buffers, as on the labextension route', async () => {
    const w = await show({ frontEnd: 'anywidget' });
    runtime.comms.handle(frontendMessage(w.id, { method: 'update', state: { selected_class: [3, 8] }, buffer_paths: [] }));
    expect(w.selectedClass).to.deep.equal([3, 8]);
    const edited = Uint8Array.from(deer);
    edited.fill(128, 0, 3 * 32 * 8); // the top quarter greyed
    const content = { type: 'edit', request: 'any-1', image: 0, width: 32, height: 32 };
    runtime.comms.handle(frontendMessage(w.id, { method: 'custom', content }, [Buffer.from(edited)]));
    const until = Date.now() + 30_000;
    let answer: Published | undefined;
    while (!answer && Date.now() < until) {
      answer = t.sent.find((s) => s.msgType === 'comm_msg' && ((s.content.data as JSONObject).content as JSONObject | undefined)?.request === 'any-1');
      if (!answer) await new Promise((r) => setTimeout(r, 5));
    }
    const reply = ((answer as Published).content.data as JSONObject).content as unknown as GradCamReply;
    expect(reply.type).to.equal('image');
    const paths = (reply as Extract<GradCamReply, { type: 'image' }>).buffer_paths.map((p) => p.join('/'));
    const pixels = (answer as Published).buffers[paths.indexOf('pixels')];
    expect(Buffer.from(pixels).equals(Buffer.from(edited))).to.equal(true);
    expect(w.lastEdit?.from).to.equal('frontend');
  });

  it('takes the option over $GRADCAM_WIDGET, and refuses an unknown name saying what it expects', () => {
    expect(chosenFrontEnd(undefined, {})).to.equal('anywidget');
    expect(chosenFrontEnd(undefined, { GRADCAM_WIDGET: 'labextension' })).to.equal('labextension');
    expect(chosenFrontEnd('anywidget', { GRADCAM_WIDGET: 'labextension' })).to.equal('anywidget');
    expect(showGradCamIdentity(undefined, { GRADCAM_WIDGET: 'labextension' })._model_module).to.equal('gradcam-ts-widget');
    expect(() => chosenFrontEnd(undefined, { GRADCAM_WIDGET: 'lab' })).to.throw(/\$GRADCAM_WIDGET is "lab"; expected one of anywidget, labextension/);
    expect(() => chosenFrontEnd('vscode', {})).to.throw(/frontEnd option is "vscode"/);
  });

  it('names the missing module and both ways out when anywidget is asked for and not built', () => {
    expect(() => gradCamWidgetIdentity('anywidget', true)).to.not.throw();
    expect(() => gradCamAnywidget(path.join(os.tmpdir(), 'no-such-gradcam-build'))).to.throw(/index\.mjs is missing; build it with `npm run build:widget`, or .*frontEnd: 'labextension'.*GRADCAM_WIDGET=labextension/);
  });

  it('ships the module with the package (package.json files), where the kernel reads it', () => {
    const root = path.resolve(__dirname, '..', '..');
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { files: string[] };
    expect(pkg.files).to.include('widget/anywidget');
    expect(ANYWIDGET_BUNDLE_DIR).to.equal(path.join(root, 'widget', 'anywidget'));
  });

  it("declares the module version anywidget 0.11 itself declares (its Python package, when the Jupyter environment is made)", function () {
    if (!fs.existsSync(JUPYTER_PYTHON)) return this.skip();
    const r = spawnSync(JUPYTER_PYTHON, ['-c', 'from anywidget._version import _ANYWIDGET_SEMVER_VERSION as v; print(v)'], { encoding: 'utf8' });
    if (r.status !== 0) return this.skip(); // an environment from before anywidget was pinned
    expect(r.stdout.trim()).to.equal(ANYWIDGET_MODULE_VERSION);
  });
});

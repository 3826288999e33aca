/** The Grad-CAM widget's kernel side over a recording transport: state layout, buffers, display, sync. */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { KernelRuntime } from '../../src/jupyter/runtime';
import { GradCamWidget, showGradCam } from '../../src/gradcam-widget';
import { explain } from '../../src/cam';
import type { JSONObject, JupyterMessage } from '../../src/jupyter/wire';
import { frontendMessage, Recorder, type Published } from '../support/comm-recorder';
import { loadModel } from '../../src/model/io';
import { SHIPPED_MODEL_DIR } from '../../src/model/shipped';
import { readExamples } from '../../src/render/examples';
import { decodeImage } from '../../src/render';

function frontendUpdate(commId: string, state: JSONObject): JupyterMessage {
  return frontendMessage(commId, { method: 'update', state, buffer_paths: [] });
}

describe('showGradCam (kernel side of the widget)', function () {
  let model: tf.LayersModel;
  let t: Recorder;
  let runtime: KernelRuntime;
  let examples: Awaited<ReturnType<typeof readExamples>>;

  before(async () => {
    await initBackend({ quiet: true });
    model = await loadModel(SHIPPED_MODEL_DIR);
    examples = (await readExamples()).filter((e) => e.role === 'deer' || e.role === 'ship').slice(0, 2);
  });
  beforeEach(() => {
    t = new Recorder();
    runtime = new KernelRuntime(t);
  });
  after(() => model.dispose());

  const show = (extra = {}): Promise<GradCamWidget> =>
    showGradCam(model, examples.map((e) => e.pixels), {
      trueLabels: examples.map((e) => e.label), titles: examples.map((e) => `test #${e.testIndex}`), widget: { runtime }, ...extra,
    });

  it('opens one widget comm carrying every class map as binary buffers, not JSON numbers', async () => {
    const w = await show({ frontEnd: 'labextension' }); // the anywidget route adds its module (front-end.test.ts)
    const open = t.sent.find((s) => s.msgType === 'comm_open') as Published;
    const data = open.content.data as JSONObject;
    const state = data.state as JSONObject;
    expect(state._model_name).to.equal('GradCamModel');
    expect(state._view_module).to.equal('gradcam-ts-widget');
    expect(JSON.stringify(state).length, 'JSON part of the state').to.be.below(4000);
    const paths = (data.buffer_paths as (string | number)[][]).map((p) => p.join('/'));
    expect(paths).to.include.members(['images/0/pixels', 'images/1/maps/gradcam', 'images/0/maps/guided-gradcam', 'images/0/alphas', 'images/1/activations']);
    const byPath = new Map(paths.map((p, i) => [p, open.buffers[i]]));
    expect(byPath.get('images/0/pixels')?.byteLength).to.equal(32 * 32 * 3);
    expect(byPath.get('images/0/maps/gradcam')?.byteLength).to.equal(10 * 32 * 32 * 4);
    expect(byPath.get('images/0/maps/guided-gradcam')?.byteLength).to.equal(10 * 32 * 32 * 3 * 4);
    expect(byPath.get('images/0/alphas')?.byteLength).to.equal(10 * 128 * 4);
    expect(byPath.get('images/0/activations')?.byteLength).to.equal(8 * 8 * 128 * 4);
    // The shipped pixels travel unchanged, and the initial selection is the predicted class.
    expect(Buffer.from(byPath.get('images/1/pixels') as Buffer).equals(Buffer.from(examples[1].pixels))).to.equal(true);
    const probs = new Float32Array(new Uint8Array(byPath.get('images/0/probs') as Buffer).slice().buffer);
    expect(probs.reduce((a, b) => a + b, 0)).to.be.closeTo(1, 1e-4);
    expect(w.selectedClass[0]).to.equal(probs.indexOf(Math.max(...probs)));
    w.close();
  });

  it('displays the widget view with a PNG of its current state and a text fallback', async () => {
    const w = await show();
    const display = t.sent.find((s) => s.msgType === 'display_data') as Published;
    const bundle = display.content.data as JSONObject;
    expect((bundle['application/vnd.jupyter.widget-view+json'] as JSONObject).model_id).to.equal(w.id);
    expect(String(bundle['text/plain'])).to.match(/GradCamWidget[\s\S]*test #/);
    const png = await decodeImage(Buffer.from(String(bundle['image/png']), 'base64'));
    expect(png.height).to.be.above(2 * 128); // one figure row per image
    w.close();
  });

  it('hears the class the user picked in the browser, and can set one from kernel code', async () => {
    const w = await show();
    const heard: number[][] = [];
    w.on('change:selected_class', (v) => heard.push(v));
    const picked = w.waitFor('change:selected_class');
    runtime.comms.handle(frontendUpdate(w.id, { selected_class: [7, w.selectedClass[1]] }));
    expect(await picked).to.deep.equal([7, w.selectedClass[1]]);
    expect(heard).to.deep.equal([[7, w.selectedClass[1]]]);
    w.selectClass(2, 1);
    const update = t.sent.filter((s) => s.msgType === 'comm_msg').pop() as Published;
    expect(((update.content.data as JSONObject).state as JSONObject).selected_class).to.deep.equal([7, 2]);
    w.close();
  });

  it("rejects a front end's invalid values, keeps its own, tells the front end, and still takes the valid ones", async () => {
    const w = await show();
    const heard: unknown[] = [];
    w.on('change', (changed) => heard.push(changed));
    const kept = [...w.selectedClass];
    for (const bad of ['abc', [999, 0], [1], [1.5, 0], null]) {
      t.sent = [];
      runtime.comms.handle(frontendUpdate(w.id, { selected_class: bad as JSONObject['x'] }));
      expect(w.selectedClass, `selected_class = ${JSON.stringify(bad)}`).to.deep.equal(kept);
      const msgs = t.sent.map((s) => s.content.data as JSONObject);
      const echo = msgs.find((m) => m.method === 'echo_update');
      expect(echo?.state, 'the echo leaves the rejected field out').to.deep.equal({});
      const restore = msgs.find((m) => m.method === 'update');
      expect(restore?.state, 'the front end gets the kernel value back').to.deep.equal({ selected_class: kept });
    }
    runtime.comms.handle(frontendUpdate(w.id, { method: 'nonsense', opacity: 0.25 }));
    expect(w.get('method')).to.equal('gradcam');
    expect(w.get('opacity')).to.equal(0.25);
    runtime.comms.handle(frontendUpdate(w.id, { opacity: 7, colormap: 'rainbow', layer: 'conv1', class_names: ['a'] }));
    expect([w.get('opacity'), w.get('colormap'), w.get('layer')]).to.deep.equal([0.25, 'jet', 'conv6']);
    runtime.comms.handle(frontendUpdate(w.id, { method: 'guided-gradcam', colormap: 'viridis', selected_class: [3, 3] }));
    expect([w.get('method'), w.get('colormap'), w.selectedClass]).to.deep.equal(['guided-gradcam', 'viridis', [3, 3]]);
    expect(heard, 'listeners hear only accepted changes').to.deep.equal([{ opacity: 0.25 }, { method: 'guided-gradcam', colormap: 'viridis', selected_class: [3, 3] }]);
    w.close();
  });

  it("ships a map for every method asked for (the toggle offers exactly those), equal to explain()'s", async () => {
    const methods = ['layercam', 'eigencam', 'ablationcam'] as const;
    const w = await show({ methods: [...methods], method: 'layercam' });
    const open = t.sent.find((s) => s.msgType === 'comm_open') as Published;
    const paths = ((open.content.data as JSONObject).buffer_paths as (string | number)[][]).map((p) => p.join('/'));
    const offered = paths.filter((p) => p.startsWith('images/0/maps/')).map((p) => p.slice('images/0/maps/'.length)).sort();
    expect(offered).to.deep.equal(['ablationcam', 'eigencam', 'gradcam', 'guided-gradcam', 'layercam']);
    const layercam = open.buffers[paths.indexOf('images/1/maps/layercam')];
    const shipped = new Float32Array(new Uint8Array(layercam).slice().buffer);
    const direct = explain(model, examples.map((e) => e.pixels), { method: 'layercam', target: 'all' });
    const ship = direct.images[1].classes.map((c) => Array.from(c.heatmap)).flat();
    expect(shipped.length).to.equal(ship.length);
    // Within float rounding: the widget's calls batch the images differently, and a layer's convolution
    // kernel and SGEMM blocking follow the batch's size.
    for (let i = 0; i < ship.length; i += 97) expect(shipped[i]).to.be.closeTo(ship[i], 1e-5);
    runtime.comms.handle(frontendUpdate(w.id, { method: 'eigencam' }));
    expect(w.get('method')).to.equal('eigencam');
    runtime.comms.handle(frontendUpdate(w.id, { method: 'scorecam' }));
    expect(w.get('method'), 'a method that was not computed is rejected').to.equal('eigencam');
    w.close();
  });

  it('rejects a method it was not asked to compute, and leaks no tensors', async () => {
    let error: Error | undefined;
    await show({ method: 'scorecam' }).catch((e: Error) => (error = e));
    expect(error?.message).to.match(/'scorecam' is not among the computed methods/);
    (await show()).close();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) (await show()).close();
    expect(tf.memory().numTensors).to.equal(before);
  });
});

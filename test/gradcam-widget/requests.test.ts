/**
 * The widget's questions to the kernel (occlusion edits, added images, resets, layer changes)
 * through the comm layer, no browser: each answer equals what explain() says of the same pixels,
 * bad requests get named errors and leave the widget working, newer requests supersede waiting
 * ones, and nothing grows over 500 edits.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { KernelRuntime } from '../../src/jupyter/runtime';
import { GradCamWidget, showGradCam, type GradCamEdit } from '../../src/gradcam-widget';
import { putBuffers } from '../../src/jupyter/buffers';
import { MAX_UPLOAD_BYTES, type GradCamReply, type GradCamState } from '../../src/shared/gradcam-schema';
import { explain } from '../../src/cam';
import type { JSONObject, JupyterMessage } from '../../src/jupyter/wire';
import { frontendMessage, Recorder, type Published } from '../support/comm-recorder';
import { loadModel } from '../../src/model/io';
import { SHIPPED_MODEL_DIR } from '../../src/model/shipped';
import { readExamples } from '../../src/render/examples';
import { encodePng, gradientImage, readImageForModel } from '../../src/render';
import { maxAbs } from '../support/cam-fixtures';
import { rejection } from '../support/setup';

function customMessage(commId: string, content: JSONObject, buffers: Buffer[] = []): JupyterMessage {
  return frontendMessage(commId, { method: 'custom', content }, buffers);
}

function float32(b: unknown): Float32Array {
  const u = b as Uint8Array;
  return new Float32Array(new Uint8Array(u.buffer, u.byteOffset, u.byteLength).slice().buffer);
}

describe('the Grad-CAM widget answering its own questions (kernel handlers, no browser)', function () {
  this.timeout(120_000);
  let model: tf.LayersModel;
  let t: Recorder;
  let runtime: KernelRuntime;
  let deer: Uint8Array;
  let ship: Uint8Array;

  before(async () => {
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
  after(() => model.dispose());

  const show = (extra = {}): Promise<GradCamWidget> =>
    showGradCam(model, [deer, ship], { titles: ['deer', 'ship'], trueLabels: [4, 8], widget: { runtime }, ...extra });

  /** Custom replies the kernel sent so far (with their buffers). */
  const replies = (): { reply: GradCamReply; buffers: Buffer[] }[] =>
    t.sent
      .filter((s) => s.msgType === 'comm_msg' && (s.content.data as JSONObject).method === 'custom')
      .map((s) => ({ reply: (s.content.data as JSONObject).content as unknown as GradCamReply, buffers: s.buffers }));

  /** Sends a request and resolves with the kernel's answer to it (after the queue ran). */
  async function ask(w: GradCamWidget, content: JSONObject, buffers: Buffer[] = []): Promise<{ reply: GradCamReply; buffers: Buffer[] }> {
    runtime.comms.handle(customMessage(w.id, content, buffers));
    const until = Date.now() + 30_000;
    while (Date.now() < until) {
      const found = replies().find((r) => r.reply.request === content.request && r.reply.type !== 'superseded' && r.reply.type !== 'maps');
      if (found) return found;
      await new Promise((r) => setImmediate(r));
    }
    throw new Error(`no answer to ${JSON.stringify(content)}: ${JSON.stringify(t.sent.filter((s) => s.msgType !== "comm_open").map((s) => s.content).slice(-3)).slice(0, 1500)}`);
  }

  async function waitFor<T>(found: () => T | undefined): Promise<T> {
    const until = Date.now() + 30_000;
    for (let f = found(); Date.now() < until; f = found()) {
      if (f !== undefined) return f;
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error('not found within 30 s');
  }

  /** The entry of an 'image' reply with its buffers put back. */
  function entryOf(answer: { reply: GradCamReply; buffers: Buffer[] }): GradCamState['images'][number] {
    const r = answer.reply as Extract<GradCamReply, { type: 'image' }>;
    return putBuffers(JSON.parse(JSON.stringify(r.entry)) as JSONObject, r.buffer_paths, answer.buffers) as unknown as GradCamState['images'][number];
  }

  /** A PNG whose chunks are intact but whose compressed pixels are garbage. */
  function corruptPng(): Buffer {
    const png = Buffer.from(encodePng({ width: 40, height: 40, data: new Uint8ClampedArray(40 * 40 * 3).map((_, i) => i % 251) }));
    const idat = png.indexOf('IDAT');
    for (let i = idat + 6; i < idat + 40; i++) png[i] ^= 0x5a;
    return png;
  }

  function covered(pixels: Uint8Array, x0: number, y0: number, x1: number, y1: number): Uint8Array {
    const out = Uint8Array.from(pixels);
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) out.set([128, 128, 128], 3 * (y * 32 + x));
    return out;
  }

  it('explains an edited image exactly as explain() explains the same pixels, and tells notebook code', async () => {
    const w = await show();
    const heard: GradCamEdit[] = [];
    w.on('edit', (e) => heard.push(e));
    const edited = covered(deer, 8, 0, 24, 16);
    const answer = await ask(w, { type: 'edit', request: 'r1', image: 0, width: 32, height: 32 }, [Buffer.from(edited)]);
    expect(answer.reply.type).to.equal('image');
    const entry = entryOf(answer);
    const direct = explain(model, [edited], { target: 'all' });
    const counterfactual = explain(model, [edited], { target: 'all', method: 'counterfactual' });
    expect(Buffer.from(entry.pixels as Uint8Array).equals(Buffer.from(edited))).to.equal(true);
    expect(Array.from(float32(entry.probs))).to.deep.equal(Array.from(direct.images[0].probabilities));
    expect(Array.from(float32(entry.maps.gradcam))).to.deep.equal(direct.images[0].classes.flatMap((c) => Array.from(c.heatmap)));
    expect(Array.from(float32(entry.maps.counterfactual))).to.deep.equal(counterfactual.images[0].classes.flatMap((c) => Array.from(c.heatmap)));
    expect(Array.from(float32(entry.alphas))).to.deep.equal(direct.images[0].classes.flatMap((c) => Array.from(c.weights)));
    expect(entry.origin).to.equal('edited');
    // "before -> after": the unedited image's probabilities travel with the edit.
    // (Explained in a batch of two at first: BLAS kernels may round a batch of two differently from one.)
    const original = explain(model, [deer], { target: 'all' }).images[0].probabilities;
    expect(maxAbs(float32(entry.original_probs), original)).to.be.below(1e-6);
    // The kernel's state holds the same entry (what request_state and a saved notebook get).
    expect(Buffer.from(w.get('images')[0].pixels as Uint8Array).equals(Buffer.from(edited))).to.equal(true);
    expect(heard).to.have.length(1);
    expect(heard[0]).to.include({ kind: 'edit', image: 0, from: 'frontend', originalClass: 4, className: 'deer' });
    expect(heard[0].before).to.equal(original[4]);
    expect(heard[0].after).to.equal(direct.images[0].probabilities[4]);
    expect(w.lastEdit).to.equal(heard[0]);
    expect(w.explanation(0).images[0].classes[4].heatmap).to.deep.equal(direct.images[0].classes[4].heatmap);
    // The guided maps follow in a second message: explain()'s Guided Grad-CAM of every class, each
    // scaled for display as gradientImage scales it (0..255 -> 0..1).
    const maps = await waitFor(() => replies().find((r) => r.reply.request === 'r1' && r.reply.type === 'maps'));
    const m = maps.reply as Extract<GradCamReply, { type: 'maps' }>;
    const guided = putBuffers(JSON.parse(JSON.stringify(m.maps)) as JSONObject, m.buffer_paths, maps.buffers) as unknown as Record<string, Uint8Array>;
    const shown = explain(model, [edited], { target: 'all', guided: true }).images[0].classes
      .flatMap((c) => Array.from(gradientImage(c.guidedGradCam as Float32Array, 32, 32, 3).data, (v) => v / 255));
    expect(maxAbs(float32(guided['guided-gradcam']), shown)).to.be.below(1e-6);
    expect(maxAbs(float32(w.get('images')[0].maps['guided-gradcam']), shown)).to.be.below(1e-6);
    expect(w.explanation(0).images[0].classes[4].guidedGradCam, 'the explanation now carries guided backprop').to.be.instanceOf(Float32Array);
    w.close();
  });

  it('drops edits still waiting when a newer one for the same image arrives (superseded, never answered with a map)', async () => {
    const w = await show();
    const edits = [covered(deer, 0, 0, 8, 8), covered(deer, 0, 0, 16, 16), covered(deer, 0, 0, 24, 24)];
    edits.forEach((px, i) => runtime.comms.handle(customMessage(w.id, { type: 'edit', request: `s${i}`, image: 0, width: 32, height: 32 }, [Buffer.from(px)])));
    runtime.comms.handle(customMessage(w.id, { type: 'edit', request: 'other', image: 1, width: 32, height: 32 }, [Buffer.from(ship)]));
    const last = await ask(w, { type: 'reset', request: 'noop-wait', image: 1 });
    expect(last.reply.type).to.equal('image');
    const got = replies().filter((r) => r.reply.type !== 'maps').map((r) => `${r.reply.request}:${r.reply.type}`);
    // Superseded at once (when the newer request arrives); only the newest of each image is explained.
    expect(got).to.deep.equal(['s0:superseded', 's1:superseded', 'other:superseded', 's2:image', 'noop-wait:image']);
    const s2 = entryOf(replies().filter((r) => r.reply.type !== 'maps')[3]);
    expect(Buffer.from(s2.pixels as Uint8Array).equals(Buffer.from(edits[2]))).to.equal(true);
    w.close();
  });

  it('answers a bad request with a named error, and the widget keeps working', async () => {
    const w = await show();
    const cases: [JSONObject, Buffer[], RegExp][] = [
      [{ type: 'edit', request: 'b1', image: 0, width: 32, height: 32 }, [Buffer.alloc(100)], /has 100 bytes; a 32x32 RGB image has 3072/],
      [{ type: 'edit', request: 'b2', image: 0, width: 64, height: 64 }, [Buffer.alloc(64 * 64 * 3)], /edited image is 64x64; this model takes 32x32/],
      [{ type: 'edit', request: 'b3', image: 0, width: 32, height: 32 }, [], /has 0 bytes/],
      [{ type: 'edit', request: 'b4', image: 7, width: 32, height: 32 }, [Buffer.from(deer)], /image 7 is not an image index 0\.\.1/],
      [{ type: 'layer', request: 'b5', layer: 'dense' }, [], /layer "dense" is not one of the offered layers/],
      [{ type: 'paint', request: 'b6' }, [], /unknown request type "paint"/],
      [{ type: 'add', request: 'b7', name: 'notes.txt' }, [Buffer.from('hello, not an image')], /notes\.txt is not a PNG, JPEG or GIF image \(it starts with "hello, n"\)/],
      [{ type: 'add', request: 'b8', name: 'huge.png' }, [Buffer.alloc(MAX_UPLOAD_BYTES + 1)], /huge\.png is 8\.0 MB; the widget takes images up to 8 MB/],
      [{ type: 'add', request: 'b9', name: 'cut.png' }, [encodePng({ width: 40, height: 40, data: new Uint8ClampedArray(40 * 40 * 3).fill(90) }).subarray(0, 60)], /cut\.png is a truncated PNG \(60 bytes, its end marker is missing\)/],
      [{ type: 'add', request: 'b10', name: 'noise.png' }, [corruptPng()], /noise\.png has a PNG header but its data cannot be decoded \(truncated or corrupt\)/],
    ];
    for (const [content, buffers, message] of cases) {
      const answer = await ask(w, content, buffers);
      expect(answer.reply.type, JSON.stringify(content)).to.equal('error');
      expect((answer.reply as { message: string }).message).to.match(message);
    }
    expect(w.get('images')).to.have.length(2);
    const ok = await ask(w, { type: 'edit', request: 'fine', image: 1, width: 32, height: 32 }, [Buffer.from(covered(ship, 0, 0, 4, 4))]);
    expect(ok.reply.type).to.equal('image');
    w.close();
  });

  it('adds a dropped image file as a new panel, resized with readImageForModel, selecting its prediction', async () => {
    const w = await show();
    const big = new Uint8ClampedArray(64 * 64 * 3);
    for (let p = 0; p < 64 * 64; p++) big.set([deer[3 * ((p >> 7) * 32 + ((p & 63) >> 1))], deer[3 * ((p >> 7) * 32 + ((p & 63) >> 1)) + 1], deer[3 * ((p >> 7) * 32 + ((p & 63) >> 1)) + 2]], 3 * p);
    const png = encodePng({ width: 64, height: 64, data: big });
    const answer = await ask(w, { type: 'add', request: 'a1', name: 'my-deer.png' }, [png]);
    const reply = answer.reply as Extract<GradCamReply, { type: 'image' }>;
    expect(reply.image).to.equal(2);
    const entry = entryOf(answer);
    const expected = await readImageForModel(png, 32, 32);
    expect(Buffer.from(entry.pixels as Uint8Array).equals(Buffer.from(expected.pixels))).to.equal(true);
    expect(entry.title).to.equal('my-deer.png (64x64)');
    expect(entry.origin).to.equal('added');
    const direct = explain(model, [expected.pixels], { target: 'all' });
    expect(Array.from(float32(entry.probs))).to.deep.equal(Array.from(direct.images[0].probabilities));
    expect(reply.selected_class).to.equal(direct.images[0].predicted);
    expect(w.selectedClass).to.have.length(3);
    expect(w.get('images')).to.have.length(3);
    // The PNG fallback now has a row for it too.
    expect(String(w.mimeBundle()['text/plain'])).to.match(/my-deer\.png \(64x64\)/);
    w.close();
  });

  it('re-explains every image at the chosen layer (a state update with the new resolution), and resets an edit', async () => {
    const w = await show();
    const layers = w.get('layers');
    expect(layers[0]).to.equal(w.get('layer'));
    const earlier = layers.find((name) => {
      const shape = model.getLayer(name).outputShape as number[];
      return shape[1] === 16;
    }) as string;
    expect(earlier, `a 16x16 layer among ${layers.join(', ')}`).to.be.a('string');
    await ask(w, { type: 'edit', request: 'e', image: 0, width: 32, height: 32 }, [Buffer.from(covered(deer, 0, 0, 10, 10))]);
    t.sent = [];
    const done = await ask(w, { type: 'layer', request: 'L', layer: earlier });
    expect(done.reply.type).to.equal('done');
    const update = t.sent.find((s) => (s.content.data as JSONObject).method === 'update') as Published;
    expect(((update.content.data as JSONObject).state as JSONObject).layer).to.equal(earlier);
    expect(w.get('layer')).to.equal(earlier);
    expect(w.get('images').map((im) => [im.map_height, im.map_width])).to.deep.equal([[16, 16], [16, 16]]);
    const direct = explain(model, [w.pixels(0)], { target: 'all', layer: earlier });
    // Re-explained as a batch of two (BLAS may round it differently from a batch of one).
    expect(maxAbs(float32(w.get('images')[0].maps.gradcam), Float32Array.from(direct.images[0].classes.flatMap((c) => Array.from(c.heatmap))))).to.be.below(1e-5);
    // Undo back to the given pixels is recognised as the image as given, not as an edit.
    const undone = entryOf(await ask(w, { type: 'edit', request: 'U', image: 1, width: 32, height: 32 }, [Buffer.from(ship)]));
    expect(undone.origin).to.equal('given');
    const reset = entryOf(await ask(w, { type: 'reset', request: 'R', image: 0 }));
    expect(Buffer.from(reset.pixels as Uint8Array).equals(Buffer.from(deer))).to.equal(true);
    expect([reset.map_height, reset.origin]).to.deep.equal([16, 'given']);
    w.close();
  });

  it('lets notebook code do what the brush does (occlude, reset, add, setLayer), with named errors', async () => {
    const w = await show({ display: false });
    const e = await w.occlude(0, { x: 8, y: 0, width: 16, height: 16 });
    expect(Buffer.from(e.pixels).equals(Buffer.from(covered(deer, 8, 0, 24, 16)))).to.equal(true);
    expect(e).to.include({ kind: 'edit', from: 'kernel', className: 'deer' });
    const kernelReply = replies().pop()?.reply as Extract<GradCamReply, { type: 'image' }>;
    expect([kernelReply.type, kernelReply.image]).to.deep.equal(['image', 0]);
    expect((await w.resetImage(0)).after).to.equal(e.before);
    expect((await rejection(w.editImage(0, [1, 2, 3]))).message).to.match(/got 3 values; the model takes 32x32 RGB images \(3072 bytes, HWC\)/);
    expect((await rejection(w.occlude(5, { x: 0, y: 0, width: 2, height: 2 }))).message).to.match(/image 5 does not exist; this widget has images 0\.\.1/);
    expect((await rejection(w.setLayer('nope'))).message).to.match(/setLayer: layer "nope" is not one of the offered layers/);
    expect((await rejection(w.addImage('/no/such.png'))).message).to.match(/Image file \/no\/such\.png does not exist/);
    w.close();
  });

  it('answers nothing when made with interactive: false (no layers offered)', async () => {
    const w = await show({ interactive: false });
    expect([w.get('interactive'), w.get('layers')]).to.deep.equal([false, []]);
    runtime.comms.handle(customMessage(w.id, { type: 'reset', request: 'x', image: 0 }));
    await new Promise((r) => setTimeout(r, 50));
    expect(replies()).to.deep.equal([]);
    w.close();
  });

  it('keeps tensors and memory flat over 500 edits', async () => {
    const w = await show({ methods: ['gradcam'] });
    const edit = (i: number): Promise<unknown> =>
      ask(w, { type: 'edit', request: `m${i}`, image: i % 2, width: 32, height: 32 }, [Buffer.from(covered(i % 2 ? ship : deer, i % 24, i % 20, (i % 24) + 8, (i % 20) + 8))]);
    for (let i = 0; i < 20; i++) await edit(i); // warm-up: caches, pools
    global.gc?.();
    const tensors = tf.memory().numTensors;
    const rss = process.memoryUsage().rss;
    for (let i = 20; i < 520; i++) {
      await edit(i);
      if (i % 50 === 0) t.sent = []; // the recorder, not the kernel, would otherwise hold every reply
    }
    global.gc?.();
    const grown = (process.memoryUsage().rss - rss) / 1024 / 1024;
    console.log(`      500 edits: tensors ${tensors} -> ${tf.memory().numTensors}, RSS ${grown >= 0 ? '+' : ''}${grown.toFixed(1)} MB`);
    expect(tf.memory().numTensors).to.equal(tensors);
    expect(grown, 'RSS growth over 500 edits (MB)').to.be.below(60);
    w.close();
  });
});

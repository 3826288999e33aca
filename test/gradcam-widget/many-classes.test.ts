/**
 * Models with many classes (ImageNet's 1000): the engine's { top: k } target and the widget
 * shipping maps for each image's k most probable classes only, named by map_classes.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { explain } from '../../src/cam';
import { planRows } from '../../src/cam/targets';
import { KernelRuntime } from '../../src/jupyter/runtime';
import { showGradCam } from '../../src/gradcam-widget';
import { decodeImage } from '../../widget/src/decode';
import { alphaBars, classMap } from '../../widget/src/derive';
import type { ImageEntry } from '../../src/shared/gradcam-schema';
import { frontendMessage, Recorder } from '../support/comm-recorder';
import { maxAbs, randomArray, seeded } from '../support/cam-fixtures';
import { rejection } from '../support/setup';

const CLASSES = 30;

/** conv 3x3 -> GAP -> dense with 30 classes, random weights. */
function manyClassNet(): tf.LayersModel {
  const model = tf.sequential({ name: 'many_classes' });
  model.add(tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', name: 'features', kernelInitializer: tf.initializers.randomNormal({ seed: 3 }) }));
  model.add(tf.layers.globalAveragePooling2d({ name: 'gap' }));
  model.add(tf.layers.dense({ units: CLASSES, name: 'scores', kernelInitializer: tf.initializers.randomNormal({ seed: 4 }) }));
  return model;
}

/** A classifier output of CLASSES logits, as a split describes it. */
const CLASS_OUTPUT = { output: { name: 'logits', shape: [CLASSES], activation: 'linear' as const, kind: 'classes' as const } };

describe('many classes: top-k targets and a widget that ships the top classes only', () => {
  let model: tf.LayersModel;
  let images: Float32Array[];
  before(async () => {
    await initBackend({ quiet: true });
    model = manyClassNet();
    images = [randomArray(8 * 8 * 3, seeded(1), 100).map((v) => Math.abs(v)), randomArray(8 * 8 * 3, seeded(2), 100).map((v) => Math.abs(v))];
  });
  after(() => model.dispose());

  it('{ top: k } explains each image\'s k best classes, best first, equal to the same rows of "all"', () => {
    const top = explain(model, images, { target: { top: 4 } });
    const all = explain(model, images, { target: 'all' });
    top.images.forEach((im, i) => {
      const order = Array.from(im.logits.keys()).sort((a, b) => im.logits[b] - im.logits[a]);
      expect(im.classes.map((c) => c.classIndex)).to.deep.equal(order.slice(0, 4));
      for (const cl of im.classes) {
        const ref = all.images[i].classes[cl.classIndex];
        expect(maxAbs(cl.heatmap, ref.heatmap)).to.be.below(1e-6);
        expect(maxAbs(cl.weights, ref.weights)).to.be.below(1e-6);
      }
    });
    expect(planRows({ top: 50 }, 1, CLASS_OUTPUT).rowImage.length, 'k above the class count: every class').to.equal(CLASSES);
    expect(() => planRows({ top: 0 }, 1, CLASS_OUTPUT)).to.throw(/target \{ top: 0 \}: give a whole number of classes, 1 or more/);
    expect(() => explain(model, images, { target: { top: 2 }, augSmooth: true })).to.throw(/augSmooth .* not \{ top \}/);
  });

  it('showGradCam ships maps and alphas of the top maxClasses classes, named by map_classes, and the browser finds them', async () => {
    const t = new Recorder();
    const runtime = new KernelRuntime(t);
    const w = await showGradCam(model, images, { maxClasses: 5, widget: { runtime } });
    const entry = w.get('images')[1] as ImageEntry;
    const mapClasses = Array.from(entry.map_classes as Int32Array);
    const probs = entry.probs as Float32Array;
    const order = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a]);
    expect(mapClasses).to.deep.equal(order.slice(0, 5));
    expect((entry.maps.gradcam as Float32Array).length).to.equal(5 * 8 * 8);
    expect((entry.maps['guided-gradcam'] as Float32Array).length).to.equal(5 * 8 * 8 * 3);
    expect((entry.alphas as Float32Array).length).to.equal(5 * 6);
    expect(w.selectedClass[1]).to.equal(order[0]);
    // The browser's decoding and lookups: class c's map is row map_classes.indexOf(c).
    const decoded = decodeImage(entry);
    const all = explain(model, [w.pixels(1)], { target: 'all' }).images[0]; // the widget's own bytes
    const c = order[2];
    expect(maxAbs(classMap(decoded.maps.gradcam, decoded, c, 1) as Float32Array, all.classes[c].heatmap)).to.be.below(1e-6);
    expect(alphaBars(decoded, c).map((b) => b.channel).sort()).to.deep.equal([0, 1, 2, 3, 4, 5]);
    const unexplained = order[20];
    expect(classMap(decoded.maps.gradcam, decoded, unexplained, 1)).to.equal(undefined);
    expect(alphaBars(decoded, unexplained)).to.deep.equal([]);
    // Selecting a class without a map is allowed (its probability is shown); the PNG falls back to the best one.
    w.selectClass(unexplained, 1);
    expect(String(w.mimeBundle()['text/plain'])).to.match(/image 2: class \d+/);
    // An edited image's answer names its own top classes.
    const edited = await w.editImage(0, Array.from(images[1], (v) => Math.min(255, v)));
    expect(Array.from((w.get('images')[0] as ImageEntry).map_classes as Int32Array)).to.deep.equal(edited.explanation.images[0].classes.map((cl) => cl.classIndex));
    // The browser asks for a class it has no map of: the kernel appends it (guided maps included).
    const asked = edited.explanation.images[0].classes.map((cl) => cl.classIndex);
    const extra = Array.from({ length: CLASSES }, (_, k) => k).find((k) => !asked.includes(k)) as number;
    await new Promise((r) => setTimeout(r, 50)); // the edit's guided maps arrive
    t.sent = [];
    runtime.comms.handle(frontendMessage(w.id, { method: 'custom', content: { type: 'class', request: 'c1', image: 0, class: extra } }));
    while (!t.sent.some((m) => ((m.content.data as { content?: { request?: string } }).content?.request === 'c1'))) await new Promise((r) => setTimeout(r, 5));
    const grown = w.get('images')[0] as ImageEntry;
    const rows = Array.from(grown.map_classes as Int32Array);
    expect(rows).to.deep.equal([...asked, extra]);
    const direct = explain(model, [w.pixels(0)], { target: 'all', guided: true }).images[0].classes[extra];
    const decodedGrown = decodeImage(grown);
    expect(maxAbs(classMap(decodedGrown.maps.gradcam, decodedGrown, extra, 1) as Float32Array, direct.heatmap)).to.be.below(1e-6);
    expect((grown.maps['guided-gradcam'] as Float32Array).length).to.equal(rows.length * 8 * 8 * 3);
    expect((grown.alphas as Float32Array).length).to.equal(rows.length * 6);
    expect(w.explanation(0).images[0].classes.map((cl) => cl.classIndex)).to.deep.equal(rows);
    w.close();
    const small = await showGradCam(model, images, { maxClasses: 30, display: false, widget: { runtime: new KernelRuntime(new Recorder()) } });
    expect((small.get('images')[0] as ImageEntry).map_classes, 'every class: no map_classes').to.equal(undefined);
    small.close();
    expect((await rejection(showGradCam(model, images, { maxClasses: 0, widget: { runtime: new KernelRuntime(new Recorder()) } }))).message).to.match(/maxClasses must be a whole number/);
  });
});

/**
 * The faithfulness metrics and the trust report score any target, not only a class probability
 * (issue 21): on Keras-converted models, a regressor's value and a segmenter's class over the mask
 * its unperturbed image predicted. Each curve point is checked against the model's own output on
 * the same perturbed pixels, computed here by hand (model.predict, a per-pixel softmax).
 */
import { expect } from 'chai';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { explain } from '../../src/cam';
import { loadExplainableModel } from '../../src/cli/load';
import { confidenceChange, deletionInsertion, heatmapsOf, probabilityScorer, trustReport } from '../../src/metrics';
import { KERAS_TARGET_FIXTURES, readTargetFixture } from '../support/keras-target-fixture';

async function layersModel(name: string): Promise<tf.LayersModel> {
  return (await loadExplainableModel(path.join(KERAS_TARGET_FIXTURES, name, 'layers'))).model as tf.LayersModel;
}

function imagesOf(name: string, count: number): tf.Tensor4D {
  const f = readTargetFixture(name);
  const n = Math.min(count, f.numImages);
  return tf.tensor4d(Float32Array.from(f.pixels.subarray(0, n * f.inputShape.reduce((a, b) => a * b, 1))), [n, ...f.inputShape]);
}

describe('metrics: any target (Keras-converted regressor and segmenter)', function () {
  this.timeout(120_000);
  before(() => initBackend({ quiet: true }));

  it("confidence change of a regression value: y and o are the model's outputs on the image and on image x map", async () => {
    const model = await layersModel('regression_cnn');
    const images = imagesOf('regression_cnn', 2);
    const before = tf.memory().numTensors;
    const e = explain(model, images, { target: 'predicted' });
    expect(e.output.kind).to.equal('regression');
    const maps = heatmapsOf(e);
    const classes = e.images.map((im) => im.classes[0].resolved);
    const got = confidenceChange(probabilityScorer(model), { images, maps, classes });
    const byHand = (x: tf.Tensor4D): Float32Array => tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array);
    const y = byHand(images);
    const o = tf.tidy(() => byHand(tf.mul(images, tf.expandDims(maps, 3)) as tf.Tensor4D));
    for (let i = 0; i < 2; i++) {
      expect(got.full[i], `image ${i}`).to.be.closeTo(y[i], 1e-4 * Math.max(1, Math.abs(y[i])));
      expect(got.masked[i], `image ${i}`).to.be.closeTo(o[i], 1e-4 * Math.max(1, Math.abs(o[i])));
    }
    maps.dispose();
    expect(tf.memory().numTensors).to.equal(before);
    tf.dispose([images]);
    model.dispose();
  });

  it("deletion of a segmenter's class: every point is its mean probability over the unperturbed image's mask", async () => {
    const model = await layersModel('segmentation');
    const images = imagesOf('segmentation', 2);
    const e = explain(model, images, { target: 'predicted' });
    const maps = heatmapsOf(e);
    const classes = e.images.map((im) => im.classes[0].resolved);
    const got = deletionInsertion(probabilityScorer(model), { images, maps, classes }, { mode: 'deletion', steps: 4, baseline: { kind: 'constant', value: [127, 127, 127] } });
    // By hand: the first point is the image itself, the last the grey baseline; the value is the
    // class's softmax probability averaged over the mask the unperturbed image predicted.
    const probs = (x: tf.Tensor4D): Float32Array => tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array);
    const grey = probs(tf.fill([1, 32, 32, 3], 127) as tf.Tensor4D);
    const own = probs(images);
    e.images.forEach((im, i) => {
      const cl = im.classes[0];
      const mask = cl.region?.mask?.data as Float32Array;
      const meanOver = (p: Float32Array, offset: number): number => {
        let s = 0;
        let k = 0;
        mask.forEach((m, px) => {
          if (m) [s, k] = [s + p[offset + px * 3 + cl.classIndex], k + 1];
        });
        return s / k;
      };
      expect(got.curves[i][0], `image ${i}, nothing deleted`).to.be.closeTo(meanOver(own, i * 32 * 32 * 3), 1e-5);
      expect(got.curves[i][4], `image ${i}, all deleted`).to.be.closeTo(meanOver(grey, 0), 1e-5);
      expect(got.curves[i][0]).to.be.closeTo(cl.probability, 1e-5);
    });
    tf.dispose([images, maps]);
    model.dispose();
  });

  it('the trust report runs on a regressor: every method scored, randomisation included, all numbers finite', async () => {
    const model = await layersModel('regression_cnn');
    const images = imagesOf('regression_cnn', 2);
    const report = await trustReport(model, images, { methods: ['gradcam', 'randomcam'], steps: 4, randomisationImages: 2, roadPercentiles: [50] });
    expect(report.methods.map((m) => m.method)).to.deep.equal(['gradcam', 'randomcam']);
    for (const m of report.methods) {
      for (const v of [m.deletionAuc, m.insertionAuc, m.roadCombined, m.randomisedSpearman]) expect(Number.isFinite(v), `${m.method}: ${v}`).to.equal(true);
    }
    images.dispose();
    model.dispose();
  });
});

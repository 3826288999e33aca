import { expect } from 'chai';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { explain } from '../../src/cam';
import { loadModel } from '../../src/model/io';
import { readExamples } from '../../src/render/examples';
import {
  baselineImages, confidenceChange, deletionInsertion, modelRandomisation, noisyLinearImpute, percentile,
  probabilityScorer, road, roadRemoved, spearman, ssim, trapezoidAuc,
} from '../../src/metrics';
import { camNet, maxAbs, randomArray, seeded } from '../support/cam-fixtures';
import { REPO_ROOT } from '../support/setup';

/** 1x1 identity conv ('features', so the cam room can split) -> flatten -> dense with given class-0 weights; class 1 scores 0. */
function linearModel(size: number, weights0: number[], bias0: number): tf.LayersModel {
  const model = tf.sequential({ name: `linear_${size}` });
  model.add(tf.layers.conv2d({ inputShape: [size, size, 1], filters: 1, kernelSize: 1, name: 'features', useBias: false }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: 2, name: 'scores' }));
  tf.tidy(() => model.setWeights([
    tf.ones([1, 1, 1, 1]),
    tf.tensor2d(weights0.flatMap((w) => [w, 0]), [size * size, 2]),
    tf.tensor1d([bias0, 0]),
  ]));
  return model;
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

describe('metrics: deletion, insertion, ROAD, confidence change, randomisation', () => {
  before(async () => {
    await initBackend({ quiet: true });
  });

  describe('hand-computed values on a 2x2 linear model', () => {
    const w = [0.5, -0.25, 0.75, 0.1];
    const x = [1, 2, 3, 4];
    const map = [0.1, 0.9, 0.5, 0.3]; // order: pixel 1, 2, 3, 0
    const order = [1, 2, 3, 0];
    let model: tf.LayersModel;
    before(() => {
      model = linearModel(2, w, 0.2);
    });
    after(() => model.dispose());

    for (const mode of ['deletion', 'insertion'] as const) {
      it(`${mode}: p(class 0) after each pixel in the map's order, and the trapezoid AUC`, () => {
        const images = tf.tensor4d(x, [1, 2, 2, 1]);
        const maps = tf.tensor3d(map, [1, 2, 2]);
        const got = deletionInsertion(probabilityScorer(model), { images, maps, classes: [0] }, { mode, steps: 4, baseline: { kind: 'constant', value: [0.5] } });
        const expected = [0, 1, 2, 3, 4].map((s) => {
          const shown = x.map((v, p) => {
            const affected = order.indexOf(p) < s;
            return mode === 'deletion' ? (affected ? 0.5 : v) : (affected ? v : 0.5);
          });
          return sigmoid(0.2 + shown.reduce((acc, v, p) => acc + w[p] * v, 0));
        });
        expect(maxAbs(got.curves[0], expected)).to.be.below(1e-6);
        const auc = (expected[0] / 2 + expected[1] + expected[2] + expected[3] + expected[4] / 2) / 4;
        expect(got.auc[0]).to.be.closeTo(auc, 1e-6);
        expect(Array.from(got.fractions)).to.deep.equal([0, 0.25, 0.5, 0.75, 1]);
        tf.dispose([images, maps]);
      });
    }

    it('confidence change: o = p(image x map), drop = max(0, y - o) / y in percent', () => {
      const images = tf.tensor4d(x, [1, 2, 2, 1]);
      const maps = tf.tensor3d(map, [1, 2, 2]);
      const got = confidenceChange(probabilityScorer(model), { images, maps, classes: [0] });
      const y = sigmoid(0.2 + x.reduce((s, v, p) => s + w[p] * v, 0));
      const o = sigmoid(0.2 + x.reduce((s, v, p) => s + w[p] * v * map[p], 0));
      expect(got.full[0]).to.be.closeTo(y, 1e-6);
      expect(got.masked[0]).to.be.closeTo(o, 1e-6);
      expect(got.averageDrop).to.be.closeTo((100 * Math.max(0, y - o)) / y, 1e-4);
      expect(got.increaseInConfidence).to.equal(o > y ? 100 : 0);
      tf.dispose([images, maps]);
    });

    it('trapezoid AUC of a straight line from 1 to 0 is 1/2', () => {
      expect(trapezoidAuc([1, 0.75, 0.5, 0.25, 0])).to.be.closeTo(0.5, 1e-12);
    });
  });

  describe('ROAD building blocks', () => {
    const img = [1, 2, 3, 4, 5, 6, 7, 8, 9]; // 3x3, one channel

    it('a removed centre becomes the 1/6 (direct) + 1/12 (diagonal) weighted mean of its 8 neighbours', () => {
      const got = noisyLinearImpute(img, 3, 3, 1, [0, 0, 0, 0, 1, 0, 0, 0, 0]);
      expect(got[4]).to.be.closeTo((2 + 4 + 6 + 8) / 6 + (1 + 3 + 7 + 9) / 12, 1e-9);
      expect(Array.from(got).filter((_, p) => p !== 4)).to.deep.equal(img.filter((_, p) => p !== 4));
    });

    it('a removed corner uses its 3 neighbours, weights renormalised (5/12)', () => {
      const got = noisyLinearImpute(img, 3, 3, 1, [1, 0, 0, 0, 0, 0, 0, 0, 0]);
      expect(got[0]).to.be.closeTo((2 / 6 + 4 / 6 + 5 / 12) / (5 / 12), 1e-6);
    });

    it('two adjacent removed pixels solve their coupled 2x2 system (Cramer by hand), per channel', () => {
      // Pixels 4 (centre) and 5 (right edge) removed; two channels, the second = 10 x the first.
      const two = img.flatMap((v) => [v, 10 * v]);
      const got = noisyLinearImpute(two, 3, 3, 2, [0, 0, 0, 0, 1, 1, 0, 0, 0]);
      // Centre: 1 x4 - (1/6) x5 = known neighbours of 4. Right edge 5: direct 3, 9 and (unknown) 4, diagonal 2, 8:
      // weights 3/6 + 2/12 = 2/3, so (2/3) x5 - (1/6) x4 = known of 5.
      const b4 = (2 + 4 + 8) / 6 + (1 + 3 + 7 + 9) / 12;
      const b5 = (3 + 9) / 6 + (2 + 8) / 12;
      const [a11, a12, a21, a22] = [1, -1 / 6, -1 / 6, 2 / 3];
      const det = a11 * a22 - a12 * a21;
      const x4 = (b4 * a22 - a12 * b5) / det;
      const x5 = (a11 * b5 - a21 * b4) / det;
      expect(got[8]).to.be.closeTo(x4, 1e-5);
      expect(got[10]).to.be.closeTo(x5, 1e-5);
      expect(got[9]).to.be.closeTo(10 * x4, 1e-4);
      expect(got[11]).to.be.closeTo(10 * x5, 1e-4);
    });

    it('percentiles as numpy computes them; MoRF q removes the top 100-q %, LeRF q the bottom 100-q %', () => {
      expect(percentile([1, 2, 3, 4], 50)).to.equal(2.5);
      expect(percentile([0, 10], 80)).to.equal(8);
      const map = Array.from({ length: 100 }, (_, i) => i / 99);
      const morf = roadRemoved(map, 80, 'morf');
      const lerf = roadRemoved(map, 80, 'lerf');
      expect(Array.from(morf).map((v, i) => (v ? i : -1)).filter((i) => i >= 0)).to.deep.equal(Array.from({ length: 20 }, (_, i) => 80 + i));
      expect(Array.from(lerf).map((v, i) => (v ? i : -1)).filter((i) => i >= 0)).to.deep.equal(Array.from({ length: 20 }, (_, i) => i));
    });
  });

  describe('a model whose score depends only on the top-left quadrant', () => {
    const size = 8;
    const N = 12;
    const inQuadrant = (p: number): boolean => Math.floor(p / size) < size / 2 && p % size < size / 2;
    let model: tf.LayersModel;
    let images: tf.Tensor4D;
    let right: tf.Tensor3D;
    let random: tf.Tensor3D;
    const classes = new Array(N).fill(0);
    before(() => {
      model = linearModel(size, Array.from({ length: size * size }, (_, p) => (inQuadrant(p) ? 1 : 0)), -13); // p ~ 0.73: not saturated
      const rand = seeded(4);
      const pixels = Float32Array.from({ length: N * size * size }, (_, i) => (inQuadrant(i % (size * size)) ? 0.875 + 0.125 * rand() : 0.5 + 0.5 * rand()));
      images = tf.tensor4d(pixels, [N, size, size, 1]);
      // The right map ranks the quadrant first; small noise so percentiles do not tie whole regions.
      const jitter = seeded(12);
      right = tf.tensor3d(Float32Array.from({ length: N * size * size }, (_, i) => (inQuadrant(i % (size * size)) ? 0.9 : 0) + 0.05 * (jitter() + 1)), [N, size, size]);
      random = tf.tensor3d(randomArray(N * size * size, seeded(9)).map((v) => (v + 1) / 2), [N, size, size]);
    });
    after(() => {
      model.dispose();
      tf.dispose([images, right, random]);
    });

    for (const baseline of [{ kind: 'mean' as const }, { kind: 'constant' as const, value: [0] }, { kind: 'blur' as const, kernelSize: 5, sigma: 2 }]) {
      it(`deletion AUC of the right map is below a random map's, insertion above (${baseline.kind} baseline)`, () => {
        const scorer = probabilityScorer(model);
        const auc = (maps: tf.Tensor3D, mode: 'deletion' | 'insertion') => deletionInsertion(scorer, { images, maps, classes }, { mode, steps: 16, baseline }).meanAuc;
        expect(auc(right, 'deletion')).to.be.below(auc(random, 'deletion') - 0.05);
        expect(auc(right, 'insertion')).to.be.above(auc(random, 'insertion') + 0.05);
      });
    }

    it('ROAD agrees: the right map drops more when its top pixels go (MoRF), less when its bottom ones go (LeRF), higher combined score', () => {
      const scorer = probabilityScorer(model);
      const good = road(scorer, { images, maps: right, classes }, { percentiles: [50, 75], seed: 1 });
      const bad = road(scorer, { images, maps: random, classes }, { percentiles: [50, 75], seed: 1 });
      expect(good.meanMorf).to.be.below(bad.meanMorf);
      expect(good.meanLerf).to.be.above(bad.meanLerf);
      expect(good.meanCombined).to.be.above(bad.meanCombined + 0.01);
    });

    it('confidence change: the right map keeps the class (drop ~0), a random map loses more', () => {
      const scorer = probabilityScorer(model);
      const exact = tf.tensor3d(Float32Array.from({ length: N * size * size }, (_, i) => (inQuadrant(i % (size * size)) ? 1 : 0)), [N, size, size]);
      const good = confidenceChange(scorer, { images, maps: exact, classes });
      const bad = confidenceChange(scorer, { images, maps: random, classes });
      exact.dispose();
      expect(good.averageDrop).to.be.below(1e-3);
      expect(bad.averageDrop).to.be.above(good.averageDrop + 1);
    });

    it('a blurred constant image stays constant (reflected borders); the mean baseline is each channel\'s mean', () => {
      const flat = tf.fill([1, size, size, 1], 3) as tf.Tensor4D;
      const blurred = baselineImages(flat, { kind: 'blur' });
      expect(maxAbs(blurred.dataSync(), new Float32Array(size * size).fill(3))).to.be.below(1e-5);
      const mean = baselineImages(images, { kind: 'mean' });
      expect(mean.dataSync()[0]).to.be.closeTo(images.mean().dataSync()[0], 1e-5);
      tf.dispose([flat, blurred, mean]);
    });

    it('bad input is named: maps of the wrong shape, one class short', () => {
      const scorer = probabilityScorer(model);
      const small = tf.zeros([N, 4, 4]) as tf.Tensor3D;
      expect(() => deletionInsertion(scorer, { images, maps: small, classes }, { mode: 'deletion' })).to.throw(/maps must be \[N,H,W\] = \[12,8,8\].*\[12,4,4\]/);
      expect(() => road(scorer, { images, maps: right, classes: classes.slice(1) })).to.throw(/got 11 classes for 12 images/);
      small.dispose();
    });

    it('memory stays flat: tf.memory().numTensors unchanged over repeated metric runs', () => {
      const scorer = probabilityScorer(model);
      const run = () => {
        deletionInsertion(scorer, { images, maps: right, classes }, { mode: 'deletion', steps: 8 });
        deletionInsertion(scorer, { images, maps: random, classes }, { mode: 'insertion', steps: 8, baseline: { kind: 'mean' } });
        road(scorer, { images, maps: right, classes }, { percentiles: [50] });
        confidenceChange(scorer, { images, maps: random, classes });
      };
      run();
      const before = tf.memory().numTensors;
      for (let i = 0; i < 5; i++) run();
      expect(tf.memory().numTensors).to.equal(before);
    });
  });

  describe('similarity measures', () => {
    it('Spearman: 1 for a monotone transform, -1 reversed, ties averaged, 0 for a constant map', () => {
      const a = [0.1, 0.5, 0.2, 0.9, 0.4];
      expect(spearman(a, a.map((v) => v ** 3))).to.be.closeTo(1, 1e-12);
      expect(spearman(a, a.map((v) => -v))).to.be.closeTo(-1, 1e-12);
      // Hand: ranks of [1,2,2,3] are [0,1.5,1.5,3]; with [1,2,3,4] -> Pearson of ranks.
      const ra = [0, 1.5, 1.5, 3];
      const rb = [0, 1, 2, 3];
      const m = 1.5;
      const num = ra.reduce((s, v, i) => s + (v - m) * (rb[i] - m), 0);
      const den = Math.sqrt(ra.reduce((s, v) => s + (v - m) ** 2, 0) * rb.reduce((s, v) => s + (v - m) ** 2, 0));
      expect(spearman([1, 2, 2, 3], [1, 2, 3, 4])).to.be.closeTo(num / den, 1e-12);
      expect(spearman([1, 1, 1, 1], [1, 2, 3, 4])).to.equal(0);
    });

    it('SSIM: 1 for identical maps, the closed form for one 7x7 window', () => {
      const a = randomArray(49, seeded(3)).map((v) => (v + 1) / 2);
      expect(ssim(a, a, 7, 7)).to.be.closeTo(1, 1e-9);
      const b = a.map((v) => 0.5 * v + 0.1);
      const n = 49;
      const ma = a.reduce((s, v) => s + v, 0) / n;
      const mb = 0.5 * ma + 0.1;
      const va = a.reduce((s, v) => s + (v - ma) ** 2, 0) / (n - 1);
      const vb = 0.25 * va;
      const vab = 0.5 * va;
      const c1 = 1e-4;
      const c2 = 9e-4;
      expect(ssim(a, b, 7, 7)).to.be.closeTo(((2 * ma * mb + c1) * (2 * vab + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2)), 1e-6);
    });
  });

  describe('model-parameter randomisation: the two modes', () => {
    it('independent re-initialises one layer at a time: its top step equals the cascade\'s, its lower steps do not', async () => {
      const net = camNet(81);
      const images = tf.tensor4d(randomArray(3 * 5 * 5 * 2, seeded(2), 2), [3, 5, 5, 2]);
      const r = await modelRandomisation(net.model, images, [0, 1, 2], { methods: ['gradcam', 'eigencam'], seed: 4 });
      expect(r.layers).to.deep.equal(['scores', 'features']);
      expect(r.cascading.map((s) => s.layer)).to.deep.equal(['none', 'scores', 'features']);
      expect(r.independent.map((s) => s.layer)).to.deep.equal(['none', 'scores', 'features']);
      // The first step randomises the same layer with the same seed in both modes.
      expect(r.independent[1].spearman).to.deep.equal(r.cascading[1].spearman);
      // EigenCAM never looks at the class layer: randomising it alone changes nothing.
      expect(r.independent[1].spearman.eigencam).to.equal(1);
      // Only 'features' random (independent) is not 'scores' and 'features' random (cascading) for Grad-CAM.
      expect(r.independent[2].spearman.gradcam).to.not.equal(r.cascading[2].spearman.gradcam);
      images.dispose();
      net.model.dispose();
    });
  });

  describe('model-parameter randomisation on the shipped model', () => {
    it('Grad-CAM: Spearman 1 on the trained model, near 0 after the full cascade; the user model is untouched and no tensor leaks', async () => {
      const model = await loadModel(path.join(REPO_ROOT, 'models/cifar10'));
      const examples = (await readExamples()).slice(0, 6);
      const images = tf.tensor4d(Float32Array.from(examples.flatMap((e) => Array.from(e.pixels))), [examples.length, 32, 32, 3]);
      const classes = explain(model, images).images.map((im) => im.predicted);
      const weightsBefore = model.getWeights().map((w) => w.dataSync().slice());
      const tensorsBefore = tf.memory().numTensors;
      const r = await modelRandomisation(model, images, classes, { methods: ['gradcam'], modes: ['cascading'], seed: 3 });
      expect(tf.memory().numTensors).to.equal(tensorsBefore);
      expect(r.layers[0]).to.equal('logits');
      expect(r.cascading[0].layer).to.equal('none');
      expect(r.cascading[0].spearman.gradcam).to.equal(1);
      expect(r.cascading[0].ssim.gradcam).to.be.closeTo(1, 1e-9);
      const last = r.cascading[r.cascading.length - 1];
      expect(Math.abs(last.spearman.gradcam as number)).to.be.below(0.3);
      expect(r.passes.gradcam).to.equal(true);
      model.getWeights().forEach((w, i) => expect(maxAbs(w.dataSync(), weightsBefore[i])).to.equal(0));
      images.dispose();
      model.dispose();
    });
  });
});

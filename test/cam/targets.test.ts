/**
 * Every target kind against closed forms on tiny networks whose trunk is conv 3x3 + ReLU (A known
 * by direct summation) and whose head is linear in A up to the output's activation, so that
 * dy/dA, alpha_k and the map follow by hand: a sigmoid label, a regression value, a softmax
 * probability, a segmentation mask, a raw detection, an embedding's cosine similarity, and a
 * named output of a two-output model.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { createCam, explain, guidedBackprop, targets } from '../../src/cam';
import { camNetActivations, CamNet, maxAbs, randomArray, seeded } from '../support/cam-fixtures';

const SIZE = 5;
const CIN = 2;
const K = 3;
const HW = SIZE * SIZE;

interface Trunk {
  input: tf.SymbolicTensor;
  features: tf.SymbolicTensor;
  net: CamNet;
}

/** Input 5x5x2 -> conv 3x3 'features' (K=3, ReLU) with seeded weights; `net` computes A in plain JS. */
function trunk(seed: number): Trunk {
  const rand = seeded(seed);
  const input = tf.input({ shape: [SIZE, SIZE, CIN] });
  const conv = tf.layers.conv2d({ filters: K, kernelSize: 3, padding: 'same', activation: 'relu', name: 'features' });
  const features = conv.apply(input) as tf.SymbolicTensor;
  const kernel = randomArray(9 * CIN * K, rand, 0.5);
  const convBias = randomArray(K, rand, 0.2);
  tf.tidy(() => conv.setWeights([tf.tensor4d(kernel, [3, 3, CIN, K]), tf.tensor1d(convBias)]));
  const net = { model: undefined as unknown as tf.LayersModel, size: SIZE, inChannels: CIN, K, classes: 0, kernel, convBias, dense: new Float32Array(), denseBias: new Float32Array() };
  return { input, features, net };
}

/** Dense(units) on global average pooling of A, with seeded weights [K,units]. */
function gapDense(t: Trunk, units: number, activation: 'linear' | 'sigmoid' | 'softmax', name: string, seed: number): { out: tf.SymbolicTensor; W: Float32Array; b: Float32Array } {
  const rand = seeded(seed);
  const dense = tf.layers.dense({ units, activation, name });
  const out = dense.apply(tf.layers.globalAveragePooling2d({ name: `${name}_gap` }).apply(t.features)) as tf.SymbolicTensor;
  const W = randomArray(K * units, rand);
  const b = randomArray(units, rand, 0.1);
  tf.tidy(() => dense.setWeights([tf.tensor2d(W, [K, units]), tf.tensor1d(b)]));
  return { out, W, b };
}

/** ReLU(sum_k alpha_k A^k) at layer resolution. */
function mapOf(A: Float32Array, alpha: ArrayLike<number>): Float32Array {
  return Float32Array.from({ length: HW }, (_, p) => Math.max(0, Array.from(alpha).reduce((s, a, k) => s + a * A[p * K + k], 0)));
}

const meanOf = (A: Float32Array, k: number): number => Array.from({ length: HW }, (_, p) => A[p * K + k]).reduce((a, b) => a + b, 0) / HW;

describe('cam: targets as values, against closed forms', () => {
  const image = randomArray(HW * CIN, seeded(99), 2);
  let leaksBefore = 0;
  before(async () => {
    await initBackend({ quiet: true });
    leaksBefore = tf.memory().numTensors;
  });
  after(() => expect(tf.memory().numTensors, 'tensors left behind by the target tests').to.be.at.most(leaksBefore + 64));

  it('a sigmoid label (binary classifier, one output): alpha = w/hw for it, -w/hw against it; probability = sigmoid(logit)', () => {
    const t = trunk(1);
    const { out, W, b } = gapDense(t, 1, 'sigmoid', 'is_cat', 2);
    const model = tf.model({ inputs: t.input, outputs: out });
    const A = camNetActivations(t.net, image);
    const logit = Array.from({ length: K }, (_, k) => W[k] * meanOf(A, k)).reduce((a, c) => a + c, b[0]);
    const e = explain(model, [image]);
    expect(e.output.kind).to.equal('labels');
    expect(e.scoreSource).to.equal('pre-sigmoid (removed final sigmoid)');
    const cl = e.images[0].classes[0];
    expect(cl.score).to.be.closeTo(logit, 1e-5);
    expect(cl.probability).to.be.closeTo(1 / (1 + Math.exp(-logit)), 1e-6);
    expect(maxAbs(cl.weights, Array.from(W, (w) => w / HW))).to.be.below(1e-6);
    expect(maxAbs(cl.map, mapOf(A, Array.from(W, (w) => w / HW)))).to.be.below(1e-5);
    const against = explain(model, [image], { target: targets.sigmoidLabel(0, { negative: true }) }).images[0].classes[0];
    expect(maxAbs(against.weights, Array.from(W, (w) => -w / HW))).to.be.below(1e-6);
    expect(against.score).to.be.closeTo(-logit, 1e-5);
    expect(against.target).to.match(/against/);
    model.dispose();
  });

  it('a regression value: "raise" and "lower" are opposite alphas; Ablation-CAM gives w_k mean(A^k) / y', () => {
    const t = trunk(3);
    const { out, W, b } = gapDense(t, 1, 'linear', 'age', 4);
    const model = tf.model({ inputs: t.input, outputs: out });
    const A = camNetActivations(t.net, image);
    const y = Array.from({ length: K }, (_, k) => W[k] * meanOf(A, k)).reduce((a, c) => a + c, b[0]);
    const raise = explain(model, [image]);
    expect(raise.output.kind).to.equal('regression');
    expect(raise.images[0].classes[0].probability, 'the value stands where a probability would').to.be.closeTo(y, 1e-5);
    expect(maxAbs(raise.images[0].classes[0].weights, Array.from(W, (w) => w / HW))).to.be.below(1e-6);
    const lower = explain(model, [image], { target: targets.regression(0, { lower: true }) }).images[0].classes[0];
    expect(maxAbs(lower.weights, Array.from(W, (w) => -w / HW))).to.be.below(1e-6);
    const ablation = explain(model, [image], { method: 'ablationcam' }).images[0].classes[0];
    expect(maxAbs(ablation.weights, Array.from({ length: K }, (_, k) => (W[k] * meanOf(A, k)) / y))).to.be.below(1e-4);
    model.dispose();
  });

  it('a class probability: alpha_k = p_c (w_kc - sum_j p_j w_kj) / hw (gradients through the softmax)', () => {
    const t = trunk(5);
    const C = 4;
    const { out, W, b } = gapDense(t, C, 'softmax', 'probs', 6);
    const model = tf.model({ inputs: t.input, outputs: out });
    const A = camNetActivations(t.net, image);
    const z = Array.from({ length: C }, (_, c) => Array.from({ length: K }, (_, k) => W[k * C + c] * meanOf(A, k)).reduce((a, v) => a + v, b[c]));
    const m = Math.max(...z);
    const p = z.map((v) => Math.exp(v - m) / z.reduce((s, u) => s + Math.exp(u - m), 0));
    const c = 2;
    const expected = Array.from({ length: K }, (_, k) => (p[c] * (W[k * C + c] - p.reduce((s, pj, j) => s + pj * W[k * C + j], 0))) / HW);
    const e = explain(model, [image], { target: targets.classProbability(c) }).images[0].classes[0];
    expect(e.score).to.be.closeTo(p[c], 1e-6);
    expect(maxAbs(e.weights, expected)).to.be.below(1e-6);
    model.dispose();
  });

  it('segmentation: alpha_k = W_kc |mask| / hw over the predicted pixels (default) or a given mask; a fused softmax conv is scored before it', () => {
    const t = trunk(7);
    const C = 3;
    const rand = seeded(8);
    const head = tf.layers.conv2d({ filters: C, kernelSize: 1, activation: 'softmax', name: 'segmentation' });
    const out = head.apply(t.features) as tf.SymbolicTensor;
    const Wc = randomArray(K * C, rand);
    const bc = randomArray(C, rand, 0.1);
    tf.tidy(() => head.setWeights([tf.tensor4d(Wc, [1, 1, K, C]), tf.tensor1d(bc)]));
    const model = tf.model({ inputs: t.input, outputs: out });
    const A = camNetActivations(t.net, image);
    const z = (p: number, c: number): number => Array.from({ length: K }, (_, k) => Wc[k * C + c] * A[p * K + k]).reduce((a, v) => a + v, bc[c]);
    const winner = Array.from({ length: HW }, (_, p) => [0, 1, 2].reduce((best, c) => (z(p, c) > z(p, best) ? c : best), 0));
    const e = explain(model, [image], { target: 'all' });
    expect(e.output.kind).to.equal('map');
    expect(e.scoreSource).to.equal('pre-softmax (removed final softmax)');
    for (let c = 0; c < C; c++) {
      const area = winner.filter((w) => w === c).length;
      const cl = e.images[0].classes[c];
      expect(cl.classIndex).to.equal(c);
      expect(cl.score, `class ${c}`).to.be.closeTo(winner.reduce((s, w, p) => s + (w === c ? z(p, c) : 0), 0), 1e-4);
      expect(maxAbs(cl.weights, Array.from({ length: K }, (_, k) => (Wc[k * C + c] * area) / HW)), `class ${c}`).to.be.below(1e-5);
      // Its value: class c's mean softmax probability over its pixels.
      const softmax = (p: number): number => Math.exp(z(p, c)) / [0, 1, 2].reduce((s, j) => s + Math.exp(z(p, j)), 0);
      const mean = area === 0 ? 0 : winner.reduce((s, w, p) => s + (w === c ? softmax(p) : 0), 0) / area;
      expect(cl.probability, `class ${c}`).to.be.closeTo(mean, 1e-6);
    }
    const mask = Float32Array.from({ length: HW }, (_, p) => (p % 2 === 0 ? 1 : 0));
    const given = explain(model, [image], { target: targets.segmentation(1, { mask }) }).images[0].classes[0];
    expect(maxAbs(given.weights, Array.from({ length: K }, (_, k) => (Wc[k * C + 1] * 13) / HW))).to.be.below(1e-5);
    expect(given.target).to.equal('class 1 over 13 px');
    // Score-CAM, gradient-free, takes the same target.
    const score = explain(model, [image], { method: 'scorecam', target: targets.segmentation(1, { mask }) });
    expect(score.images[0].classes[0].weights.length).to.equal(K);
    model.dispose();
  });

  it("a list of targets applies to every image; a row's resolved target scores the same choice on other pixels", () => {
    const t = trunk(7);
    const head = tf.layers.conv2d({ filters: 3, kernelSize: 1, activation: 'softmax', name: 'segmentation' });
    const out = head.apply(t.features) as tf.SymbolicTensor;
    tf.tidy(() => head.setWeights([tf.tensor4d(randomArray(K * 3, seeded(8)), [1, 1, K, 3]), tf.tensor1d(randomArray(3, seeded(9), 0.1))]));
    const model = tf.model({ inputs: t.input, outputs: out });
    const other = randomArray(HW * CIN, seeded(123), 2);
    const mask = Float32Array.from({ length: HW }, (_, p) => (p < 10 ? 1 : 0));
    const list = [targets.segmentation(), targets.segmentation(2, { mask })];
    const both = explain(model, [image, other], { target: { classes: list } });
    expect(both.images.map((im) => im.classes.length)).to.deep.equal([2, 2]);
    both.images.forEach((im, i) => list.forEach((target, j) => {
      const alone = explain(model, [[image, other][i]], { target }).images[0].classes[0];
      expect(im.classes[j].score, `image ${i}, target ${j}`).to.be.closeTo(alone.score, 1e-5);
      expect(maxAbs(im.classes[j].heatmap, alone.heatmap), `image ${i}, target ${j}`).to.be.below(1e-6);
    }));
    // The first image's default target, resolved: its predicted class and mask, fixed.
    const resolved = both.images[0].classes[0].resolved;
    expect(resolved.kind).to.equal('segmentation');
    const firstMask = (both.images[0].classes[0].region?.mask?.data ?? new Float32Array()) as Float32Array;
    const onOther = explain(model, [other], { target: resolved }).images[0].classes[0];
    const byHand = explain(model, [other], { target: targets.segmentation(both.images[0].classes[0].classIndex, { mask: firstMask }) }).images[0].classes[0];
    expect(onOther.score).to.be.closeTo(byHand.score, 1e-6);
    expect(onOther.classIndex).to.equal(both.images[0].classes[0].classIndex);
    expect(maxAbs(onOther.weights, byHand.weights)).to.be.below(1e-7);
    expect(() => explain(model, [image], { target: { classes: [] } })).to.throw(/name at least one class or target/);
    model.dispose();
  });

  it('a raw detection [anchors, 4 + classes]: the best box by default, alpha_k = W_k,(4+c) / hw at its anchor; x IoU with a given box scales the score', () => {
    const t = trunk(9);
    const F = 6; // x1 y1 x2 y2, two classes
    const rand = seeded(10);
    const head = tf.layers.conv2d({ filters: F, kernelSize: 1, name: 'raw_boxes' });
    const Wd = randomArray(K * F, rand);
    const bd = randomArray(F, rand, 0.1);
    const out = tf.layers.reshape({ targetShape: [HW, F], name: 'detections' }).apply(head.apply(t.features)) as tf.SymbolicTensor;
    tf.tidy(() => head.setWeights([tf.tensor4d(Wd, [1, 1, K, F]), tf.tensor1d(bd)]));
    const model = tf.model({ inputs: t.input, outputs: out });
    const A = camNetActivations(t.net, image);
    const raw = (p: number, f: number): number => Array.from({ length: K }, (_, k) => Wd[k * F + f] * A[p * K + k]).reduce((a, v) => a + v, bd[f]);
    let best = { p: 0, c: 0 };
    for (let p = 0; p < HW; p++) for (let c = 0; c < 2; c++) if (raw(p, 4 + c) > raw(best.p, 4 + best.c)) best = { p, c };
    const e = explain(model, [image]);
    expect(e.output.kind).to.equal('detections');
    const cl = e.images[0].classes[0];
    expect(cl.classIndex).to.equal(best.c);
    expect(cl.target).to.match(new RegExp(`^box ${best.p}: class ${best.c} `));
    expect(cl.score).to.be.closeTo(raw(best.p, 4 + best.c), 1e-5);
    // dy/dA^k is W_k,(4+c) at the anchor's pixel and 0 elsewhere: alpha_k = W/hw.
    expect(maxAbs(cl.weights, Array.from({ length: K }, (_, k) => Wd[k * F + 4 + best.c] / HW))).to.be.below(1e-6);
    const box = [0, 1, 2, 3].map((f) => raw(best.p, f));
    const [x1, y1, x2, y2] = box;
    const given: [number, number, number, number] = [x1, y1, x1 + (x2 - x1) / 2, y2]; // half of it, if the box is proper
    const withIou = explain(model, [image], { target: targets.detection({ anchor: best.p, class: best.c, box: given }) }).images[0].classes[0];
    const area = (b: number[]): number => Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);
    const inter = Math.max(0, Math.min(x2, given[2]) - Math.max(x1, given[0])) * Math.max(0, Math.min(y2, given[3]) - Math.max(y1, given[1]));
    const iou = inter / Math.max(area(box) + area(given) - inter, 1e-9);
    expect(withIou.score).to.be.closeTo(raw(best.p, 4 + best.c) * iou, 1e-5);
    // With a box and no anchor: the detection the box refers to, the highest sigmoid(score) x IoU
    // (found here by brute force), not the best-scoring one.
    const boxOf = (p: number): number[] => [0, 1, 2, 3].map((f) => raw(p, f));
    const iouOf = (b: number[], g: readonly number[]): number => {
      const inter = Math.max(0, Math.min(b[2], g[2]) - Math.max(b[0], g[0])) * Math.max(0, Math.min(b[3], g[3]) - Math.max(b[1], g[1]));
      const u = Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]) + Math.max(0, g[2] - g[0]) * Math.max(0, g[3] - g[1]) - inter;
      return u > 0 ? inter / u : 0;
    };
    const proper = (b: number[]): boolean => b[2] > b[0] && b[3] > b[1];
    const other = Array.from({ length: HW }, (_, p) => p).find((p) => p !== best.p && proper(boxOf(p))) as number;
    const target = boxOf(other) as [number, number, number, number];
    let match = { p: -1, c: 0, v: -Infinity };
    for (let p = 0; p < HW; p++) {
      for (let c = 0; c < 2; c++) {
        const o = iouOf(boxOf(p), target);
        const v = o > 0 ? (1 / (1 + Math.exp(-raw(p, 4 + c)))) * o : -Infinity;
        if (v > match.v) match = { p, c, v };
      }
    }
    const matched = explain(model, [image], { target: targets.detection({ box: target }) }).images[0].classes[0];
    expect(matched.resolved).to.include({ anchor: match.p, class: match.c });
    expect(matched.score).to.be.closeTo(raw(match.p, 4 + match.c) * iouOf(boxOf(match.p), target), 1e-5);
    expect(() => explain(model, [image], { target: targets.detection({ box: [1e6, 1e6, 1e6 + 1, 1e6 + 1] }) })).to.throw(/No raw detection of output 'detections' overlaps the box/);
    model.dispose();
  });

  it('an embedding: the default concept is the image itself (cosine 1); alpha matches the cosine gradient by hand for another concept', () => {
    const t = trunk(11);
    const D = 4;
    const { out, W, b } = gapDense(t, D, 'linear', 'embedding', 12);
    const model = tf.model({ inputs: t.input, outputs: out });
    const A = camNetActivations(t.net, image);
    const g = Array.from({ length: K }, (_, k) => meanOf(A, k));
    const e = Array.from({ length: D }, (_, d) => g.reduce((s, gk, k) => s + W[k * D + d] * gk, b[d]));
    const self = explain(model, [image]);
    expect(self.output.kind).to.equal('embedding');
    expect(self.images[0].classes[0].score).to.be.closeTo(1, 1e-5);
    const concept = [0.5, -1, 0.25, 2];
    const norm = (v: number[]): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    const dot = e.reduce((s, x, d) => s + x * concept[d], 0);
    const dcos = e.map((x, d) => concept[d] / (norm(e) * norm(concept)) - (dot * x) / (norm(e) ** 3 * norm(concept)));
    const alpha = Array.from({ length: K }, (_, k) => dcos.reduce((s, v, d) => s + W[k * D + d] * v, 0) / HW);
    const cl = explain(model, [image], { target: targets.embedding(concept) }).images[0].classes[0];
    expect(cl.score).to.be.closeTo(dot / (norm(e) * norm(concept)), 1e-5);
    expect(maxAbs(cl.weights, alpha)).to.be.below(1e-6);
    model.dispose();
  });

  it('a named output of a two-output model equals the same head alone; guided backprop takes it too; a wrong name lists the outputs', () => {
    const t = trunk(13);
    const a = gapDense(t, 3, 'softmax', 'species', 14);
    const r = gapDense(t, 1, 'linear', 'weight_kg', 15);
    const both = tf.model({ inputs: t.input, outputs: [a.out, r.out] });
    const alone = tf.model({ inputs: t.input, outputs: r.out });
    const viaOption = explain(both, [image], { output: 'weight_kg' });
    const viaTarget = explain(both, [image], { target: targets.ofOutput('weight_kg', targets.regression()) });
    const ref = explain(alone, [image]);
    expect(viaOption.output.name).to.equal('weight_kg');
    expect(maxAbs(viaOption.images[0].classes[0].weights, ref.images[0].classes[0].weights)).to.equal(0);
    expect(maxAbs(viaTarget.images[0].classes[0].weights, ref.images[0].classes[0].weights)).to.equal(0);
    expect(explain(both, [image]).output.name, 'the first output by default').to.equal('species');
    const guided = guidedBackprop(both, [image], { target: targets.ofOutput('weight_kg', targets.regression()) });
    const guidedAlone = guidedBackprop(alone, [image]);
    expect(maxAbs(guided.rows[0].gradient, guidedAlone.rows[0].gradient)).to.equal(0);
    expect(() => createCam(both, { output: 'height' })).to.throw(/no output 'height'; its outputs are 'species', 'weight_kg'/);
    both.dispose();
  });

  it('refuses a target that cannot score the output, naming the output, its shape and what fits', () => {
    const t = trunk(17);
    const { out } = gapDense(t, 4, 'softmax', 'probs', 18);
    const model = tf.model({ inputs: t.input, outputs: out });
    expect(() => explain(model, [image], { target: targets.segmentation(1) })).to.throw(/segmentation target cannot score output 'probs' of shape \[N,4\] \(class scores\)/);
    expect(() => explain(model, [image], { target: targets.regression(7) })).to.throw(/Regression value 7 is out of range: output 'probs' has 4 values/);
    expect(() => explain(model, [image], { target: targets.embedding([1, 2]) })).to.throw(/concept embedding has 2 values; output 'probs' has 4/);
    model.dispose();
  });
});

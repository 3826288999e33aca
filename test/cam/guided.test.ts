import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { explain, guidedBackprop } from '../../src/cam';
import { maxAbs, randomArray, seeded } from '../support/cam-fixtures';

/** input [1,1,2] -> 1x1 conv (3 units) + ReLU -> flatten -> dense (2 classes). */
const W1 = [1, -1, 0.5, 0.5, 1, -1]; // [Cin=2, 3]
const B1 = [0, 0.5, 0.2];
const W2 = [1, -2, -1, 1, 3, 0.5]; // [3, 2]
const X = [1, 2];
// z = x W1 + b1 = [2, 1.5, -1.3], so unit 2 is off.
// Class 0: dy/dh = [1,-1,3]. Guided keeps only unit 0 (on, positive): dx = W1[:,0] = [1, 0.5].
//   (Plain backprop: [2, -0.5]; deconvnet: [2.5, -2.5].)
// Class 1: dy/dh = [-2,1,0.5]. Guided keeps only unit 1: dx = W1[:,1] = [-1, 1]. (Plain: [-3, 0].)
const GUIDED = [[1, 0.5], [-1, 1]];
const PLAIN_CLASS0 = [2, -0.5];

type ReluForm = 'fused' | 'relu-layer' | 'activation-layer';

function twoLayerNet(form: ReluForm): tf.LayersModel {
  const input = tf.input({ shape: [1, 1, 2] });
  const conv = tf.layers.conv2d({ filters: 3, kernelSize: 1, activation: form === 'fused' ? 'relu' : 'linear', name: 'hidden' });
  let h = conv.apply(input) as tf.SymbolicTensor;
  if (form === 'relu-layer') h = tf.layers.reLU({ name: 'relu' }).apply(h) as tf.SymbolicTensor;
  if (form === 'activation-layer') h = tf.layers.activation({ activation: 'relu', name: 'relu' }).apply(h) as tf.SymbolicTensor;
  const dense = tf.layers.dense({ units: 2, name: 'out' });
  const out = dense.apply(tf.layers.flatten().apply(h)) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  tf.tidy(() => {
    conv.setWeights([tf.tensor4d(W1, [1, 1, 2, 3]), tf.tensor1d(B1)]);
    dense.setWeights([tf.tensor2d(W2, [3, 2]), tf.zeros([2])]);
  });
  return model;
}

function plainInputGradient(model: tf.LayersModel, x: number[], shape: [number, number, number], c: number): Float32Array {
  return tf.tidy(() =>
    tf.grad((t: tf.Tensor) => tf.sum(tf.mul(model.predict(t) as tf.Tensor, tf.oneHot([c], (model.outputs[0].shape[1] as number)))))(
      tf.tensor4d(x, [1, ...shape]),
    ).dataSync() as Float32Array,
  );
}

describe('cam: guided backprop', () => {
  before(async () => {
    await initBackend({ quiet: true });
  });

  for (const form of ['fused', 'relu-layer', 'activation-layer'] as const) {
    it(`matches the hand computation on a two-layer net (ReLU ${form})`, () => {
      const model = twoLayerNet(form);
      const result = guidedBackprop(model, [X], { target: 'all' });
      expect(result.rows.map((r) => r.classIndex)).to.deep.equal([0, 1]);
      result.rows.forEach((r, c) => expect(maxAbs(r.gradient, GUIDED[c]), `class ${c}: ${Array.from(r.gradient)}`).to.be.below(1e-6));
      // The same numbers come out of explain(..., guided), and Guided Grad-CAM multiplies by the heatmap.
      const e = explain(model, [X], { target: 'all', guided: true });
      e.images[0].classes.forEach((cl, c) => {
        expect(maxAbs(cl.guided as Float32Array, GUIDED[c])).to.be.below(1e-6);
        const h = cl.heatmap[0];
        expect(maxAbs(cl.guidedGradCam as Float32Array, GUIDED[c].map((v) => v * h))).to.be.below(1e-6);
      });
      model.dispose();
    });
  }

  it('leaves ordinary gradients alone: the model and the global Relu gradient are untouched', () => {
    const model = twoLayerNet('fused');
    const reluGradient = tf.getGradient('Relu');
    expect(maxAbs(plainInputGradient(model, X, [1, 1, 2], 0), PLAIN_CLASS0)).to.be.below(1e-6);
    guidedBackprop(model, [X], { target: 0 });
    expect(tf.getGradient('Relu')).to.equal(reluGradient);
    expect(maxAbs(plainInputGradient(model, X, [1, 1, 2], 0), PLAIN_CLASS0)).to.be.below(1e-6);
    model.dispose();
  });

  it('matches a plain-JS guided backprop through ReLUs fused into Conv2D and Dense', () => {
    const rand = seeded(17);
    const [cin, hidden, dense, classes] = [3, 6, 5, 4];
    const w1 = randomArray(cin * hidden, rand);
    const w2 = randomArray(hidden * dense, rand);
    const w3 = randomArray(dense * classes, rand);
    const b1 = randomArray(hidden, rand, 0.3);
    const b2 = randomArray(dense, rand, 0.3);
    const model = tf.sequential();
    model.add(tf.layers.conv2d({ inputShape: [1, 1, cin], filters: hidden, kernelSize: 1, activation: 'relu' }));
    model.add(tf.layers.flatten());
    model.add(tf.layers.dense({ units: dense, activation: 'relu' }));
    model.add(tf.layers.dense({ units: classes, useBias: false }));
    tf.tidy(() =>
      model.setWeights([
        tf.tensor4d(w1, [1, 1, cin, hidden]), tf.tensor1d(b1), tf.tensor2d(w2, [hidden, dense]), tf.tensor1d(b2), tf.tensor2d(w3, [dense, classes]),
      ]),
    );
    const x = Array.from(randomArray(cin, rand, 2));
    const affine = (v: number[], w: Float32Array, b: Float32Array | undefined, n: number): number[] =>
      Array.from({ length: n }, (_, j) => v.reduce((s, vi, i) => s + vi * w[i * n + j], b ? b[j] : 0));
    const back = (r: number[], w: Float32Array, n: number): number[] =>
      Array.from({ length: n }, (_, i) => r.reduce((s, rj, j) => s + rj * w[i * r.length + j], 0));
    const guide = (r: number[], z: number[]): number[] => r.map((v, i) => (z[i] > 0 && v > 0 ? v : 0));
    const z1 = affine(x, w1, b1, hidden);
    const z2 = affine(z1.map((v) => Math.max(0, v)), w2, b2, dense);
    const rows = guidedBackprop(model, [x], { target: 'all' }).rows;
    for (let c = 0; c < classes; c++) {
      const r2 = guide(Array.from({ length: dense }, (_, j) => w3[j * classes + c]), z2);
      const r1 = guide(back(r2, w2, hidden), z1);
      const expected = back(r1, w1, cin);
      expect(maxAbs(rows[c].gradient, expected), `class ${c}`).to.be.below(1e-5);
    }
    model.dispose();
  });
});

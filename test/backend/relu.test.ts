/**
 * The training network's relu (src/backend/relu.ts): its gradient is the addon's one-pass
 * ACTIVATION_GRADIENT where that kernel runs, and must equal the closed form dy * [x > 0] exactly,
 * zeros included (tfjs's step(0) is 0). Runs on whichever backend the run picked (test:tensorflow
 * runs it on tfjs-node).
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { ACTIVATION_GRADIENT, initBackend, relu } from '../../src/backend';
import { nativeAddonOrSkip } from '../support/native-fixture';

describe('relu with the native gradient', function () {
  this.timeout(60000);
  before(async function () {
    nativeAddonOrSkip(this);
    await initBackend({ quiet: true });
  });

  it('runs where ACTIVATION_GRADIENT is registered on the current backend', () => {
    expect(tf.getKernel(ACTIVATION_GRADIENT, tf.getBackend()), tf.getBackend()).to.not.equal(undefined);
  });

  it('gives relu and dy * [x > 0] exactly, zeros and negatives included, without leaking', () => {
    const shape = [2, 5, 7, 3];
    const size = shape.reduce((a, b) => a * b, 1);
    // Whole multiples of 0.25, so every product below is exact in float32; every fifth value is 0.
    const xs = Float32Array.from({ length: size }, (_, i) => (i % 5 === 0 ? 0 : (((i * 37) % 23) - 11) / 4));
    const dys = Float32Array.from({ length: size }, (_, i) => (((i * 13) % 17) - 8) / 4);
    const before = tf.memory().numTensors;
    const x = tf.tensor(xs, shape);
    const dy = tf.tensor(dys, shape);
    const out = relu(x);
    const gradient = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(relu(t), dy)))(x);
    const [y, dx] = [out.dataSync(), gradient.dataSync()];
    tf.dispose([x, dy, out, gradient]);
    expect(tf.memory().numTensors).to.equal(before);
    for (let i = 0; i < size; i++) {
      expect(y[i], `relu at ${i}`).to.equal(Math.max(xs[i], 0));
      expect(dx[i], `gradient at ${i} (x = ${xs[i]})`).to.equal(xs[i] > 0 ? dys[i] : 0);
    }
  });
});

/**
 * On wasm, Identity (clone, and every tensor a gradient tape saves) shares its input's memory
 * instead of copying it (src/backend/wasm-identity.ts): values stay equal, each tensor can be
 * disposed on its own, and nothing leaks.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../../src/backend';

describe('wasm Identity shares memory', function () {
  before(async function () {
    const info = await initBackend({ quiet: true });
    if (info.name !== 'wasm') this.skip();
  });

  it('gives the same values, survives disposing either side, and leaks neither tensors nor buffers', () => {
    const buffers = () => (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
    const before = tf.memory();
    const buffersBefore = buffers();
    const x = tf.tensor2d([[1, -2, 3], [4, 5, -6]]);
    const y = x.clone();
    expect(buffers() - buffersBefore).to.equal(1); // one wasm buffer for both
    x.dispose();
    expect(Array.from(y.dataSync())).to.deep.equal([1, -2, 3, 4, 5, -6]);
    const z = y.clone();
    y.dispose();
    expect(Array.from(tf.mul(z, 2).dataSync())).to.deep.equal([2, -4, 6, 8, 10, -12]);
    tf.dispose(z);
    expect(tf.memory().numTensors).to.equal(before.numTensors + 1); // the mul above, not disposed
    expect(buffers() - buffersBefore).to.equal(1);
  });

  it('keeps gradients exact (the tape saves clones of what it needs)', () => {
    const x = tf.tensor1d([-1, 0.5, 2]);
    const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.relu(a), a)))(x);
    expect(Array.from(g.dataSync())).to.deep.equal([0, 1, 4]);
    tf.dispose([x, g]);
  });
});

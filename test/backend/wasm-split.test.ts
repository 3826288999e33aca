/**
 * The wasm SplitV kernel (src/backend/wasm-split.ts) against the pure-JS cpu backend: every axis,
 * sizes with -1 and an even count, int32 and bool tensors, an empty part, and Concatenate's gradient,
 * which is where InceptionV3's guided pass meets it.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../../src/backend';
import { replacedWasmKernels } from '../../src/backend/kernel-replace';

async function splitOn(backend: string, make: () => tf.Tensor, sizes: number | number[], axis: number) {
  await tf.setBackend(backend);
  const x = make();
  const parts = tf.split(x, sizes, axis);
  const out = await Promise.all(parts.map(async (p) => ({ shape: p.shape, dtype: p.dtype, values: Array.from(await p.data()) })));
  tf.dispose([x, ...parts]);
  return out;
}

describe('wasm SplitV', function () {
  this.timeout(60000);
  before(async () => {
    await initBackend({ backend: 'wasm', quiet: true });
  });
  after(async () => {
    await tf.setBackend('wasm');
  });

  it('is the SplitV kernel the wasm backend runs', () => {
    // Without it the cases below would still pass on tfjs-wasm's own kernel.
    expect(replacedWasmKernels().has('SplitV'), 'initBackend registered it').to.equal(true);
  });

  const cases: [string, () => tf.Tensor, number | number[], number][] = [
    ["an Inception block's channels", () => tf.randomNormal([2, 5, 7, 256], 0, 1, 'float32', 51), [64, 64, 96, 32], 3],
    ['rows, with -1 for the rest', () => tf.randomNormal([3, 11, 4, 6], 0, 1, 'float32', 52), [2, -1, 5], 1],
    ['the first axis, evenly, by count', () => tf.randomNormal([6, 3, 2], 0, 1, 'float32', 53), 3, 0],
    ['a negative axis and an empty part', () => tf.randomNormal([4, 9], 0, 1, 'float32', 54), [0, 4, 5], -1],
    ['int32 values', () => tf.range(0, 60, 1, 'int32').reshape([3, 4, 5]), [1, 3], 1],
    ['bool values', () => tf.greater(tf.randomNormal([2, 8, 3], 0, 1, 'float32', 55), 0), [5, 3], 1],
  ];
  for (const [name, make, sizes, axis] of cases) {
    it(`splits ${name} as the cpu backend does`, async () => {
      const truth = await splitOn('cpu', make, sizes, axis);
      const got = await splitOn('wasm', make, sizes, axis);
      expect(got).to.deep.equal(truth);
    });
  }

  it("gives Concatenate's gradient as the cpu backend does, and leaks no tensors", async () => {
    const gradient = async (backend: string) => {
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const parts = [[1, 4, 4, 3], [1, 4, 4, 5], [1, 4, 4, 2]].map((s, i) => tf.randomNormal(s, 0, 1, 'float32', 60 + i));
      const weights = tf.randomNormal([1, 4, 4, 10], 0, 1, 'float32', 70);
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(tf.concat([a, b, c], 3), weights)))(parts);
      const values = await Promise.all(grads.map(async (g) => Array.from(await g.data())));
      tf.dispose([...parts, weights, ...grads]);
      expect(tf.memory().numTensors, `${backend} tensors`).to.equal(before);
      return values;
    };
    expect(await gradient('wasm')).to.deep.equal(await gradient('cpu'));
  });
});

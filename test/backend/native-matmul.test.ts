/**
 * The native BatchMatMul (native/src/matmul.c) against the pure-JS cpu backend: every transpose
 * combination, a shared batch of 1 on either side, rank-4 batches, one large product split by
 * rows (transposed A read in place), the gradient of a matMul (which runs transposed products),
 * and a broadcast it leaves to tfjs-wasm's kernel.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { setNativeThreads } from '../../src/backend';
import { matMulPlan } from '../../src/backend/matmul-plan';
import type { NativeAddon } from '../../src/backend/native';
import { nativeWasmOrSkip } from '../support/native-fixture';
import { maxRelativeError } from '../support/compare';

async function product(backend: string, aShape: number[], bShape: number[], transposeA: boolean, transposeB: boolean) {
  await tf.setBackend(backend);
  const a = tf.randomNormal(aShape, 0, 1, 'float32', 31);
  const b = tf.randomNormal(bShape, 0, 1, 'float32', 32);
  const c = tf.matMul(a, b, transposeA, transposeB);
  const out = { shape: c.shape, values: (await c.data()) as Float32Array };
  tf.dispose([a, b, c]);
  return out;
}

let addon: NativeAddon;

describe('native BatchMatMul', function () {
  this.timeout(120000);
  before(async function () {
    addon = await nativeWasmOrSkip(this);
  });
  after(async () => {
    await tf.setBackend('wasm');
  });

  const cases: { name: string; a: number[]; b: number[]; ta: boolean; tb: boolean; native: boolean; split?: boolean }[] = [
    { name: "Grad-CAM's maps: 64 images x their 10 rows' weights", a: [64, 64, 128], b: [64, 10, 128], ta: false, tb: true, native: true },
    { name: 'transposed A', a: [16, 24, 7], b: [16, 24, 5], ta: true, tb: false, native: true },
    { name: 'both transposed', a: [16, 24, 7], b: [16, 5, 24], ta: true, tb: true, native: true },
    { name: 'plain, rank 4', a: [2, 3, 9, 11], b: [2, 3, 11, 4], ta: false, tb: false, native: true },
    { name: 'B shared (batch 1)', a: [8, 33, 17], b: [1, 17, 6], ta: false, tb: false, native: true },
    { name: 'A shared (rank 2 against a batch)', a: [12, 17], b: [5, 17, 6], ta: false, tb: false, native: true },
    { name: 'one large product split by rows, A transposed', a: [1, 300, 4000], b: [1, 300, 64], ta: true, tb: false, native: true, split: true },
    { name: 'a broadcast of [2,1] against [1,3] (left to tfjs-wasm)', a: [2, 1, 4, 5], b: [1, 3, 5, 6], ta: false, tb: false, native: false },
  ];
  for (const c of cases) {
    it(`matches the cpu backend: ${c.name}`, async () => {
      expect(matMulPlan(c.a, c.b, { transposeA: c.ta, transposeB: c.tb }) !== undefined, 'taken natively').to.equal(c.native);
      const want = await product('cpu', c.a, c.b, c.ta, c.tb);
      for (const threads of [1, 2]) {
        const previous = setNativeThreads(threads);
        try {
          const got = await product('wasm', c.a, c.b, c.ta, c.tb);
          // The native kernel ran, split as asked (not tfjs-wasm's kernel, which the addon never sees).
          if (c.split) expect(addon.lastParts(), `parts at ${threads} threads`).to.equal(threads);
          expect(got.shape).to.deep.equal(want.shape);
          expect(maxRelativeError(got.values, want.values), `${threads} threads`).to.be.below(1e-5);
        } finally {
          setNativeThreads(previous);
        }
      }
    });
  }

  it("gives a matMul's gradients (transposed products) as the cpu backend does, leaking no tensor", async () => {
    const grads = async (backend: string) => {
      await tf.setBackend(backend);
      const a = tf.randomNormal([6, 20, 30], 0, 1, 'float32', 41);
      const b = tf.randomNormal([6, 30, 9], 0, 1, 'float32', 42);
      const before = tf.memory().numTensors;
      const [da, db] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y))))([a, b]);
      const out = [(await da.data()) as Float32Array, (await db.data()) as Float32Array];
      tf.dispose([da, db]);
      expect(tf.memory().numTensors).to.equal(before);
      tf.dispose([a, b]);
      return out;
    };
    const [want, got] = [await grads('cpu'), await grads('wasm')];
    expect(maxRelativeError(got[0], want[0])).to.be.below(1e-5);
    expect(maxRelativeError(got[1], want[1])).to.be.below(1e-5);
  });
});

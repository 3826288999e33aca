/**
 * The native MaxPool and broadcasting binary ops (native/src/pool.c, native/src/broadcast.c) against
 * the pure-JS cpu backend, and the broadcast plan's merged dimensions against a hand-worked case.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { setNativeThreads } from '../../src/backend';
import { broadcastPlan, type BroadcastOp } from '../../src/backend/broadcast-plan';
import type { NativeAddon } from '../../src/backend/native';
import { nativeWasmOrSkip } from '../support/native-fixture';
import { maxRelativeError } from '../support/compare';

let addon: NativeAddon;

/** Leaves lastParts() at 1 with a small native call, so a larger one that reports 2 ran natively. */
function resetParts(): void {
  tf.tidy(() => tf.maxPool(tf.ones([1, 2, 2, 1]) as tf.Tensor4D, 2, 2, 'valid').dataSync());
}

describe('native MaxPool and broadcasting binary ops', function () {
  this.timeout(120000);
  before(async function () {
    addon = await nativeWasmOrSkip(this);
  });
  after(async () => {
    await tf.setBackend('wasm');
  });

  it('plans [1,32,32,3] x [128,32,32,1] as three merged loops (128, 1024, 3), each side dense or broadcast', () => {
    const plan = broadcastPlan('Multiply', [1, 32, 32, 3], [128, 32, 32, 1]);
    expect(plan?.outShape).to.deep.equal([128, 32, 32, 3]);
    // op, rank, dims (6), a's strides (6), b's strides (6)
    expect(Array.from(plan?.geometry ?? [])).to.deep.equal([
      0, 3, 128, 1024, 3, 0, 0, 0, 0, 3, 1, 0, 0, 0, 1024, 1, 0, 0, 0, 0,
    ]);
    expect(broadcastPlan('Add', [4, 5], [4, 5]), 'equal shapes stay on wasm').to.equal(undefined);
    expect(broadcastPlan('Add', [4, 5], [1]), 'one value stays on wasm (its scalar path)').to.equal(undefined);
    expect(broadcastPlan('Add', [4, 5], [3]), 'shapes that do not broadcast are left to tfjs to report').to.equal(undefined);
    expect(broadcastPlan('Add', [2, 1, 2, 1, 2, 1, 2], [1, 2, 1, 2, 1, 2, 1]), 'more than 6 merged dimensions stay on wasm').to.equal(undefined);
  });

  const shapes: [string, number[], number[]][] = [
    ["Score-CAM's masking", [1, 32, 32, 3], [48, 32, 32, 1]],
    ['a bias over the last axis', [4, 9, 7, 24], [24]],
    ['both sides broadcast', [5, 1, 4], [3, 1]],
    ['five alternating dimensions', [2, 1, 3, 1, 4], [1, 5, 1, 6, 1]],
    ['a per-image scale on a wide map', [64, 40, 40, 32], [64, 1, 1, 32]],
  ];
  for (const op of ['Multiply', 'Add', 'Sub', 'RealDiv'] as BroadcastOp[]) {
    for (const [name, aShape, bShape] of shapes) {
      it(`${op} ${name}: ${JSON.stringify(aShape)} with ${JSON.stringify(bShape)} equals the cpu backend, both ways round`, async () => {
        const run = async (backend: string, swap: boolean) => {
          await tf.setBackend(backend);
          const out = tf.tidy(() => {
            const a = tf.randomNormal(aShape, 0, 1, 'float32', 41);
            const b = tf.add(tf.abs(tf.randomNormal(bShape, 0, 1, 'float32', 42)), 0.5); // no division by ~0
            const [x, y] = swap ? [b, a] : [a, b];
            return op === 'Multiply' ? tf.mul(x, y) : op === 'Add' ? tf.add(x, y) : op === 'Sub' ? tf.sub(x, y) : tf.div(x, y);
          });
          const result = { shape: out.shape, values: (await out.data()) as Float32Array };
          out.dispose();
          return result;
        };
        for (const swap of [false, true]) {
          const truth = await run('cpu', swap);
          const got = await run('wasm', swap);
          expect(got.shape).to.deep.equal(truth.shape);
          expect(maxRelativeError(got.values, truth.values), swap ? 'swapped' : 'as given').to.be.below(1e-6);
        }
      });
    }
  }

  it('runs the broadcast natively, split over two threads when large', async () => {
    await tf.setBackend('wasm');
    const previous = setNativeThreads(2);
    try {
      resetParts();
      expect(addon.lastParts()).to.equal(1);
      tf.tidy(() => tf.mul(tf.ones([1, 64, 64, 32]), tf.ones([64, 64, 64, 1])).dataSync());
      expect(addon.lastParts()).to.equal(2);
    } finally {
      setNativeThreads(previous);
    }
  });

  const pools: [string, number[], number, number, 'same' | 'valid'][] = [
    ['2x2, stride 2 (the shipped model)', [8, 32, 32, 32], 2, 2, 'valid'],
    ['3x3, stride 2, same padding, odd sizes', [3, 17, 15, 8], 3, 2, 'same'],
    ['3x3, stride 1, same padding', [2, 9, 9, 5], 3, 1, 'same'],
    ['2x2, stride 2 on an odd map (the last row and column dropped)', [2, 7, 9, 16], 2, 2, 'valid'],
  ];
  for (const [name, shape, size, stride, pad] of pools) {
    it(`MaxPool ${name} equals the cpu backend, a NaN in a window included`, async () => {
      const run = async (backend: string) => {
        await tf.setBackend(backend);
        const values = (await tf.randomNormal(shape, 0, 1, 'float32', 43).data()) as Float32Array;
        values[5] = NaN; // the window's maximum is that of its numbers, on both backends
        const x = tf.tensor4d(values, shape as [number, number, number, number]);
        const y = tf.maxPool(x, size, stride, pad);
        const out = { shape: y.shape, values: Array.from((await y.data()) as Float32Array) };
        tf.dispose([x, y]);
        return out;
      };
      const truth = await run('cpu');
      const got = await run('wasm');
      expect(got.shape).to.deep.equal(truth.shape);
      expect(got.values).to.deep.equal(truth.values);
    });
  }

  it('runs MaxPool natively (split over two threads when large) and leaks no tensors', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const previous = setNativeThreads(2);
    try {
      resetParts();
      tf.tidy(() => tf.maxPool(tf.ones([64, 64, 64, 32]) as tf.Tensor4D, 2, 2, 'valid').dataSync());
      expect(addon.lastParts()).to.equal(2);
      tf.tidy(() => tf.mul(tf.ones([3, 1, 5]), tf.ones([1, 4, 5])).dataSync());
    } finally {
      setNativeThreads(previous);
    }
    expect(tf.memory().numTensors).to.equal(before);
  });
});

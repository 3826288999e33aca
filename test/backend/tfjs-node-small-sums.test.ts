/**
 * Small sums on tfjs-node (src/backend/tfjs-node-small-sums.ts): a JavaScript-held float32 tensor of
 * at most 16384 values summed over its innermost axes stays in JavaScript; every other case goes to
 * TensorFlow. Checked against sums taken here in doubles, and for who made the result.
 * tfjs-node loads only with .ci/tfjs-node's overlay (test/support/tensorflow-fixture.ts).
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { hostValues } from '../../src/backend/kernel-io';
import { tensorflowOrSkip } from '../support/tensorflow-fixture';

interface Case { name: string; shape: number[]; axis: number | number[] | null; keepDims?: boolean; dtype?: 'float32' | 'int32'; ours: boolean }
const CASES: Case[] = [
  { name: 'a row of five class scores over axis 1', shape: [1, 5], axis: 1, ours: true },
  { name: 'innermost two axes, keepDims', shape: [2, 3, 4], axis: [2, 1], keepDims: true, ours: true },
  { name: 'every axis (axis null)', shape: [3, 4], axis: null, ours: true },
  { name: 'axis -1', shape: [4, 6], axis: -1, ours: true },
  { name: 'an outer axis: TensorFlow', shape: [2, 3, 4], axis: 0, ours: false },
  { name: 'more than 16384 values: TensorFlow', shape: [130, 130], axis: 1, ours: false },
  { name: 'int32: TensorFlow', shape: [2, 5], axis: 1, dtype: 'int32', ours: false },
];

/** The sum in doubles, by its definition over index tuples. */
function definition(values: Float32Array, shape: number[], axes: number[]): { values: number[]; kept: number[] } {
  const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const out = new Array<number>(kept.reduce((a, b) => a * b, 1)).fill(0);
  const index = shape.map(() => 0);
  for (let flat = 0; flat < values.length; flat++) {
    let o = 0;
    for (let i = 0; i < shape.length; i++) o = o * kept[i] + (axes.includes(i) ? 0 : index[i]);
    out[o] += values[flat];
    for (let i = shape.length - 1; i >= 0; i--) {
      if (++index[i] < shape[i]) break;
      index[i] = 0;
    }
  }
  return { values: out, kept };
}

describe('small sums on tfjs-node, in JavaScript', function () {
  this.timeout(60_000);
  before(async function () {
    tensorflowOrSkip(this);
    await initBackend({ backend: 'tensorflow', quiet: true });
  });

  for (const c of CASES) {
    it(c.name, () => {
      const n = c.shape.reduce((a, b) => a * b, 1);
      const values = Float32Array.from({ length: n }, (_, i) => (c.dtype === 'int32' ? (i % 7) - 3 : Math.sin(i * 1.3) * 10));
      const before = tf.memory().numTensors;
      const { got, shape, ours } = tf.tidy(() => {
        const x = tf.tensor(values, c.shape, c.dtype ?? 'float32'); // written from JavaScript: JS-held
        const y = tf.sum(x, c.axis ?? undefined, c.keepDims ?? false);
        return { ours: hostValues(tf.backend(), y.dataId) !== undefined, got: Array.from(y.dataSync()), shape: y.shape };
      });
      expect(tf.memory().numTensors).to.equal(before);
      const axes = c.axis === null ? c.shape.map((_, i) => i) : tf.util.parseAxisParam(c.axis, c.shape);
      const want = definition(values, c.shape, axes);
      expect(shape).to.deep.equal(c.keepDims ? want.kept : c.shape.filter((_, i) => !axes.includes(i)));
      expect(ours, 'summed in JavaScript').to.equal(c.ours);
      got.forEach((v, i) => expect(v).to.be.closeTo(want.values[i], 1e-4 * (1 + Math.abs(want.values[i]))));
    });
  }
});

/**
 * Pad, Slice, Concat, SplitV and ReLU/ReLU6 of JavaScript-held tensors on tfjs-node
 * (src/backend/host-copies.ts, native-kernels.ts): ours run where JavaScript holds the input, and give
 * exactly what TensorFlow's own ops give for the same values held by TensorFlow. copyBox, the copy
 * they share, is checked on its own against an element-by-element reference on any backend.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { copyBox } from '../../src/backend/copy-box';
import { hostValues } from '../../src/backend/kernel-io';
import { nativeAddonOrSkip } from '../support/native-fixture';
import { tensorflowOrSkip } from '../support/tensorflow-fixture';

const product = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);

/** Element by element: the index arithmetic copyBox's runs must agree with. */
function copyBoxReference(
  from: Float32Array, shape: number[], start: number[], size: number[], to: Float32Array, toShape: number[], offset: number[],
): void {
  const flat = (index: number[], s: number[]) => index.reduce((acc, v, i) => acc * s[i] + v, 0);
  for (let k = 0; k < product(size); k++) {
    const index: number[] = [];
    let rest = k;
    for (let i = size.length - 1; i >= 0; i--) {
      index.unshift(rest % size[i]);
      rest = Math.floor(rest / size[i]);
    }
    to[flat(index.map((v, i) => v + offset[i]), toShape)] = from[flat(index.map((v, i) => v + start[i]), shape)];
  }
}

describe('copyBox (the runs behind the host copies)', () => {
  const cases: [string, number[], number[], number[], number[], number[]][] = [
    // name, shape, start, size, toShape, offset
    ['a channel range of an NHWC map (Concat/SplitV)', [2, 5, 4, 12], [0, 0, 0, 3], [2, 5, 4, 6], [2, 5, 4, 9], [0, 0, 0, 2]],
    ['whole rows merged into one run (ZeroPadding2D)', [1, 4, 6, 3], [0, 0, 0, 0], [1, 4, 6, 3], [1, 7, 9, 3], [0, 1, 2, 0]],
    ['an inner box (Slice)', [3, 7, 5, 2], [1, 2, 1, 0], [2, 3, 3, 2], [2, 3, 3, 2], [0, 0, 0, 0]],
    ['rank 1', [10], [3], [5], [9], [4]],
    ['the whole tensor, one run', [2, 3, 4], [0, 0, 0], [2, 3, 4], [2, 3, 4], [0, 0, 0]],
    ['an empty box', [2, 3], [0, 1], [2, 0], [2, 3], [0, 0]],
  ];
  for (const [name, shape, start, size, toShape, offset] of cases) {
    it(name, () => {
      const from = Float32Array.from({ length: product(shape) }, (_, i) => i + 1);
      const [ours, want] = [new Float32Array(product(toShape)).fill(-1), new Float32Array(product(toShape)).fill(-1)];
      copyBox(from, shape, start, size, ours, toShape, offset);
      copyBoxReference(from, shape, start, size, want, toShape, offset);
      expect(Array.from(ours)).to.deep.equal(Array.from(want));
    });
  }
});

describe('host copies and ReLU on the tensorflow backend (tfjs-node)', function () {
  this.timeout(60000);
  let previous: string | undefined;
  before(async function () {
    nativeAddonOrSkip(this);
    tensorflowOrSkip(this);
    previous = (await initBackend({ backend: 'tensorflow', quiet: true })).name;
    if (previous !== 'tensorflow') this.skip(); // another file chose the backend for this process
  });
  after(async () => {
    if (previous) await tf.setBackend(previous);
  });

  const held = (t: tf.Tensor) => hostValues(tf.backend(), t.dataId) !== undefined;

  /**
   * `op` on values JavaScript holds (ours) and on the same values TensorFlow holds (its own op):
   * equal to the bit, ours JS-held and TensorFlow's not, and no tensor left behind.
   */
  function expectOursEqualsTensorflow(shapes: number[][], op: (inputs: tf.Tensor[]) => tf.Tensor | tf.Tensor[]): void {
    const before = tf.memory().numTensors;
    const values = shapes.map((s, k) => Float32Array.from({ length: product(s) }, (_, i) => Math.sin(i * 0.7 + k) * 8));
    const [ours, theirs] = [true, false].map((js) => tf.tidy(() => {
      // tf.tensor keeps the array (JS-held); the same values through two of TensorFlow's own Neg ops are TensorFlow's.
      const inputs = values.map((v, k) => {
        const t = tf.tensor(v, shapes[k]);
        return js ? t : tf.neg(tf.neg(t));
      });
      inputs.forEach((t) => expect(held(t), 'input held as asked').to.equal(js));
      const out = op(inputs);
      const outs = Array.isArray(out) ? out : [out];
      return outs.map((t) => ({ shape: t.shape, values: Array.from(t.dataSync()), held: held(t) }));
    }));
    expect(ours.map((o) => o.held), 'ours made them (JavaScript-held)').to.deep.equal(ours.map(() => true));
    expect(theirs.map((o) => o.held), "TensorFlow's made these").to.deep.equal(theirs.map(() => false));
    expect(ours.map((o) => [o.shape, o.values])).to.deep.equal(theirs.map((o) => [o.shape, o.values]));
    expect(tf.memory().numTensors, 'tensors left behind').to.equal(before);
  }

  it('pad (ZeroPadding2D, and a constant on every axis)', () => {
    expectOursEqualsTensorflow([[2, 5, 4, 3]], ([x]) => [
      tf.pad(x, [[0, 0], [1, 2], [0, 1], [0, 0]]),
      tf.pad(x, [[1, 0], [0, 1], [2, 2], [1, 1]], 0.5),
    ]);
  });

  it("slice (pad's gradient), with -1 sizes and a 2-D case", () => {
    expectOursEqualsTensorflow([[3, 7, 5, 4], [6, 9]], ([x, m]) => [
      tf.slice(x, [1, 2, 0, 1], [2, 4, -1, 2]),
      tf.slice(m, [2, 3], [-1, 4]),
    ]);
  });

  it('concat along channels (an Inception block) and along rows', () => {
    expectOursEqualsTensorflow([[2, 5, 5, 6], [2, 5, 5, 3], [2, 5, 5, 7]], (xs) => [tf.concat(xs, 3), tf.concat(xs.map((x) => tf.slice(x, [0, 0, 0, 0], [2, 5, 5, 3])), 1)]);
  });

  it("split by sizes and by count (concat's gradient)", () => {
    expectOursEqualsTensorflow([[2, 6, 5, 16]], ([x]) => [...tf.split(x, [4, 8, 4], 3), ...tf.split(x, 3, 1)]);
  });

  it('relu and relu6', () => {
    expectOursEqualsTensorflow([[2, 6, 5, 16]], ([x]) => [tf.relu(x), tf.relu6(x)]);
  });
});

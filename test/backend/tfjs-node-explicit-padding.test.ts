/**
 * tfjs-node's input-gradient kernels with explicit padding (src/backend/tfjs-node-explicit-padding.ts),
 * which TensorFlow's own kernels there refuse. With the native kernels off, the gradient is TensorFlow's
 * into the padded input, cut to the image; it must equal the gradient through an explicit tf.pad and a
 * 'valid' convolution, which tfjs-node always had. With them on, the native kernel takes the case.
 * tfjs-node loads only with .ci/tfjs-node's overlay (test/support/tensorflow-fixture.ts).
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { initBackend, setNativeKernelsEnabled } from '../../src/backend';
import { l2RelativeError } from '../support/compare';
import { tensorflowOrSkip } from '../support/tensorflow-fixture';

type Pads = [[number, number], [number, number]];
interface Case { name: string; depthwise: boolean; x: [number, number, number, number]; f: [number, number, number, number]; stride: number; pads: Pads }

const CASES: Case[] = [
  { name: "MobileNetV2's stride-2 depthwise after ZeroPadding2D((0,1),(0,1))", depthwise: true, x: [2, 13, 13, 4], f: [3, 3, 4, 1], stride: 2, pads: [[0, 1], [0, 1]] },
  { name: "ResNet50's 7x7 stride-2 stem after ZeroPadding2D(3)", depthwise: false, x: [1, 20, 18, 3], f: [7, 7, 3, 5], stride: 2, pads: [[3, 3], [3, 3]] },
  { name: 'uneven padding, stride 1', depthwise: false, x: [1, 9, 11, 2], f: [3, 2, 2, 3], stride: 1, pads: [[2, 0], [1, 3]] },
];

/** d(sum(conv(x) * weights))/dx, the padding explicit in the convolution or made as a copy first. */
function inputGradient(c: Case, explicit: boolean): Float32Array {
  return tf.tidy(() => {
    const x = tf.randomNormal(c.x, 0, 1, 'float32', 1) as tf.Tensor4D;
    const filter = tf.randomNormal(c.f, 0, 1, 'float32', 2) as tf.Tensor4D;
    const pad4 = [[0, 0], ...c.pads, [0, 0]] as [number, number][];
    const conv = (input: tf.Tensor4D) => {
      const source = explicit ? input : (tf.pad(input, pad4) as tf.Tensor4D);
      const pad = explicit ? pad4 : 'valid';
      return c.depthwise
        ? tf.depthwiseConv2d(source, filter, c.stride, pad as 'valid')
        : tf.conv2d(source, filter, c.stride, pad as 'valid');
    };
    const weights = tf.randomNormal(conv(x).shape, 0, 1, 'float32', 3);
    return tf.grad((input: tf.Tensor) => tf.sum(tf.mul(conv(input as tf.Tensor4D), weights)))(x).dataSync() as Float32Array;
  });
}

describe('explicit padding in tfjs-node\'s input-gradient kernels', function () {
  this.timeout(60_000);
  before(async function () {
    tensorflowOrSkip(this);
    await initBackend({ backend: 'tensorflow', quiet: true });
  });
  after(() => setNativeKernelsEnabled(true));

  for (const c of CASES) {
    for (const native of [false, true]) {
      it(`${c.name}, native kernels ${native ? 'on' : 'off'}`, () => {
        setNativeKernelsEnabled(native);
        const before = tf.memory().numTensors;
        const viaCopy = inputGradient(c, false);
        const explicit = inputGradient(c, true);
        expect(tf.memory().numTensors, 'tensors left behind').to.equal(before);
        expect(viaCopy.some((v) => v !== 0)).to.equal(true);
        expect(l2RelativeError(explicit, viaCopy)).to.be.below(1e-6);
      });
    }
  }
});

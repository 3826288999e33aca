/**
 * The gated depthwise input gradient (DEPTHWISE_GATED_INPUT_GRADIENT): the depthwise convolution's
 * input gradient passed back through the ReLU/ReLU6 whose output y is the layer's input, guided or
 * not. The truth: tfjs's cpu backend differentiates the depthwise convolution, and the gate is applied
 * here by its definition: dx * [0 < y < top] after cutting dx's negative part when guided.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { DEPTHWISE_GATED_INPUT_GRADIENT, initBackend } from '../../src/backend';
import { nativeAddonOrSkip } from '../support/native-fixture';

interface Case { name: string; x: [number, number, number, number]; m: number; stride: number; pad: 'same' | 'valid' | number[][] }
const CASES: Case[] = [
  { name: "MobileNetV2's stride-2 block with its explicit (0,1) padding", x: [2, 9, 9, 6], m: 1, stride: 2, pad: [[0, 0], [0, 1], [0, 1], [0, 0]] },
  { name: "stride 1 'same', multiplier 2", x: [1, 7, 5, 3], m: 2, stride: 1, pad: 'same' },
  { name: "stride 1 'valid'", x: [1, 6, 6, 4], m: 1, stride: 1, pad: 'valid' },
];

/** Values of a tensor made on the cpu backend from plain arrays (so the truth shares no kernel with ours). */
async function onCpu<T>(body: () => T): Promise<T> {
  const previous = tf.getBackend();
  await tf.setBackend('cpu');
  try {
    return body();
  } finally {
    await tf.setBackend(previous);
  }
}

describe('the gated depthwise input gradient (through the activation before the layer)', function () {
  this.timeout(60_000);
  before(async function () {
    await initBackend({ quiet: true });
    nativeAddonOrSkip(this);
  });

  for (const c of CASES) {
    for (const activation of ['relu', 'relu6'] as const) {
      for (const guided of [false, true]) {
        it(`${c.name}, ${activation}${guided ? ', guided' : ''}`, async () => {
          expect(tf.getKernel(DEPTHWISE_GATED_INPUT_GRADIENT, tf.getBackend()), `registered on ${tf.getBackend()}`).to.not.equal(undefined);
          const ch = c.x[3];
          // y spans both sides of 0 and 6, so both edges of the gate are exercised.
          const y = Float32Array.from({ length: c.x.reduce((a, b) => a * b) }, (_, i) => ((i * 37) % 19) - 5 + 0.25);
          const filter = Float32Array.from({ length: 9 * ch * c.m }, (_, i) => Math.sin(i + 1));
          const fShape: [number, number, number, number] = [3, 3, ch, c.m];
          const { dy, dx, shape: dyShape } = await onCpu(() => tf.tidy(() => {
            const conv = (x: tf.Tensor) => tf.depthwiseConv2d(x as tf.Tensor4D, tf.tensor4d(filter, fShape), c.stride, c.pad as 'same');
            const yT = tf.tensor4d(y, c.x);
            const dyT = tf.randomNormal(conv(yT).shape, 0, 1, 'float32', 5);
            const grad = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(conv(x), dyT)))(yT);
            return { dy: dyT.dataSync() as Float32Array, dx: grad.dataSync() as Float32Array, shape: dyT.shape };
          }));
          const top = activation === 'relu6' ? 6 : Infinity;
          const want = dx.map((v, i) => (y[i] > 0 && y[i] < top && (!guided || v > 0) ? v : 0));
          const before = tf.memory().numTensors;
          const got = tf.tidy(() => {
            const attrs = { strides: [c.stride, c.stride], pad: c.pad, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined, inputShape: c.x, activation, guided };
            const out = tf.engine().runKernel(DEPTHWISE_GATED_INPUT_GRADIENT,
              { dy: tf.tensor4d(dy, dyShape as [number, number, number, number]), filter: tf.tensor4d(filter, fShape), y: tf.tensor4d(y, c.x) },
              attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
            return out.dataSync() as Float32Array;
          });
          expect(tf.memory().numTensors).to.equal(before);
          expect(want.some((v) => v !== 0) && want.some((v, i) => v === 0 && dx[i] !== 0), 'the gate keeps some values and cuts others').to.equal(true);
          let worst = 0;
          for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
          expect(worst).to.be.below(1e-4);
        });
      }
    }
  }

  it('refuses a dilated or NCHW case with a message that names the kernel', () => {
    const args = { dy: tf.zeros([1, 2, 2, 1]), filter: tf.zeros([3, 3, 1, 1]), y: tf.zeros([1, 4, 4, 1]) };
    const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dilations: [2, 2], dimRoundingMode: undefined, inputShape: [1, 4, 4, 1], activation: 'relu', guided: false };
    expect(() => tf.engine().runKernel(DEPTHWISE_GATED_INPUT_GRADIENT, args, attrs as unknown as tf.NamedAttrMap)).to.throw(/GradcamDepthwiseGatedInputGradient takes undilated/);
    expect(() => tf.engine().runKernel(DEPTHWISE_GATED_INPUT_GRADIENT, args, { ...attrs, dilations: [1, 1], activation: '__proto__' } as unknown as tf.NamedAttrMap)).to.throw(/relu or relu6/);
    tf.dispose(Object.values(args));
  });
});

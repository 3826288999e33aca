/**
 * The native addon's kernels on the 'tensorflow' backend (tfjs-node), where they read inputs through
 * readSync and write outputs as JavaScript-held arrays (src/backend/kernel-io.ts), recycled by
 * src/backend/host-arrays.ts. Checked against TensorFlow 2.9's own kernels (setNativeKernelsEnabled(false)
 * routes every case back to them), as a chain that never leaves JavaScript, and for recycling that
 * never overwrites an array someone else can still see.
 * tfjs-node loads only with .ci/tfjs-node's overlay (see test/backend/tensorflow.test.ts): without it
 * this skips and says so; with GRADCAM_EXPECT_TENSORFLOW=1 its absence fails.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import {
  ACTIVATION_GRADIENT, BATCH_NORM_GRADIENT, BATCH_NORM_TRAIN, initBackend, registerNativeKernels, setNativeKernelsEnabled,
} from '../../src/backend';
import { hostArrays } from '../../src/backend/host-arrays';
import { hostValues } from '../../src/backend/kernel-io';
import { replacedKernels } from '../../src/backend/kernel-replace';
import { nativeGeometry, type NativeAddon, type Shape4 } from '../../src/backend/native';
import { registerHostViews } from '../../src/backend/tfjs-node-views';
import { nativeAddonOrSkip } from '../support/native-fixture';
import { l2RelativeError, maxRelativeError } from '../support/compare';
import { tensorflowOrSkip } from '../support/tensorflow-fixture';

/** The values of a tfjs-node tensor that JavaScript holds (what our kernels make), else undefined. */
function held(t: tf.Tensor): Float32Array | undefined {
  const values = hostValues(tf.backend(), t.dataId);
  return values instanceof Float32Array ? values : undefined;
}

/** Tensors the engine tracks and data tfjs-node's backend holds (a kernel could leak either). */
function live(): [number, number] {
  return [tf.memory().numTensors, tf.backend().numDataIds()];
}

/** One output read back, and whether our kernel made it (JS-held) rather than TensorFlow. */
interface Read { shape: number[]; values: Float32Array; ours: boolean }

/** `build`'s outputs with the native kernels on or off; every tensor it made is disposed again. */
function runWith(native: boolean, build: () => tf.Tensor[]): Read[] {
  const before = live();
  const out: Read[] = [];
  setNativeKernelsEnabled(native);
  try {
    tf.tidy(() => {
      for (const t of build()) {
        const ours = held(t) !== undefined; // before dataSync, which does not change it anyway
        out.push({ shape: t.shape, values: Float32Array.from(t.dataSync() as Float32Array), ours });
      }
    });
  } finally {
    setNativeKernelsEnabled(true);
  }
  expect(live(), 'tensors and data ids left behind').to.deep.equal(before);
  return out;
}

/** Our kernels' outputs equal TensorFlow's for the same inputs, and ours really ran (and TF's). */
/** `nativeRuns` false: a case the native kernel must leave to TensorFlow's. */
function expectSameAsTensorflow(build: () => tf.Tensor[], tolerance = 1e-5, nativeRuns = true): void {
  const ours = runWith(true, build);
  const reference = runWith(false, build);
  ours.forEach((got, i) => {
    const want = reference[i];
    expect(got.shape, `output ${i}'s shape`).to.deep.equal(want.shape);
    expect(got.ours, `output ${i} made by the native kernel`).to.equal(nativeRuns);
    expect(want.ours, `output ${i} made by TensorFlow`).to.equal(false);
    expect(want.values.some((v) => v !== 0), `output ${i} is not all zeros`).to.equal(true);
    expect(l2RelativeError(got.values, want.values), `output ${i}, relative L2 error`).to.be.below(tolerance);
    expect(maxRelativeError(got.values, want.values), `output ${i}, max error / max |value|`).to.be.below(10 * tolerance);
  });
}

const normal = (shape: number[], seed: number, std = 1): tf.Tensor => tf.randomNormal(shape, 0, std, 'float32', seed);
const normal4 = (shape: Shape4, seed: number, std = 1): tf.Tensor4D => normal(shape, seed, std) as tf.Tensor4D;
/** Away from 0: a divisor. */
const positive = (shape: number[], seed: number): tf.Tensor => tf.add(tf.abs(normal(shape, seed)), 0.5);

type Pad = 'same' | 'valid';
interface ConvCase { name: string; x: Shape4; f: Shape4; stride: number; pad: Pad; kernel?: 'winograd' | 'pointwise' }

let addon: NativeAddon;

describe('native kernels on the tensorflow backend (tfjs-node)', function () {
  this.timeout(120000);
  let previous: string | undefined;
  let initRegistered = false;
  let isTest = false;
  before(async function () {
    addon = nativeAddonOrSkip(this);
    tensorflowOrSkip(this);
    const info = await initBackend({ backend: 'tensorflow', quiet: true });
    previous = info.name;
    initRegistered = info.name === 'tensorflow' && info.nativeConvolutions?.active === true;
    if (info.name !== 'tensorflow') {
      // Another file chose the backend first in this process: register as initBackend would have.
      expect(await tf.setBackend('tensorflow')).to.equal(true);
      registerHostViews();
      registerNativeKernels('tensorflow');
    }
    setNativeKernelsEnabled(true);
    // tfjs's own leak check: after every kernel, the backend's data ids grew by its outputs alone
    // (tensors a kernel makes and forgets inside a tf.tidy would otherwise go unnoticed).
    isTest = tf.env().getBool('IS_TEST');
    tf.env().set('IS_TEST', true);
  });
  after(async () => {
    tf.env().set('IS_TEST', isTest);
    setNativeKernelsEnabled(true);
    if (previous) await tf.setBackend(previous);
  });

  it('has our kernels registered there: every replaced one, Reshape and the new ones', () => {
    if (previous === 'tensorflow') expect(initRegistered, "initBackend reported native convolutions on 'tensorflow'").to.equal(true);
    const names = replacedKernels('tensorflow');
    for (const name of [
      'Conv2D', 'FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'MaxPool', 'MaxPoolGrad', 'AvgPool', 'AvgPoolGrad', 'Reshape',
      'DepthwiseConv2dNative', 'FusedDepthwiseConv2D', 'DepthwiseConv2dNativeBackpropInput', 'BatchMatMul', 'Multiply', 'Add', 'Sub', 'RealDiv',
    ]) {
      expect(names.has(name), `${name} replaced on 'tensorflow'`).to.equal(true);
    }
    for (const name of [ACTIVATION_GRADIENT, BATCH_NORM_TRAIN, BATCH_NORM_GRADIENT]) {
      expect(tf.getKernel(name, 'tensorflow'), `${name} registered on 'tensorflow'`).to.not.equal(undefined);
    }
    expect(tf.getBackend()).to.equal('tensorflow');
  });

  describe('each equals TensorFlow 2.9\'s own kernel', () => {
    const convs: ConvCase[] = [
      { name: '3x3, same', x: [2, 12, 12, 8], f: [3, 3, 8, 16], stride: 1, pad: 'same' },
      { name: '5x3, valid, odd sizes', x: [2, 13, 11, 6], f: [5, 3, 6, 10], stride: 1, pad: 'valid' },
      { name: '3x3, stride 2, same, odd size', x: [2, 15, 15, 8], f: [3, 3, 8, 12], stride: 2, pad: 'same' },
      { name: '3x3 32->32, batch 8 of 16x16 (Winograd)', x: [8, 16, 16, 32], f: [3, 3, 32, 32], stride: 1, pad: 'same', kernel: 'winograd' },
      { name: '1x1 (pointwise)', x: [4, 10, 10, 16], f: [1, 1, 16, 24], stride: 1, pad: 'valid', kernel: 'pointwise' },
    ];
    for (const c of convs) {
      it(`conv2d ${c.name}: forward, fused bias + ReLU and + ReLU6`, () => {
        if (c.kernel) {
          const geometry = nativeGeometry(c.x, c.f, { strides: c.stride, pad: c.pad, dilations: 1, dataFormat: 'NHWC' });
          expect(addon.forwardKernel(geometry), 'the kernel this case is meant for').to.equal(c.kernel);
        }
        const inputs = () => ({ x: normal4(c.x, 1), filter: normal4(c.f, 2, 0.5), bias: normal([c.f[3]], 3) as tf.Tensor1D });
        expectSameAsTensorflow(() => {
          const { x, filter, bias } = inputs();
          return [
            tf.conv2d(x, filter, c.stride, c.pad),
            tf.fused.conv2d({ x, filter, strides: c.stride, pad: c.pad, bias, activation: 'relu' }),
            tf.fused.conv2d({ x, filter, strides: c.stride, pad: c.pad, bias, activation: 'relu6' }),
          ];
        });
        // ReLU6 clipped some outputs and zeroed others: both ends of the epilogue ran.
        const [relu6] = runWith(true, () => {
          const { x, filter, bias } = inputs();
          return [tf.fused.conv2d({ x, filter, strides: c.stride, pad: c.pad, bias, activation: 'relu6' })];
        });
        expect(relu6.values.some((v) => v === 6) && relu6.values.some((v) => v === 0)).to.equal(true);
      });
    }

    for (const c of convs.slice(0, 3)) {
      it(`conv2d ${c.name}: gradients wrt input and filter (tf.grads)`, () => {
        expectSameAsTensorflow(() => {
          const x = normal4(c.x, 4);
          const w = normal4(c.f, 5, 0.5);
          const r = normal(tf.conv2d(x, w, c.stride, c.pad).shape, 6);
          const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad), r)))([x, w]);
          return [dx, dw];
        });
      });
    }

    const depthwise: ConvCase[] = [
      { name: '3x3, same, multiplier 2', x: [2, 14, 14, 8], f: [3, 3, 8, 2], stride: 1, pad: 'same' },
      { name: '3x3, stride 2, valid, odd size', x: [2, 15, 13, 6], f: [3, 3, 6, 1], stride: 2, pad: 'valid' },
    ];
    for (const c of depthwise) {
      it(`depthwise conv2d ${c.name}: forward, fused bias + ReLU6, input gradient`, () => {
        expectSameAsTensorflow(() => {
          const x = normal4(c.x, 7);
          const w = normal4(c.f, 8, 0.5);
          const bias = normal([c.f[2] * c.f[3]], 9) as tf.Tensor1D;
          const y = tf.depthwiseConv2d(x, w, c.stride, c.pad);
          const fused = tf.fused.depthwiseConv2d({ x, filter: w, strides: c.stride, pad: c.pad, bias, activation: 'relu6' });
          const r = normal(y.shape, 10);
          const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, w, c.stride, c.pad), r)))(x);
          return [y, fused, dx];
        });
      });
    }

    const pools: [string, Shape4, number, number, Pad][] = [
      ['2x2, stride 2, valid', [4, 16, 16, 8], 2, 2, 'valid'],
      ['3x3, stride 2, same, odd size', [3, 17, 15, 5], 3, 2, 'same'],
      ['3x3, stride 1, same', [2, 9, 9, 4], 3, 1, 'same'],
    ];
    for (const [name, shape, size, stride, pad] of pools) {
      it(`maxPool ${name}: forward and gradient`, () => {
        expectSameAsTensorflow(() => {
          const x = normal4(shape, 11);
          const y = tf.maxPool(x, size, stride, pad);
          const r = normal(y.shape, 12);
          return [y, tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, size, stride, pad), r)))(x)];
        });
      });
    }

    it('maxPool gradient with ties (values on a 0.5 grid): routed as TensorFlow routes them', () => {
      expectSameAsTensorflow(() => {
        const x = tf.div(tf.round(tf.mul(normal4([4, 16, 16, 8], 19), 2)), 2) as tf.Tensor4D;
        const r = normal([4, 8, 8, 8], 20);
        return [tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, 3, 2, 'same'), r)))(x)];
      });
    });

    for (const [name, shape, size, stride, pad] of pools) {
      // 'same' pads here: TensorFlow divides by the taps inside the image, and so must the addon.
      it(`avgPool ${name}: forward and gradient`, () => {
        expectSameAsTensorflow(() => {
          const x = normal4(shape, 13);
          const y = tf.avgPool(x, size, stride, pad);
          const r = normal(y.shape, 14);
          return [y, tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(a as tf.Tensor4D, size, stride, pad), r)))(x)];
        }, 1e-5);
      });
    }

    const products: [string, number[], number[], boolean, boolean][] = [
      ['batched', [6, 9, 7], [6, 7, 5], false, false],
      ['transposeA', [6, 7, 9], [6, 7, 5], true, false],
      ['transposeB', [6, 9, 7], [6, 5, 7], false, true],
      ['both transposed', [6, 7, 9], [6, 5, 7], true, true],
      ['a batch of 1 shared', [1, 9, 7], [6, 7, 5], false, false],
      ['2-D', [33, 17], [17, 12], false, false],
    ];
    for (const [name, aShape, bShape, transposeA, transposeB] of products) {
      it(`matMul ${name}: ${JSON.stringify(aShape)} x ${JSON.stringify(bShape)}`, () => {
        expectSameAsTensorflow(() => [tf.matMul(normal(aShape, 15), normal(bShape, 16), transposeA, transposeB)]);
      });
    }

    const binary: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [['mul', tf.mul], ['add', tf.add], ['sub', tf.sub], ['div', tf.div]];
    const broadcasts: [number[], number[]][] = [[[1, 8, 8, 3], [4, 8, 8, 1]], [[4, 9, 7, 24], [24]], [[5, 1, 4], [3, 1]]];
    for (const [name, op] of binary) {
      it(`${name}, broadcasting, both ways round: ${broadcasts.map(([a, b]) => `${JSON.stringify(a)} x ${JSON.stringify(b)}`).join(', ')}`, () => {
        expectSameAsTensorflow(() => broadcasts.flatMap(([aShape, bShape]) => {
          const [a, b] = [normal(aShape, 17), positive(bShape, 18)];
          return [op(a, b), op(b, a)];
        }));
      });
      // A residual Add of two native outputs, or a scaling: JavaScript-held, so ours, or TensorFlow copies them in.
      it(`${name}, equal shapes and a single value, JavaScript-held`, () => {
        expectSameAsTensorflow(() => {
          const [a, b, one] = [normal([4, 9, 7, 24], 21), positive([4, 9, 7, 24], 22), positive([], 23)];
          return [op(a, b), op(b, one), op(one, a)];
        });
      });
      it(`${name}: two TensorFlow-held sides are left to TensorFlow (nothing to copy)`, () => {
        expectSameAsTensorflow(() => {
          const [a, b] = [tf.abs(normal([4, 8, 8, 3], 24)), tf.abs(positive([4, 8, 8, 1], 25))]; // TensorFlow made these
          expect(held(a) ?? held(b), 'inputs held by TensorFlow').to.equal(undefined);
          return [op(a, b)];
        }, 1e-5, false);
      });
    }
  });

  it('runs conv -> reshape -> matMul -> reshape -> conv in JavaScript, then TensorFlow ops on the result, as TensorFlow alone does', () => {
    const states: boolean[] = [];
    const chain = () => {
      const x = normal4([4, 16, 16, 8], 31);
      const a = tf.conv2d(x, normal4([3, 3, 8, 16], 32, 0.3), 1, 'same');
      const b = tf.reshape(a, [4 * 16 * 16, 16]);
      const c = tf.matMul(b, normal([16, 8], 33, 0.3));
      const d = tf.reshape<tf.Rank.R4>(c, [4, 16, 16, 8]);
      const e = tf.conv2d(d, normal4([3, 3, 8, 4], 34, 0.3), 1, 'same');
      // Before any TensorFlow op: every step JS-held, each reshape over its input's own array, and a
      // native kernel's input still JS-held after the next one read it (nothing copied into TensorFlow).
      states.push(...[a, b, c, d, e].map((t) => held(t) !== undefined), held(b) === held(a), held(d) === held(c));
      const relu = tf.relu(e);
      return [relu, tf.max(relu), e]; // Max stays a TensorFlow op (a small Sum now runs in JavaScript)
    };
    const ours = runWith(true, chain);
    expect(states, 'a..e held in JavaScript, both reshapes shared').to.deep.equal(new Array<boolean>(7).fill(true));
    const reference = runWith(false, chain);
    ours.forEach((got, i) => expect(l2RelativeError(got.values, reference[i].values), `output ${i}`).to.be.below(1e-5));
    expect(ours[0].ours, 'tf.relu on a native output ran in TensorFlow').to.equal(false);
    expect(ours[0].values.some((v) => v > 0)).to.equal(true);
  });

  it("runs conv -> avgPool ('same', then tfjs's same-dtype Cast) -> conv in JavaScript, as TensorFlow alone does", () => {
    const states: boolean[] = [];
    const chain = () => {
      const a = tf.conv2d(normal4([2, 17, 17, 8], 35), normal4([3, 3, 8, 16], 36, 0.3), 1, 'same');
      const pooled = tf.avgPool(a, 3, 1, 'same');
      const e = tf.conv2d(pooled, normal4([1, 1, 16, 8], 37, 0.3), 1, 'same');
      states.push(...[a, pooled, e].map((t) => held(t) !== undefined));
      return [pooled, e];
    };
    const ours = runWith(true, chain);
    expect(states, 'a, the pool and e held in JavaScript').to.deep.equal([true, true, true]);
    const reference = runWith(false, chain);
    ours.forEach((got, i) => expect(l2RelativeError(got.values, reference[i].values), `output ${i}`).to.be.below(1e-5));
  });

  describe('recycling output arrays', () => {
    // 4 x 32 x 32 x 16 = 65536 floats, above host-arrays.ts's 4096-float threshold.
    const SHAPE: Shape4 = [4, 32, 32, 16];
    const SIZE = SHAPE.reduce((p, d) => p * d, 1);
    /** A native conv output of SHAPE; its input and filter are disposed. */
    const convOut = (seed: number): tf.Tensor4D => tf.tidy(() => tf.conv2d(normal4([4, 32, 32, 8], seed), normal4([3, 3, 8, 16], 99, 0.3), 1, 'same'));
    /** Many native ops of SHAPE's size, their outputs disposed (each output array freed, then taken again). */
    const churn = (from: number): void => {
      for (let i = 0; i < 12; i++) {
        tf.tidy(() => {
          tf.add(tf.conv2d(normal4([4, 32, 32, 8], from + i), normal4([3, 3, 8, 16], 98, 0.3), 1, 'same'), normal([16], 97));
        });
      }
    };
    const differs = (a: Float32Array, b: Float32Array): number => a.findIndex((v, i) => v !== b[i]);
    // Earlier tests may have filled the free list to its 256 MB cap, where a freed array is not kept.
    beforeEach(() => hostArrays(tf.backend()).clear());
    /** `test`, failing when it leaves tensors behind (a hook's failure would skip the tests after it). */
    const leakFree = (test: () => void) => (): void => {
      const before = live();
      test();
      expect(live(), 'tensors and data ids left behind').to.deep.equal(before);
    };

    it('reuses a disposed output\'s array for the next output of its size (so the tests below can fail), and overwrites every value', leakFree(() => {
      const arrays = hostArrays(tf.backend());
      const y = convOut(1);
      const array = held(y);
      expect(array?.length).to.equal(SIZE);
      const free = arrays.stats().arrays;
      y.dispose();
      expect(arrays.stats().arrays, 'free arrays after disposing it').to.equal(free + 1);
      const z = convOut(2);
      expect(held(z) === array, 'the next output of that size took the same array').to.equal(true);
      expect(arrays.stats().arrays).to.equal(free);
      const got = Float32Array.from(z.dataSync() as Float32Array);
      z.dispose();
      const [want] = runWith(false, () => [convOut(2)]);
      expect(l2RelativeError(got, want.values), 'the recycled array holds the new output').to.be.below(1e-5);
      expect(maxRelativeError(got, want.values), 'no value left from the old one').to.be.below(1e-4);
    }));

    it('never reuses an array a user read with dataSync(): it keeps its values after the tensor is disposed', leakFree(() => {
      const arrays = hostArrays(tf.backend());
      const y = convOut(3);
      const seen = y.dataSync() as Float32Array;
      expect(seen === held(y), 'dataSync() handed out the tensor\'s own array (else this proves nothing)').to.equal(true);
      const copy = Float32Array.from(seen);
      const free = arrays.stats().arrays;
      y.dispose();
      expect(arrays.stats().arrays, 'not freed').to.equal(free);
      churn(100);
      expect(differs(seen, copy), 'first changed value').to.equal(-1);
    }));

    it('never reuses a user\'s own Float32Array, reshaped and disposed (it is never ours)', leakFree(() => {
      const arrays = hostArrays(tf.backend());
      const user = Float32Array.from({ length: SIZE }, (_, i) => Math.sin(i * 0.01));
      const copy = Float32Array.from(user);
      const t = tf.tensor4d(user, SHAPE);
      expect(held(t) === user, 'tfjs-node holds the user\'s array itself (else this proves nothing)').to.equal(true);
      const r = tf.reshape(t, [4, 1024, 16]);
      expect(held(r) === user, 'the reshape shares it').to.equal(true);
      // A native kernel reads it too (a 1x1 conv with an output of the same size).
      tf.tidy(() => {
        tf.conv2d(t, normal4([1, 1, 16, 16], 96), 1, 'valid');
      });
      const free = arrays.stats().arrays;
      r.dispose();
      expect(arrays.stats().arrays, 'not freed with the reshape').to.equal(free);
      churn(200);
      expect(differs(user, copy), 'first changed value, the original alive').to.equal(-1);
      const freeNow = arrays.stats().arrays; // churn may have made arrays of its own
      t.dispose();
      expect(arrays.stats().arrays, 'not freed with the original').to.equal(freeNow);
      churn(300);
      expect(differs(user, copy), 'first changed value, both disposed').to.equal(-1);
    }));

    it('never reuses the array of an output still alive, itself or through a reshape of it', leakFree(() => {
      const arrays = hostArrays(tf.backend());
      const alive = convOut(4);
      const original = convOut(5);
      const viaReshape = tf.reshape(original, [4, 1024, 16]);
      const free = arrays.stats().arrays;
      original.dispose();
      expect(arrays.stats().arrays, 'not freed while the reshape holds it').to.equal(free);
      const [want4, want5] = runWith(false, () => [convOut(4), convOut(5)]);
      churn(400);
      expect(l2RelativeError(alive.dataSync() as Float32Array, want4.values), 'the output itself').to.be.below(1e-5);
      expect(l2RelativeError(viaReshape.dataSync() as Float32Array, want5.values), 'through a reshape').to.be.below(1e-5);
      tf.dispose([alive, viaReshape]);
    }));
  });
});

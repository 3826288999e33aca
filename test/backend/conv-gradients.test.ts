import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { initBackend, registerNativeKernels, registerWasmConvGradients, setNativeKernelsEnabled } from '../../src/backend';
import type { NativeAddon } from '../../src/backend/native';
import { nativeAddonOrSkip } from '../support/native-fixture';
import { l2RelativeError as relativeError } from '../support/compare';

type Pad = 'same' | 'valid';
type Shape4 = [number, number, number, number];
interface Case { x: Shape4; f: Shape4; stride: number; pad: Pad }

/** conv2d(x, w) and the gradients of sum(conv2d(x, w) * r) w.r.t. x and w on the named backend. */
async function convGradients(backend: string, c: Case, seed: number): Promise<{ y: Float32Array; dx: Float32Array; dw: Float32Array }> {
  await tf.setBackend(backend);
  const x = tf.randomNormal(c.x, 0, 1, 'float32', seed) as tf.Tensor4D;
  const w = tf.randomNormal(c.f, 0, 1, 'float32', seed + 1) as tf.Tensor4D;
  const y = tf.conv2d(x, w, c.stride, c.pad);
  const r = tf.randomNormal(y.shape, 0, 1, 'float32', seed + 2);
  const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad), r)));
  const [dx, dw] = g([x, w]);
  const out = { y: (await y.data()) as Float32Array, dx: (await dx.data()) as Float32Array, dw: (await dw.data()) as Float32Array };
  tf.dispose([x, w, y, r, dx, dw]);
  return out;
}

type ConvPath = 'native OpenBLAS' | 'XNNPACK forward convolutions';

/** Every conv kernel a training step and an explanation need on wasm, through one path. */
function describeConvKernels(path: ConvPath): void {
  describe(`wasm convolutions and their gradients through ${path}`, function () {
    before(async function () {
      await initBackend({ backend: 'wasm', quiet: true });
      registerWasmConvGradients();
      if (path === 'native OpenBLAS') {
        nativeAddonOrSkip(this);
        registerNativeKernels();
      }
      setNativeKernelsEnabled(path === 'native OpenBLAS');
    });
    after(async () => {
      setNativeKernelsEnabled(true);
      await tf.setBackend('wasm');
    });

    const cases: Case[] = [];
    for (const stride of [1, 2]) {
      for (const pad of ['same', 'valid'] as Pad[]) {
        cases.push({ x: [3, 9, 8, 4], f: [3, 3, 4, 5], stride, pad });
        cases.push({ x: [2, 10, 11, 3], f: [2, 4, 3, 6], stride, pad });
        cases.push({ x: [2, 7, 7, 2], f: [1, 1, 2, 3], stride, pad });
      }
    }
    cases.push({ x: [2, 32, 32, 3], f: [3, 3, 3, 8], stride: 1, pad: 'same' });
    cases.push({ x: [1, 8, 8, 4], f: [5, 5, 4, 2], stride: 3, pad: 'same' });

    cases.forEach((c, i) => {
      it(`matches the cpu backend for x${JSON.stringify(c.x)} f${JSON.stringify(c.f)} stride ${c.stride} '${c.pad}'`, async () => {
        const reference = await convGradients('cpu', c, 100 + i);
        const wasm = await convGradients('wasm', c, 100 + i);
        expect(relativeError(wasm.y, reference.y), 'convolution').to.be.below(1e-4);
        expect(relativeError(wasm.dx, reference.dx), 'input gradient').to.be.below(1e-4);
        expect(relativeError(wasm.dw, reference.dw), 'filter gradient').to.be.below(1e-4);
      });
    });

    it('covers the fused Conv2D+bias+ReLU that tfjs-layers runs (its gradient calls the kernels directly)', async () => {
      const grads = async (backend: string) => {
        await tf.setBackend(backend);
        const x = tf.randomNormal([2, 9, 9, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
        const w = tf.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 8) as tf.Tensor4D;
        const b = tf.randomNormal([4], 0, 1, 'float32', 9);
        const fused = (a: tf.Tensor, f: tf.Tensor, c: tf.Tensor) =>
          tf.fused.conv2d({ x: a as tf.Tensor4D, filter: f as tf.Tensor4D, bias: c, strides: 2, pad: 'same', activation: 'relu' });
        const g = tf.grads((a: tf.Tensor, f: tf.Tensor, c: tf.Tensor) => tf.sum(tf.square(fused(a, f, c))));
        return Promise.all([fused(x, w, b), ...g([x, w, b])].map((t) => t.data() as Promise<Float32Array>));
      };
      const reference = await grads('cpu');
      const wasm = await grads('wasm');
      // [0] is the fused output itself (bias and ReLU applied), then the three gradients.
      reference.forEach((r, i) => expect(relativeError(wasm[i], r), `output ${i}`).to.be.below(1e-4));
    });

    it('computes dilated convolutions (rate 2, same and valid) like the cpu backend', async () => {
      const run = async (backend: string, pad: Pad) => {
        await tf.setBackend(backend);
        const x = tf.randomNormal([2, 9, 10, 3], 0, 1, 'float32', 31) as tf.Tensor4D;
        const w = tf.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 32) as tf.Tensor4D;
        return (await tf.conv2d(x, w, 1, pad, 'NHWC', 2).data()) as Float32Array;
      };
      for (const pad of ['same', 'valid'] as Pad[]) expect(relativeError(await run('wasm', pad), await run('cpu', pad)), pad).to.be.below(1e-4);
    });

    // Ours only on the native path; the XNNPACK path keeps tfjs-wasm's own MaxPoolGrad (which
    // sends a tie's gradient to the last maximum, not the first as the cpu backend does).
    // Overlapping windows scatter; disjoint ones (stride >= size) write each pixel once, and skip
    // zeroing dx when they tile the map exactly (2x2 stride 2 on 8x8).
    const poolCases = path === 'native OpenBLAS'
      ? [[2, 2, 'valid', 7], [2, 2, 'valid', 8], [3, 3, 'same', 7], [3, 2, 'same', 7], [3, 1, 'same', 7], [2, 1, 'valid', 7]] as const
      : [];
    for (const [size, stride, pad, height] of poolCases) {
      it(`max-pool gradient (${size}x${size}, stride ${stride}, '${pad}', ${height}x8) matches the cpu backend, ties included`, async () => {
        const grad = async (backend: string) => {
          await tf.setBackend(backend);
          // Small integers make ties common: the gradient must go to the same (first) maximum.
          const x = tf.floor(tf.randomUniform([2, height, 8, 3], 0, 4, 'float32', 21)) as tf.Tensor4D;
          const r = tf.randomNormal(tf.maxPool(x, size, stride, pad).shape, 0, 1, 'float32', 22);
          const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, size, stride, pad), r)))(x);
          return (await dx.data()) as Float32Array;
        };
        // Overlapping windows sum in another order, hence a tolerance; a misrouted tie is an O(1) error.
        expect(relativeError(await grad('wasm'), await grad('cpu'))).to.be.below(1e-6);
      });
    }

    // The native average pool divides each window by its taps inside the image (TensorFlow's AvgPool;
    // tfjs's cpu and wasm AvgPoolGrad divide by the whole window at padded borders, ~30% off), checked
    // against brute-force sums over windows: the forward value and the gradient of sum(pool(x) * dy).
    const avgCases = path === 'native OpenBLAS'
      ? [[3, 1, 'same', [2, 7, 8, 5]], [3, 2, 'same', [1, 9, 7, 4]], [2, 2, 'valid', [3, 8, 8, 6]], [5, 3, 'valid', [2, 11, 13, 3]], [4, 3, 'same', [1, 10, 9, 17]]] as const
      : [];
    for (const [size, stride, pad, shape] of avgCases) {
      it(`avg-pool (${size}x${size}, stride ${stride}, '${pad}', ${shape.join('x')}) and its gradient equal sums over the windows' inside taps`, async () => {
        await tf.setBackend('wasm');
        const input = tf.randomNormal([...shape], 0, 1, 'float32', 24) as tf.Tensor4D;
        const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], size, stride, 1, pad);
        const dy = tf.randomNormal([shape[0], info.outHeight, info.outWidth, shape[3]], 0, 1, 'float32', 23);
        const attrs = { filterSize: size, strides: stride, pad } as unknown as tf.NamedAttrMap;
        const y = tf.engine().runKernel('AvgPool', { x: input }, attrs) as tf.Tensor;
        const dx = tf.engine().runKernel('AvgPoolGrad', { dy, input }, attrs) as tf.Tensor;
        const [gotY, gotDx, xs, up] = [y, dx, input, dy].map((t) => t.dataSync() as Float32Array);
        const [n, h, w, c] = shape;
        const wantY = new Float32Array(n * info.outHeight * info.outWidth * c);
        const wantDx = new Float32Array(n * h * w * c);
        for (let b = 0; b < n; b++) for (let oy = 0; oy < info.outHeight; oy++) for (let ox = 0; ox < info.outWidth; ox++) {
          const taps: number[] = [];
          for (let ky = 0; ky < size; ky++) for (let kx = 0; kx < size; kx++) {
            const iy = oy * stride - info.padInfo.top + ky;
            const ix = ox * stride - info.padInfo.left + kx;
            if (iy >= 0 && iy < h && ix >= 0 && ix < w) taps.push((b * h + iy) * w + ix);
          }
          const o = (b * info.outHeight + oy) * info.outWidth + ox;
          for (let ch = 0; ch < c; ch++) {
            for (const t of taps) {
              wantY[o * c + ch] += xs[t * c + ch] / taps.length;
              wantDx[t * c + ch] += up[o * c + ch] / taps.length;
            }
          }
        }
        expect(relativeError(gotY, wantY), 'forward').to.be.below(1e-6);
        expect(relativeError(gotDx, wantDx), 'gradient').to.be.below(1e-6);
        tf.dispose([input, dy, y, dx]);
      });
    }

    it('runs conv2dTranspose (a forward use of Conv2DBackpropInput) like the cpu backend', async () => {
      const run = async (backend: string) => {
        await tf.setBackend(backend);
        const x = tf.randomNormal([2, 5, 5, 6], 0, 1, 'float32', 3) as tf.Tensor4D;
        const w = tf.randomNormal([3, 3, 4, 6], 0, 1, 'float32', 4) as tf.Tensor4D;
        return (await tf.conv2dTranspose(x, w, [2, 10, 10, 4], 2, 'same').data()) as Float32Array;
      };
      expect(relativeError(await run('wasm'), await run('cpu'))).to.be.below(1e-4);
    });

    for (const [multiplier, stride, pad] of [[1, 1, 'same'], [1, 2, 'same'], [2, 1, 'valid'], [3, 2, 'valid'], [2, 2, 'same']] as const) {
      it(`depthwise conv input gradient (multiplier ${multiplier}, stride ${stride}, '${pad}') matches the cpu backend`, async () => {
        const grad = async (backend: string) => {
          await tf.setBackend(backend);
          const x = tf.randomNormal([2, 9, 8, 3], 0, 1, 'float32', 11) as tf.Tensor4D;
          const w = tf.randomNormal([3, 3, 3, multiplier], 0, 1, 'float32', 12) as tf.Tensor4D;
          const r = tf.randomNormal(tf.depthwiseConv2d(x, w, stride, pad).shape, 0, 1, 'float32', 13);
          const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, w, stride, pad), r)))(x);
          return (await dx.data()) as Float32Array;
        };
        expect(relativeError(await grad('wasm'), await grad('cpu'))).to.be.below(1e-4);
      });
    }

    it('gather is differentiable on wasm (UnsortedSegmentSum), with repeated indices summed', async () => {
      await tf.setBackend('wasm');
      const table = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
      const dTable = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, tf.tensor1d([2, 0, 2], 'int32')), tf.tensor2d([[1, 10], [100, 1000], [2, 20]]))))(table);
      // Row 2 is gathered twice: its gradient is the sum of both upstream rows.
      expect(Array.from(await dTable.data())).to.deep.equal([100, 1000, 0, 0, 3, 30]);
    });

    it('leaks no tensors across repeated gradient passes', async () => {
      await tf.setBackend('wasm');
      const x = tf.randomNormal([2, 8, 8, 3]) as tf.Tensor4D;
      const w = tf.randomNormal([3, 3, 3, 4]) as tf.Tensor4D;
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same')));
      const step = () => tf.dispose(g([x, w]));
      step();
      const before = tf.memory().numTensors;
      for (let i = 0; i < 20; i++) step();
      expect(tf.memory().numTensors).to.equal(before);
      tf.dispose([x, w]);
    });
  });
}

describeConvKernels('native OpenBLAS');
describeConvKernels('XNNPACK forward convolutions');

describe('native convolution addon', function () {
  let addon: NativeAddon;
  before(function () {
    addon = nativeAddonOrSkip(this);
  });

  it('refuses arrays that do not match the geometry with a named error instead of reading past them', () => {
    // x [1,4,4,2], filter [3,3,2,3], same padding: y [1,4,4,3].
    const geometry = Int32Array.from([1, 4, 4, 2, 3, 3, 3, 4, 4, 1, 1, 1, 1, 1, 1]);
    const x = new Float32Array(32);
    const filter = new Float32Array(54);
    expect(() => addon.conv2dForward(x, filter, new Float32Array(47), geometry)).to.throw(/do not match the geometry/);
    expect(() => addon.conv2dForward(x, filter, new Float32Array(48), geometry.subarray(0, 14))).to.throw(/geometry must be/);
    expect(() => addon.conv2dForward(x, new Int32Array(54) as unknown as Float32Array, new Float32Array(48), geometry)).to.throw(/do not match/);
  });

  it('computes a hand-checked 1-channel convolution (3x3 ones over a 3x3 ramp, same padding)', () => {
    const x = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const y = new Float32Array(9);
    addon.conv2dForward(x, new Float32Array(9).fill(1), y, Int32Array.from([1, 3, 3, 1, 3, 3, 1, 3, 3, 1, 1, 1, 1, 1, 1]));
    // Each output is the sum of its in-bounds 3x3 neighbourhood.
    expect(Array.from(y)).to.deep.equal([12, 21, 16, 27, 45, 33, 24, 39, 28]);
  });
});

describe('native max-pool gradient', function () {
  before(async function () {
    nativeAddonOrSkip(this);
    await initBackend({ quiet: true });
    if (tf.getBackend() !== 'wasm') this.skip();
    setNativeKernelsEnabled(true);
  });

  it('sends the gradient to the first maximum, counting values a float rounding apart as tied (as exact arithmetic and TensorFlow do)', () => {
    // Four 2x2 windows: a near-tie (an FMA's rounding of a flat region), a clear maximum, a
    // maximum 1e-3 above the rest (a real difference), and an exact tie.
    const rounded = Math.fround(1 + 2e-7);
    const x = tf.tensor4d([
      1, rounded, 0.5, 0.6,
      1, 1, 0.5, 0.5,
      2, 2, 3, 3,
      2, 2.002, 3, 3,
    ], [1, 4, 4, 1]);
    const dx = tf.tidy(() => tf.grad((a: tf.Tensor) => tf.sum(tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid')))(x));
    expect(Array.from(dx.dataSync())).to.deep.equal([
      1, 0, 0, 1,
      0, 0, 0, 0,
      0, 0, 1, 0,
      0, 1, 0, 0,
    ]);
    tf.dispose([x, dx]);
  });
});

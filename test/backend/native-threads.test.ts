/**
 * The native kernels split over several threads (native/src/parallel.c) compute what they compute
 * on one, and what the pure-JS cpu backend computes: convolutions (a batch split by images, one
 * image split by rows, pointwise split by pixels), their input gradient, max-pool's gradient, and
 * the fused bias + ReLU6 epilogue. Each case is large enough to be split (the addon keeps small calls
 * on one thread), and checked at 1, 2 and 3 threads.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { defaultNativeThreads, nativeThreads, setNativeThreads, withNativeThreads } from '../../src/backend';
import { ACTIVATION_GRADIENT, nativeGeometry, type NativeAddon } from '../../src/backend/native';
import { nativeAddonOrSkip, nativeWasmOrSkip } from '../support/native-fixture';
import { l2RelativeError as relativeError } from '../support/compare';

type Shape4 = [number, number, number, number];

interface Outputs { y: Float32Array; dx: Float32Array; parts: number[] }

let addon: NativeAddon;

/**
 * y = relu6(conv(x, w) + b) [fused, as folded models run] and d sum(conv(x, w) * r)/dx, on `backend`,
 * with the parts the native forward and input gradient ran in (1 elsewhere).
 */
async function convAndInputGradient(
  backend: string, x: Shape4, f: Shape4, stride: number, pad: 'same' | 'valid', dilation = 1,
): Promise<Outputs> {
  await tf.setBackend(backend);
  const xt = tf.randomNormal(x, 0, 1, 'float32', 11) as tf.Tensor4D;
  const wt = tf.randomNormal(f, 0, 0.3, 'float32', 12) as tf.Tensor4D;
  const bias = tf.randomNormal([f[3]], 0, 1, 'float32', 13) as tf.Tensor1D;
  const y = tf.fused.conv2d({ x: xt, filter: wt, strides: stride, pad, bias, activation: 'relu6', dilations: dilation });
  const forwardParts = backend === 'wasm' ? addon.lastParts() : 1;
  const r = tf.randomNormal(y.shape, 0, 1, 'float32', 14);
  // tfjs has no gradient for a dilated conv2d: there the input gradient is the plain one's.
  const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, wt, stride, pad, 'NHWC', dilation > 1 ? 1 : dilation), r)))(xt);
  const gradientParts = backend === 'wasm' ? addon.lastParts() : 1;
  const out = { y: (await y.data()) as Float32Array, dx: (await dx.data()) as Float32Array, parts: [forwardParts, gradientParts] };
  tf.dispose([xt, wt, bias, y, r, dx]);
  return out;
}

/** `run` with the native kernels on `threads` threads from this thread (held across its awaits). */
async function onThreads<T>(threads: number, run: () => Promise<T>): Promise<T> {
  const previous = setNativeThreads(threads);
  try {
    return await run();
  } finally {
    setNativeThreads(previous);
  }
}

describe('native kernels on several threads', function () {
  this.timeout(120000);
  before(async function () {
    addon = await nativeWasmOrSkip(this);
  });
  after(async () => {
    await tf.setBackend('wasm');
  });

  // `kernel`: the forward's kernel where the CPU has AVX2 + FMA (without them 'direct' becomes
  // 'im2col'); the cases cover every kernel and the edges of the direct and Winograd ones.
  // `parts`: the most parts the case is large enough to split into (default: every thread asked for).
  type Kernel = 'winograd' | 'direct' | 'pointwise' | 'im2col';
  const cases: { name: string; x: Shape4; f: Shape4; stride: number; pad: 'same' | 'valid'; dilation?: number; kernel: Kernel; parts?: number }[] = [
    { name: 'a batch, split by tiles across images', x: [8, 32, 32, 32], f: [3, 3, 32, 64], stride: 1, pad: 'same', kernel: 'winograd' },
    { name: 'one image, split by rows (stride 2, odd size)', x: [1, 129, 121, 32], f: [3, 3, 32, 96], stride: 2, pad: 'same', kernel: 'direct' },
    { name: 'pointwise, split by pixels', x: [4, 48, 48, 64], f: [1, 1, 64, 128], stride: 1, pad: 'valid', kernel: 'pointwise' },
    { name: 'a 5x3 filter, valid padding', x: [4, 60, 52, 16], f: [5, 3, 16, 48], stride: 1, pad: 'valid', kernel: 'direct' },
    { name: 'rows 4 divides and 6 does not, an 8-channel tail (40 outputs)', x: [128, 8, 8, 24], f: [3, 3, 24, 40], stride: 1, pad: 'same', kernel: 'direct' },
    { name: 'dilation 2, 3 input channels (an image layer)', x: [64, 40, 37, 3], f: [3, 3, 3, 32], stride: 1, pad: 'same', dilation: 2, kernel: 'direct' },
    { name: 'a deep layer (8x8x128)', x: [64, 8, 8, 128], f: [3, 3, 128, 128], stride: 1, pad: 'same', kernel: 'winograd' },
    { name: 'Winograd, odd sizes and valid padding (edge tiles; the input gradient padded by 2)', x: [8, 31, 29, 64], f: [3, 3, 64, 64], stride: 1, pad: 'valid', kernel: 'winograd' },
    { name: 'Winograd, one image whose side 4 does not divide (its input gradient: an 8-channel tail)', x: [1, 30, 30, 40], f: [3, 3, 40, 32], stride: 1, pad: 'same', kernel: 'winograd', parts: 1 },
    { name: 'Winograd on SGEMM (44 outputs: not a multiple of 8 for the AVX2 product kernel)', x: [4, 20, 20, 36], f: [3, 3, 36, 44], stride: 1, pad: 'same', kernel: 'winograd', parts: 1 },
    { name: 'too few tiles for Winograd (one 8x8x128 image)', x: [1, 8, 8, 128], f: [3, 3, 128, 128], stride: 1, pad: 'same', kernel: 'im2col', parts: 1 },
    { name: '20 outputs (not a multiple of 8)', x: [32, 30, 30, 16], f: [3, 3, 16, 20], stride: 1, pad: 'same', kernel: 'im2col' },
  ];
  const cpuHasAvx2Fma = (() => {
    try {
      const flags = new Set((/^flags\s*:\s*(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '').split(/\s+/));
      return process.arch === 'x64' && flags.has('avx2') && flags.has('fma');
    } catch {
      return false;
    }
  })();
  for (const c of cases) {
    it(`convolution, fused bias + ReLU6 and input gradient: ${c.name}`, async () => {
      const truth = await convAndInputGradient('cpu', c.x, c.f, c.stride, c.pad, c.dilation);
      const geometry = nativeGeometry(c.x, c.f, { strides: c.stride, pad: c.pad, dilations: c.dilation ?? 1, dataFormat: 'NHWC' });
      const expected = c.kernel === 'direct' && !cpuHasAvx2Fma ? 'im2col' : c.kernel;
      expect(addon.forwardKernel(geometry), 'the kernel this case is meant for').to.equal(expected);
      for (const threads of [1, 2, 3]) {
        const got = await onThreads(threads, () => convAndInputGradient('wasm', c.x, c.f, c.stride, c.pad, c.dilation));
        expect(relativeError(got.y, truth.y), `y, ${threads} threads`).to.be.below(1e-5);
        expect(relativeError(got.dx, truth.dx), `dx, ${threads} threads`).to.be.below(1e-5);
        // Split as asked (forward, input gradient): the threaded code ran, not only the serial path.
        const split = Math.min(threads, c.parts ?? threads);
        expect(got.parts, `parts at ${threads} threads`).to.deep.equal([split, split]);
      }
      // ReLU6 clipped some outputs at 6 and zeroed others: the epilogue was exercised, not skipped.
      expect(truth.y.some((v) => v === 6)).to.equal(true);
      expect(truth.y.some((v) => v === 0)).to.equal(true);
    });
  }

  it('max-pool gradient: the same routing on 1, 2 and 3 threads as on the cpu backend', async () => {
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      // Values on a coarse grid: many exact ties, routed to the window's first maximum.
      const x = tf.tidy(() => tf.div(tf.round(tf.mul(tf.randomNormal([8, 40, 40, 32], 0, 1, 'float32', 5), 2)), 2)) as tf.Tensor4D;
      const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, 3, 2, 'same'), tf.range(1, 8 * 20 * 20 * 32 + 1).reshape([8, 20, 20, 32]))))(x);
      if (backend === 'wasm') parts.push(addon.lastParts());
      const out = (await dx.data()) as Float32Array;
      tf.dispose([x, dx]);
      return out;
    };
    const parts: number[] = [];
    const truth = await run('cpu');
    for (const threads of [1, 2, 3]) {
      const got = await onThreads(threads, () => run('wasm'));
      expect(Array.from(got), `${threads} threads`).to.deep.equal(Array.from(truth));
    }
    expect(parts).to.deep.equal([1, 2, 3]);
  });

  it('takes every core on the main thread, one in a worker, and the GRADCAM_NATIVE_THREADS override; withNativeThreads restores the count', () => {
    expect(defaultNativeThreads({}, false)).to.equal(1);
    expect(defaultNativeThreads({ GRADCAM_NATIVE_THREADS: '3' }, true)).to.equal(3);
    expect(defaultNativeThreads({ GRADCAM_NATIVE_THREADS: 'lots' }, true)).to.be.at.least(1);
    const before = nativeThreads();
    expect(withNativeThreads(1, () => nativeThreads())).to.equal(1);
    expect(withNativeThreads(5, () => nativeThreads())).to.equal(5);
    expect(() => withNativeThreads(2, () => {
      throw new Error('inside');
    })).to.throw('inside');
    expect(nativeThreads()).to.equal(before);
  });

  // Each part sums its lines into its own dfilter; the parts are added up after.
  for (const [name, x, f, stride] of [
    ['3x3, a batch split by lines', [8, 30, 31, 32], [3, 3, 32, 32], 1],
    ['pointwise, split by pixels', [16, 32, 33, 64], [1, 1, 64, 64], 1],
    ['3x3 stride 2, one image split by rows', [1, 129, 121, 32], [3, 3, 32, 64], 2],
  ] as [string, Shape4, Shape4, number][]) {
    it(`filter gradient: ${name}, on 1, 2 and 3 threads, equals the sum over output pixels of x-patch x dy`, async () => {
      await tf.setBackend('wasm');
      const info = tf.backend_util.computeConv2DInfo(x, f, stride, 1, 'same');
      const xt = tf.randomNormal(x, 0, 1, 'float32', 41) as tf.Tensor4D;
      const dy = tf.randomNormal(info.outShape, 0, 1, 'float32', 43);
      const [xs, ys] = [xt.dataSync() as Float32Array, dy.dataSync() as Float32Array];
      // The definition, in doubles: dfilter[ky,kx,ci,co] = sum over (b,oy,ox) of x[b, oy*s-pt+ky, ox*s-pl+kx, ci] * dy[b,oy,ox,co].
      const [n, h, w, cin] = x;
      const [kh, kw, , cout] = f;
      const want = new Float64Array(kh * kw * cin * cout);
      for (let b = 0; b < n; b++) for (let oy = 0; oy < info.outHeight; oy++) for (let ox = 0; ox < info.outWidth; ox++) {
        const up = ((b * info.outHeight + oy) * info.outWidth + ox) * cout;
        for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++) {
          const iy = oy * stride - info.padInfo.top + ky, ix = ox * stride - info.padInfo.left + kx;
          if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
          const at = ((b * h + iy) * w + ix) * cin, tap = (ky * kw + kx) * cin;
          for (let ci = 0; ci < cin; ci++) {
            const v = xs[at + ci], row = (tap + ci) * cout;
            for (let co = 0; co < cout; co++) want[row + co] += v * ys[up + co];
          }
        }
      }
      const attrs = { strides: stride, pad: 'same', dataFormat: 'NHWC', filterShape: f } as unknown as tf.NamedAttrMap;
      for (const threads of [1, 2, 3]) {
        const [got, parts] = withNativeThreads(threads, () => {
          const df = tf.engine().runKernel('Conv2DBackpropFilter', { x: xt, dy }, attrs) as tf.Tensor;
          const split = addon.lastParts();
          const values = df.dataSync() as Float32Array;
          df.dispose();
          return [values, split] as const;
        });
        expect(relativeError(got, Float32Array.from(want)), `${threads} threads`).to.be.below(1e-5);
        expect(parts, `parts at ${threads} threads`).to.equal(threads);
      }
      tf.dispose([xt, dy]);
    });
  }

  // native/src/parallel.c keeps its pool threads between calls, and ends them after 5 s without one.
  it('reuses its pool threads from call to call, and an idle addon holds none after 5 s', async function () {
    if (!fs.existsSync('/proc/self/task')) this.skip(); // Linux: a process's threads are its tasks
    this.timeout(30000);
    const tasks = () => fs.readdirSync('/proc/self/task').length;
    const n = 400000;
    const [dy, y] = [Float32Array.from({ length: n }, (_, i) => Math.sin(i)), Float32Array.from({ length: n }, (_, i) => Math.cos(i))];
    const split = () => withNativeThreads(3, () => {
      addon.activationGradient(dy, y, new Float32Array(n), 1, false);
      return addon.lastParts();
    });
    expect(split(), 'a call split in 3 parts').to.equal(3);
    const withPool = tasks();
    for (let i = 0; i < 50; i++) split();
    expect(tasks(), 'no new thread per call').to.be.at.most(withPool);
    await new Promise((resolve) => setTimeout(resolve, 6000));
    expect(tasks(), 'both pool threads ended').to.be.at.most(withPool - 2);
    expect(split(), 'and the pool starts again').to.equal(3);
  });

  it('leaks no tensors', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    await onThreads(2, () => convAndInputGradient('wasm', [2, 24, 24, 16], [3, 3, 16, 32], 1, 'same'));
    expect(tf.memory().numTensors).to.equal(before);
  });
});

describe('native activation gradient (fused convolution chains under a gradient tape)', function () {
  let addon: NativeAddon;
  before(function () {
    addon = nativeAddonOrSkip(this);
  });

  it('is dy masked by the activation read from its output, with dy cut at 0 first when guided, for 1 and 2 threads', () => {
    const n = 300000; // large enough to be split
    const dy = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 3);
    const y = Float32Array.from({ length: n }, (_, i) => Math.max(0, Math.min(6, Math.cos(i * 0.11) * 8)));
    for (const [activation, top] of [[0, Infinity], [1, Infinity], [2, 6]] as [number, number][]) {
      for (const guided of [false, true]) {
        for (const threads of [1, 2]) {
          const dx = new Float32Array(n);
          withNativeThreads(threads, () => addon.activationGradient(dy, y, dx, activation, guided));
          const bad = dx.findIndex((v, i) => {
            const g = guided && dy[i] < 0 ? 0 : dy[i];
            const pass = activation === 0 || (y[i] > 0 && y[i] < top);
            return v !== (pass ? g : 0);
          });
          expect(bad, `activation ${activation}, guided ${guided}, ${threads} threads`).to.equal(-1);
          expect(addon.lastParts()).to.equal(threads);
        }
      }
    }
    expect(() => addon.activationGradient(dy, y, new Float32Array(3), 1, false)).to.throw(/one length/);
    // src/cam names the kernel without importing the backend (it bundles for browsers): the same name.
    expect(ACTIVATION_GRADIENT).to.equal('GradcamActivationGradient');
  });
});

describe('native depthwise convolution (MobileNet-style models on wasm)', function () {
  this.timeout(120000);
  let addon: NativeAddon;
  before(async function () {
    addon = await nativeWasmOrSkip(this);
  });
  after(async () => {
    await tf.setBackend('wasm');
  });

  /** relu6(depthwise(x, w) + b) fused, the plain depthwise, and d sum(depthwise(x, w) * r)/dx. */
  const run = async (backend: string, x: Shape4, f: Shape4, stride: number, pad: 'same' | 'valid') => {
    await tf.setBackend(backend);
    const xt = tf.randomNormal(x, 0, 1, 'float32', 21) as tf.Tensor4D;
    const wt = tf.randomNormal(f, 0, 0.5, 'float32', 22) as tf.Tensor4D;
    const bias = tf.randomNormal([f[2] * f[3]], 0, 1, 'float32', 23) as tf.Tensor1D;
    const fused = tf.fused.depthwiseConv2d({ x: xt, filter: wt, strides: stride, pad, bias, activation: 'relu6' });
    const plain = tf.depthwiseConv2d(xt, wt, stride, pad);
    const parts = backend === 'wasm' ? addon.lastParts() : 1;
    const r = tf.randomNormal(plain.shape, 0, 1, 'float32', 24);
    const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, wt, stride, pad), r)))(xt);
    const out = [await fused.data(), await plain.data(), await dx.data()] as Float32Array[];
    tf.dispose([xt, wt, bias, fused, plain, r, dx]);
    return { out, parts };
  };

  const cases: { x: Shape4; f: Shape4; stride: number; pad: 'same' | 'valid' }[] = [
    { x: [1, 113, 97, 96], f: [3, 3, 96, 1], stride: 2, pad: 'same' }, // one image, split by rows
    { x: [3, 40, 40, 64], f: [3, 3, 64, 1], stride: 1, pad: 'same' },
    { x: [2, 31, 29, 24], f: [5, 3, 24, 2], stride: 2, pad: 'valid' }, // channel multiplier 2
  ];
  for (const c of cases) {
    it(`equals the cpu backend on 1 and 2 threads: x ${c.x.join('x')}, filter ${c.f.join('x')}, stride ${c.stride}, ${c.pad}`, async () => {
      const truth = await run('cpu', c.x, c.f, c.stride, c.pad);
      for (const threads of [1, 2]) {
        const previous = setNativeThreads(threads);
        try {
          const got = await run('wasm', c.x, c.f, c.stride, c.pad);
          got.out.forEach((values, k) => expect(relativeError(values, truth.out[k]), `output ${k}, ${threads} threads`).to.be.below(1e-5));
          if (c.x[0] * c.x[1] * c.x[2] * c.x[3] * 9 * c.f[3] > 4e6) expect(got.parts, `${threads} threads`).to.equal(threads);
        } finally {
          setNativeThreads(previous);
        }
      }
    });
  }

  it('refuses a filter that does not match the geometry', () => {
    const geometry = Int32Array.from([1, 4, 4, 2, 3, 3, 2, 4, 4, 1, 1, 1, 1, 1, 1]);
    expect(() => addon.depthwiseForward(new Float32Array(32), new Float32Array(17), new Float32Array(32), geometry)).to.throw(/do not match the geometry/);
  });
});

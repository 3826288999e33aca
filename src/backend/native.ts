/**
 * Native convolutions for the wasm backend: im2col + OpenBLAS SGEMM in a small Node-API addon
 * (native/), run directly on the wasm heap through Float32Array views, so nothing is copied.
 *
 * Why: XNNPACK in wasm has 128-bit SIMD and no FMA, about a third of what the same core does
 * with AVX2 + FMA, and convolutions are ~85% of a training step. tfjs-node would bring native
 * kernels too, but it needs libtensorflow from the internet; this addon needs only Debian's
 * libopenblas-dev and is built at install time (native/build.js). When it is absent the wasm
 * kernels of wasm-gradients.ts run unchanged, and `GRADCAM_NATIVE=0` turns it off on purpose.
 *
 * Kernels replaced on 'wasm': Conv2D, FusedConv2D (bias + linear/ReLU), Conv2DBackpropInput,
 * Conv2DBackpropFilter and MaxPoolGrad (a fifth of a step once the convolutions were native),
 * each for NHWC float32; anything else goes to the kernel it replaced. Two new kernels,
 * BATCH_NORM_TRAIN and BATCH_NORM_GRADIENT, do training-time batch norm in two passes each way
 * (src/model/batch-norm.ts uses them when `nativeBatchNormAvailable()`).
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';

export const NATIVE_ENV = 'GRADCAM_NATIVE';

/** The addon's exports (native/src/binding.c). */
export interface NativeConvolutions {
  conv2dForward(x: Float32Array, filter: Float32Array, y: Float32Array, geometry: Int32Array): void;
  conv2dFilterGradient(x: Float32Array, dy: Float32Array, dfilter: Float32Array, geometry: Int32Array): void;
  conv2dInputGradient(dy: Float32Array, filter: Float32Array, dx: Float32Array, geometry: Int32Array): void;
  batchNormTrain(x: Float32Array, gamma: Float32Array, beta: Float32Array, epsilon: number,
    y: Float32Array, mean: Float32Array, variance: Float32Array, invStd: Float32Array): void;
  batchNormGradient(x: Float32Array, dy: Float32Array, mean: Float32Array, invStd: Float32Array, gamma: Float32Array,
    dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array): void;
  maxPoolGradient(x: Float32Array, dy: Float32Array, dx: Float32Array, geometry: Int32Array): void;
  addBiasActivation(y: Float32Array, bias: Float32Array | null, channels: number, relu: boolean): void;
  setThreads(threads: number): void;
  blasConfig(): string;
}

export type NativeStatus = { loaded: true; addon: NativeConvolutions; blas: string } | { loaded: false; reason: string };

const NATIVE_DIR = path.resolve(__dirname, '..', '..', 'native');
export const NATIVE_ADDON_PATH = path.join(NATIVE_DIR, 'build', 'Release', 'gradcam_native.node');

let status: NativeStatus | undefined;

/** Loads the addon once; says why not when it cannot (not built, disabled, wrong platform). */
export function loadNative(): NativeStatus {
  if (status) return status;
  if (process.env[NATIVE_ENV] === '0') {
    status = { loaded: false, reason: `disabled by ${NATIVE_ENV}=0` };
    return status;
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const addon = require(NATIVE_ADDON_PATH) as NativeConvolutions;
    // Parallelism comes from data-parallel workers, one SGEMM thread each; OpenBLAS's own
    // thread pool would make two workers fight over both cores.
    addon.setThreads(1);
    status = { loaded: true, addon, blas: addon.blasConfig() };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    status = {
      loaded: false,
      reason: code === 'MODULE_NOT_FOUND'
        ? `the native addon is not built (build it with \`node ${path.join(NATIVE_DIR, 'build.js')}\`; it needs libopenblas-dev)`
        : `the native addon failed to load: ${(err as Error).message.split('\n')[0]}`,
    };
  }
  return status;
}

/** What the wasm backend exposes of its heap (tfjs-backend-wasm's BackendWasm). */
interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

interface ConvAttrs {
  strides: number | [number, number];
  pad: 'same' | 'valid' | number | ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dilations: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}
type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];

type Shape4 = [number, number, number, number];

/** The addon's 15-field geometry, from tfjs's own conv arithmetic (same padding rules). */
export function nativeGeometry(xShape: Shape4, filterShape: Shape4, attrs: ConvAttrs): Int32Array {
  const info = tf.backend_util.computeConv2DInfo(
    xShape, filterShape, attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast',
  );
  return Int32Array.from([
    info.batchSize, info.inHeight, info.inWidth, info.inChannels,
    info.filterHeight, info.filterWidth, info.outChannels,
    info.outHeight, info.outWidth,
    info.strideHeight, info.strideWidth,
    info.padInfo.top, info.padInfo.left,
    info.dilationHeight, info.dilationWidth,
  ]);
}

/** The addon's 12-field pooling geometry, from tfjs's own pooling arithmetic. */
export function nativePoolGeometry(xShape: Shape4, attrs: PoolAttrs): Int32Array {
  const info = tf.backend_util.computePool2DInfo(xShape, attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  return Int32Array.from([
    info.batchSize, info.inHeight, info.inWidth, info.inChannels,
    info.filterHeight, info.filterWidth,
    info.outHeight, info.outWidth,
    info.strideHeight, info.strideWidth,
    info.padInfo.top, info.padInfo.left,
  ]);
}

interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid' | number | ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

type KernelArgs = Parameters<tf.KernelFunc>[0];

let enabled = true;

/** Routes work to the native kernels (default) or back to the wasm ones, e.g. to compare them. */
export function setNativeConvolutionsEnabled(on: boolean): void {
  enabled = on;
}

export const BATCH_NORM_TRAIN = 'GradcamBatchNormTrain';
export const BATCH_NORM_GRADIENT = 'GradcamBatchNormGradient';

/** Whether the native batch-norm kernels can run on the current backend now. */
export function nativeBatchNormAvailable(): boolean {
  return enabled && tf.getKernel(BATCH_NORM_TRAIN, tf.getBackend()) !== undefined;
}

function isNativeCase(args: KernelArgs, names: string[]): boolean {
  if (!enabled) return false;
  const attrs = args.attrs as unknown as Partial<ConvAttrs>;
  if (attrs.dataFormat === 'NCHW') return false;
  return names.every((n) => (args.inputs[n] as tf.TensorInfo | undefined)?.dtype === 'float32');
}

/** Replaces a wasm kernel; the one replaced keeps every case the native path does not take. */
function override(kernelName: string, names: string[], native: (args: KernelArgs, heap: WasmHeapBackend) => tf.TensorInfo): void {
  const previous = tf.getKernel(kernelName, 'wasm');
  if (!previous) throw new Error(`No wasm kernel ${kernelName} to accelerate; register the wasm backend first.`);
  tf.unregisterKernel(kernelName, 'wasm');
  tf.registerKernel({
    kernelName,
    backendName: 'wasm',
    kernelFunc: (args) => (isNativeCase(args, names) ? native(args, args.backend as unknown as WasmHeapBackend) : previous.kernelFunc(args)) as tf.TensorInfo,
  });
}

let registered = false;

/** Registers the native kernels on 'wasm' once. Returns why not when the addon is unavailable. */
export function registerNativeConvolutions(): NativeStatus {
  const loaded = loadNative();
  if (!loaded.loaded || registered) return loaded;
  registered = true;
  const addon = loaded.addon;

  override('Conv2D', ['x', 'filter'], (args, heap) => {
    const x = args.inputs.x as tf.TensorInfo;
    const filter = args.inputs.filter as tf.TensorInfo;
    const geometry = nativeGeometry(x.shape as Shape4, filter.shape as Shape4, args.attrs as unknown as ConvAttrs);
    const out = heap.makeOutput([geometry[0], geometry[7], geometry[8], geometry[6]], 'float32');
    // Views are taken after makeOutput: allocating can grow the wasm memory and detach them.
    addon.conv2dForward(heap.typedArrayFromHeap(x), heap.typedArrayFromHeap(filter), heap.typedArrayFromHeap(out), geometry);
    return out;
  });

  const fusedPrevious = tf.getKernel('FusedConv2D', 'wasm');
  override('FusedConv2D', ['x', 'filter'], (args, heap) => {
    const { activation } = args.attrs as unknown as { activation?: string };
    const { bias, preluActivationWeights } = args.inputs as { bias?: tf.TensorInfo; preluActivationWeights?: tf.TensorInfo };
    const epilogueSupported = (activation === 'linear' || activation === 'relu' || activation === undefined) &&
      !preluActivationWeights && (!bias || (bias.shape.length === 1 && bias.dtype === 'float32'));
    if (!epilogueSupported && fusedPrevious) return fusedPrevious.kernelFunc(args) as tf.TensorInfo;
    const x = args.inputs.x as tf.TensorInfo;
    const filter = args.inputs.filter as tf.TensorInfo;
    const geometry = nativeGeometry(x.shape as Shape4, filter.shape as Shape4, args.attrs as unknown as ConvAttrs);
    const out = heap.makeOutput([geometry[0], geometry[7], geometry[8], geometry[6]], 'float32');
    const y = heap.typedArrayFromHeap(out);
    addon.conv2dForward(heap.typedArrayFromHeap(x), heap.typedArrayFromHeap(filter), y, geometry);
    if (bias || activation === 'relu') {
      addon.addBiasActivation(y, bias ? heap.typedArrayFromHeap(bias) : null, geometry[6], activation === 'relu');
    }
    return out;
  });

  override('Conv2DBackpropInput', ['dy', 'filter'], (args, heap) => {
    const dy = args.inputs.dy as tf.TensorInfo;
    const filter = args.inputs.filter as tf.TensorInfo;
    const { inputShape } = args.attrs as unknown as { inputShape: Shape4 };
    const geometry = nativeGeometry(inputShape, filter.shape as Shape4, args.attrs as unknown as ConvAttrs);
    const out = heap.makeOutput([...inputShape], 'float32');
    addon.conv2dInputGradient(heap.typedArrayFromHeap(dy), heap.typedArrayFromHeap(filter), heap.typedArrayFromHeap(out), geometry);
    return out;
  });

  override('Conv2DBackpropFilter', ['x', 'dy'], (args, heap) => {
    const x = args.inputs.x as tf.TensorInfo;
    const dy = args.inputs.dy as tf.TensorInfo;
    const { filterShape } = args.attrs as unknown as { filterShape: Shape4 };
    const geometry = nativeGeometry(x.shape as Shape4, filterShape, args.attrs as unknown as ConvAttrs);
    const out = heap.makeOutput([...filterShape], 'float32');
    addon.conv2dFilterGradient(heap.typedArrayFromHeap(x), heap.typedArrayFromHeap(dy), heap.typedArrayFromHeap(out), geometry);
    return out;
  });

  override('MaxPoolGrad', ['dy', 'input'], (args, heap) => {
    const dy = args.inputs.dy as tf.TensorInfo;
    const input = args.inputs.input as tf.TensorInfo;
    const geometry = nativePoolGeometry(input.shape as Shape4, args.attrs as unknown as PoolAttrs);
    const out = heap.makeOutput([...input.shape], 'float32');
    addon.maxPoolGradient(heap.typedArrayFromHeap(input), heap.typedArrayFromHeap(dy), heap.typedArrayFromHeap(out), geometry);
    return out;
  });

  // Inputs: x [..., C] float32, gamma [C], beta [C]; outputs: y (x's shape), mean, variance, invStd [C].
  tf.registerKernel({
    kernelName: BATCH_NORM_TRAIN,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const heap = args.backend as unknown as WasmHeapBackend;
      const { x, gamma, beta } = args.inputs as { x: tf.TensorInfo; gamma: tf.TensorInfo; beta: tf.TensorInfo };
      const { epsilon } = args.attrs as unknown as { epsilon: number };
      const channels = gamma.shape[0];
      const outputs = [heap.makeOutput([...x.shape], 'float32'), ...[0, 1, 2].map(() => heap.makeOutput([channels], 'float32'))];
      const [y, mean, variance, invStd] = outputs.map((o) => heap.typedArrayFromHeap(o));
      addon.batchNormTrain(heap.typedArrayFromHeap(x), heap.typedArrayFromHeap(gamma), heap.typedArrayFromHeap(beta), epsilon, y, mean, variance, invStd);
      return outputs;
    },
  });

  // Inputs: x, dy, mean, invStd, gamma; outputs: dx, dgamma, dbeta.
  tf.registerKernel({
    kernelName: BATCH_NORM_GRADIENT,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const heap = args.backend as unknown as WasmHeapBackend;
      const { x, dy, mean, invStd, gamma } = args.inputs as Record<'x' | 'dy' | 'mean' | 'invStd' | 'gamma', tf.TensorInfo>;
      const channels = gamma.shape[0];
      const outputs = [heap.makeOutput([...x.shape], 'float32'), heap.makeOutput([channels], 'float32'), heap.makeOutput([channels], 'float32')];
      const [dx, dgamma, dbeta] = outputs.map((o) => heap.typedArrayFromHeap(o));
      const view = (t: tf.TensorInfo) => heap.typedArrayFromHeap(t);
      addon.batchNormGradient(view(x), view(dy), view(mean), view(invStd), view(gamma), dx, dgamma, dbeta);
      return outputs;
    },
  });
  return loaded;
}

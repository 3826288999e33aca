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
 * Kernels replaced on 'wasm': Conv2D, FusedConv2D (bias + linear/ReLU/ReLU6), the depthwise forward,
 * fused forward and input gradient (dilation 1), Conv2DBackpropInput,
 * Conv2DBackpropFilter, MaxPoolGrad (a fifth of a step once the convolutions were native),
 * AvgPoolGrad and BatchMatMul, each for NHWC float32; anything else goes to the kernel it replaced. Two new kernels,
 * BATCH_NORM_TRAIN and BATCH_NORM_GRADIENT, do training-time batch norm in two passes each way
 * (src/model/batch-norm.ts uses them when `nativeBatchNormAvailable()`).
 *
 * Threads: called from the main thread, the convolutions, their input gradient and max-pool's
 * gradient split their rows over every core (native/src/parallel.c: short-lived threads, no
 * spinning); in a worker thread (data-parallel training, the inference and explanation pools) they
 * stay on that one thread, since the pool already has a thread per core. GRADCAM_NATIVE_THREADS=N
 * sets the main thread's count; `withNativeThreads` changes it for one call.
 */
import * as os from 'os';
import * as path from 'path';
import { isMainThread } from 'worker_threads';
import * as tf from '@tensorflow/tfjs';
import { BROADCAST_OPS, broadcastPlan, type BroadcastOp } from './broadcast-plan';
import { matMulPlan, type MatMulAttrs } from './matmul-plan';
import type { NativeAddon } from './native-addon';
import { chooseOpenBlasCore } from './openblas-core';
import { replaceWasmKernel } from './wasm-kernel';

export const NATIVE_ENV = 'GRADCAM_NATIVE';
export const NATIVE_THREADS_ENV = 'GRADCAM_NATIVE_THREADS';

export type { NativeAddon } from './native-addon';

export type NativeStatus = { loaded: true; addon: NativeAddon; blas: string } | { loaded: false; reason: string };

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
    chooseOpenBlasCore(); // before OpenBLAS loads: it reads the choice once
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const addon = require(NATIVE_ADDON_PATH) as NativeAddon;
    addon.setThreads(defaultNativeThreads());
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

/**
 * The main thread's kernels use every core (GRADCAM_NATIVE_THREADS overrides); a worker thread's
 * use one, because the pools and data-parallel training already run a worker per core.
 */
export function defaultNativeThreads(env: NodeJS.ProcessEnv = process.env, main: boolean = isMainThread): number {
  if (!main) return 1;
  const asked = Number(env[NATIVE_THREADS_ENV]);
  if (Number.isInteger(asked) && asked >= 1) return asked;
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, cores);
}

/** Threads the native kernels use when called from this JS thread (1 when the addon is not loaded). */
export function nativeThreads(): number {
  return status?.loaded ? status.addon.threads() : 1;
}

/** Sets the threads the native kernels use from this JS thread, if the addon is loaded; returns the previous count. */
export function setNativeThreads(threads: number): number {
  if (!status?.loaded) return 1;
  const previous = status.addon.threads();
  status.addon.setThreads(Math.max(1, Math.min(64, Math.floor(threads))));
  return previous;
}

/**
 * Runs `fn` with the native kernels on `threads` threads from this JS thread, then restores the
 * count: a pool's own shard on the main thread takes one core while its workers take the rest.
 */
export function withNativeThreads<T>(threads: number, fn: () => T): T {
  const previous = setNativeThreads(threads);
  try {
    return fn();
  } finally {
    setNativeThreads(previous);
  }
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
export function nativeGeometry(xShape: Shape4, filterShape: Shape4, attrs: ConvAttrs, depthwise = false): Int32Array {
  const info = tf.backend_util.computeConv2DInfo(
    xShape, filterShape, attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode, depthwise, 'channelsLast',
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
export function setNativeKernelsEnabled(on: boolean): void {
  enabled = on;
}

export const BATCH_NORM_TRAIN = 'GradcamBatchNormTrain';
/** Inputs dy, y (the activation's output); attrs activation ('linear' | 'relu' | 'relu6'), guided. */
export const ACTIVATION_GRADIENT = 'GradcamActivationGradient';
export const BATCH_NORM_GRADIENT = 'GradcamBatchNormGradient';

/** Whether the native batch-norm kernels can run on the current backend now. */
export function nativeBatchNormAvailable(): boolean {
  return enabled && tf.getKernel(BATCH_NORM_TRAIN, tf.getBackend()) !== undefined;
}

function isNativeCase(args: KernelArgs, names: string[]): boolean {
  if (!enabled) return false;
  const attrs = (args.attrs ?? {}) as unknown as Partial<ConvAttrs>; // binary ops have none
  if (attrs.dataFormat === 'NCHW') return false;
  return names.every((n) => (args.inputs[n] as tf.TensorInfo | undefined)?.dtype === 'float32');
}

/** Replaces a wasm kernel; the one replaced keeps every case the native path does not take. */
function override(
  kernelName: string,
  names: string[],
  native: (args: KernelArgs, heap: WasmHeapBackend) => tf.TensorInfo | undefined,
): void {
  if (!tf.getKernel(kernelName, 'wasm')) throw new Error(`No wasm kernel ${kernelName} to accelerate; register the wasm backend first.`);
  // `native` returns undefined for a case it leaves to tfjs-wasm, having worked out its plan once.
  replaceWasmKernel(kernelName, (args) => (isNativeCase(args, names) ? native(args, args.backend as unknown as WasmHeapBackend) : undefined));
}

/**
 * Allocates float32 outputs on the wasm heap, then hands `run` views of the inputs and outputs.
 * The order matters: allocating can grow the wasm memory, which detaches views taken before.
 */
function onHeap(
  heap: WasmHeapBackend,
  inputs: tf.TensorInfo[],
  outputShapes: number[][],
  run: (inputs: Float32Array[], outputs: Float32Array[]) => void,
): tf.TensorInfo[] {
  const outputs = outputShapes.map((shape) => heap.makeOutput(shape, 'float32'));
  run(inputs.map((t) => heap.typedArrayFromHeap(t)), outputs.map((t) => heap.typedArrayFromHeap(t)));
  return outputs;
}

function conv2dOutputShape(geometry: Int32Array): number[] {
  return [geometry[0], geometry[7], geometry[8], geometry[6]];
}

/** FusedConv2D's epilogues the addon has (native/src/conv.h): an optional 1-D bias, then one of these. */
const EPILOGUES: Record<string, number> = { linear: 0, relu: 1, relu6: 2 };

function fusedEpilogueSupported(args: KernelArgs): boolean {
  const { activation } = args.attrs as unknown as { activation?: string };
  const { bias, preluActivationWeights } = args.inputs as { bias?: tf.TensorInfo; preluActivationWeights?: tf.TensorInfo };
  return (activation === undefined || Object.prototype.hasOwnProperty.call(EPILOGUES, activation)) && !preluActivationWeights &&
    (!bias || (bias.shape.length === 1 && bias.dtype === 'float32'));
}

let registered = false;

/** Registers the native kernels on 'wasm' once. Returns why not when the addon is unavailable. */
export function registerNativeKernels(): NativeStatus {
  const loaded = loadNative();
  if (!loaded.loaded || registered) return loaded;
  registered = true;
  const addon = loaded.addon;
  const convAttrs = (args: KernelArgs) => args.attrs as unknown as ConvAttrs;

  override('Conv2D', ['x', 'filter'], (args, heap) => {
    const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
    const geometry = nativeGeometry(x.shape as Shape4, filter.shape as Shape4, convAttrs(args));
    return onHeap(heap, [x, filter], [conv2dOutputShape(geometry)], ([xs, f], [y]) => addon.conv2dForward(xs, f, y, geometry))[0];
  });

  override('FusedConv2D', ['x', 'filter'], (args, heap) => {
    if (!fusedEpilogueSupported(args)) return undefined;
    const { x, filter, bias } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo; bias?: tf.TensorInfo };
    const activation = EPILOGUES[(args.attrs as unknown as { activation?: string }).activation ?? 'linear'];
    const geometry = nativeGeometry(x.shape as Shape4, filter.shape as Shape4, convAttrs(args));
    return onHeap(heap, bias ? [x, filter, bias] : [x, filter], [conv2dOutputShape(geometry)],
      ([xs, f, b], [y]) => addon.conv2dForward(xs, f, y, geometry, b ?? null, activation))[0];
  });

  // Depthwise (MobileNet-style models), dilation 1: forward, fused forward and the input gradient.
  const undilated = (args: KernelArgs): boolean => {
    const d = convAttrs(args).dilations ?? 1;
    return Array.isArray(d) ? d.every((v) => v === 1) : d === 1;
  };
  override('DepthwiseConv2dNative', ['x', 'filter'], (args, heap) => {
    if (!undilated(args)) return undefined;
    const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
    const geometry = nativeGeometry(x.shape as Shape4, filter.shape as Shape4, convAttrs(args), true);
    return onHeap(heap, [x, filter], [conv2dOutputShape(geometry)], ([xs, f], [y]) => addon.depthwiseForward(xs, f, y, geometry))[0];
  });

  override('FusedDepthwiseConv2D', ['x', 'filter'], (args, heap) => {
    if (!undilated(args) || !fusedEpilogueSupported(args)) return undefined;
    const { x, filter, bias } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo; bias?: tf.TensorInfo };
    const activation = EPILOGUES[(args.attrs as unknown as { activation?: string }).activation ?? 'linear'];
    const geometry = nativeGeometry(x.shape as Shape4, filter.shape as Shape4, convAttrs(args), true);
    return onHeap(heap, bias ? [x, filter, bias] : [x, filter], [conv2dOutputShape(geometry)], ([xs, f, b], [y]) => {
      addon.depthwiseForward(xs, f, y, geometry);
      if (b || activation) addon.addBiasActivation(y, b ?? null, geometry[6], activation);
    })[0];
  });

  override('DepthwiseConv2dNativeBackpropInput', ['dy', 'filter'], (args, heap) => {
    if (!undilated(args)) return undefined;
    const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const { inputShape } = args.attrs as unknown as { inputShape: Shape4 };
    const geometry = nativeGeometry(inputShape, filter.shape as Shape4, convAttrs(args), true);
    return onHeap(heap, [dy, filter], [[...inputShape]], ([g, f], [dx]) => addon.depthwiseInputGradient(g, f, dx, geometry))[0];
  });

  override('Conv2DBackpropInput', ['dy', 'filter'], (args, heap) => {
    const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const { inputShape } = args.attrs as unknown as { inputShape: Shape4 };
    const geometry = nativeGeometry(inputShape, filter.shape as Shape4, convAttrs(args));
    return onHeap(heap, [dy, filter], [[...inputShape]], ([g, f], [dx]) => addon.conv2dInputGradient(g, f, dx, geometry))[0];
  });

  override('Conv2DBackpropFilter', ['x', 'dy'], (args, heap) => {
    const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const { filterShape } = args.attrs as unknown as { filterShape: Shape4 };
    const geometry = nativeGeometry(x.shape as Shape4, filterShape, convAttrs(args));
    return onHeap(heap, [x, dy], [[...filterShape]], ([xs, g], [df]) => addon.conv2dFilterGradient(xs, g, df, geometry))[0];
  });

  // tfjs-wasm's BatchMatMul is ~10x slower than one SGEMM for many small products (Grad-CAM's maps
  // for every class, a dense layer's gradient, attention). Batches of 1 broadcast; any other
  // broadcast keeps the wasm kernel.
  override('BatchMatMul', ['a', 'b'], (args, heap) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const plan = matMulPlan(a.shape, b.shape, args.attrs as unknown as MatMulAttrs);
    return plan && onHeap(heap, [a, b], [plan.outShape], ([as, bs], [c]) => addon.batchMatMul(as, bs, c, plan.geometry))[0];
  });

  // tfjs-wasm's broadcasting binary kernels index every element through the general shape math: 2.1 ms
  // for Score-CAM's [1, 32, 32, 3] x [128, 32, 32, 1] masking, where a same-shape one takes 0.1 ms.
  for (const op of Object.keys(BROADCAST_OPS) as BroadcastOp[]) {
    override(op, ['a', 'b'], (args, heap) => {
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const plan = broadcastPlan(op, a.shape, b.shape);
      return plan && onHeap(heap, [a, b], [plan.outShape], ([as, bs], [out]) => addon.broadcastBinary(as, bs, out, plan.geometry))[0];
    });
  }

  // tfjs-wasm's MaxPool took 2.5 ms for a [128, 32, 32, 32] 2x2 pool (a Score-CAM pass on the shipped model).
  override('MaxPool', ['x'], (args, heap) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const geometry = nativePoolGeometry(x.shape as Shape4, args.attrs as unknown as PoolAttrs);
    // An empty input or output keeps the wasm kernel (the addon takes positive sizes only).
    if (!geometry.slice(0, 10).every((v) => v > 0)) return undefined;
    const outShape = [geometry[0], geometry[6], geometry[7], geometry[3]];
    return onHeap(heap, [x], [outShape], ([xs], [y]) => addon.maxPool(xs, y, geometry))[0];
  });

  override('MaxPoolGrad', ['dy', 'input'], (args, heap) => {
    const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const geometry = nativePoolGeometry(input.shape as Shape4, args.attrs as unknown as PoolAttrs);
    return onHeap(heap, [input, dy], [[...input.shape]], ([xs, g], [dx]) => addon.maxPoolGradient(xs, g, dx, geometry))[0];
  });

  override('AvgPoolGrad', ['dy', 'input'], (args, heap) => {
    const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const geometry = nativePoolGeometry(input.shape as Shape4, args.attrs as unknown as PoolAttrs);
    return onHeap(heap, [dy], [[...input.shape]], ([g], [dx]) => addon.avgPoolGradient(g, dx, geometry))[0];
  });

  tf.registerKernel({
    kernelName: ACTIVATION_GRADIENT,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { dy, y } = args.inputs as Record<'dy' | 'y', tf.TensorInfo>;
      const { activation, guided } = args.attrs as unknown as { activation: string; guided: boolean };
      return onHeap(args.backend as unknown as WasmHeapBackend, [dy, y], [[...dy.shape]],
        ([g, out], [dx]) => addon.activationGradient(g, out, dx, EPILOGUES[activation], guided))[0];
    },
  });

  // Inputs x [..., C], gamma [C], beta [C]; outputs y (x's shape), mean, variance, invStd [C].
  tf.registerKernel({
    kernelName: BATCH_NORM_TRAIN,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { x, gamma, beta } = args.inputs as Record<'x' | 'gamma' | 'beta', tf.TensorInfo>;
      const { epsilon } = args.attrs as unknown as { epsilon: number };
      const c = [gamma.shape[0]];
      return onHeap(args.backend as unknown as WasmHeapBackend, [x, gamma, beta], [[...x.shape], c, c, c],
        ([xs, g, b], [y, mean, variance, invStd]) => addon.batchNormTrain(xs, g, b, epsilon, y, mean, variance, invStd));
    },
  });

  // Inputs x, dy, mean, invStd, gamma; outputs dx, dgamma, dbeta.
  tf.registerKernel({
    kernelName: BATCH_NORM_GRADIENT,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { x, dy, mean, invStd, gamma } = args.inputs as Record<'x' | 'dy' | 'mean' | 'invStd' | 'gamma', tf.TensorInfo>;
      const c = [gamma.shape[0]];
      return onHeap(args.backend as unknown as WasmHeapBackend, [x, dy, mean, invStd, gamma], [[...x.shape], c, c],
        (ins, [dx, dgamma, dbeta]) => addon.batchNormGradient(ins[0], ins[1], ins[2], ins[3], ins[4], dx, dgamma, dbeta));
    },
  });
  return loaded;
}

/**
 * The native addon (native/: im2col + OpenBLAS SGEMM, Winograd, direct AVX2 kernels in a small
 * Node-API addon): loading it, its threads, and the geometry it takes from tfjs's conv and pool
 * arithmetic. src/backend/native-kernels.ts registers its kernels on wasm (on the heap, nothing copied)
 * and on tfjs-node (on the arrays tfjs-node keeps for tensors written from JavaScript).
 *
 * Why: XNNPACK in wasm has 128-bit SIMD and no FMA, about a third of what the same core does with
 * AVX2 + FMA, and TensorFlow 2.9's kernels in tfjs-node were 3-7x slower than these on the shipped
 * model's layers. The addon needs only Debian's libopenblas-dev and is built at install time
 * (native/build.js). When it is absent the backends' own kernels run unchanged, and
 * `GRADCAM_NATIVE=0` turns it off on purpose.
 *
 * Threads: called from the main thread, the convolutions, their gradients and the pools split their
 * rows over every core (native/src/parallel.c: the addon's threads stay between calls, spin 50 us,
 * then sleep, and end after 5 s idle); in a worker thread (data-parallel training, the inference and explanation pools) they
 * stay on that one thread, since the pool already has a thread per core. GRADCAM_NATIVE_THREADS=N
 * sets the main thread's count; `withNativeThreads` changes it for one call.
 */
import * as os from 'os';
import * as path from 'path';
import { isMainThread } from 'worker_threads';
import * as tf from '@tensorflow/tfjs';
import type { NativeAddon } from './native-addon';
import { chooseOpenBlasCore } from './openblas-core';

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

export interface ConvAttrs {
  strides: number | [number, number];
  pad: 'same' | 'valid' | number | ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dilations: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}
export type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];

export type Shape4 = [number, number, number, number];

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

export interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid' | number | ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

let enabled = true;

/** Routes work to the native kernels (default) or back to the wasm ones, e.g. to compare them. */
export function setNativeKernelsEnabled(on: boolean): void {
  enabled = on;
}

export function nativeKernelsEnabled(): boolean {
  return enabled;
}

export const BATCH_NORM_TRAIN = 'GradcamBatchNormTrain';
/** Inputs dy, y (the activation's output); attrs activation ('linear' | 'relu' | 'relu6'), guided. */
export const ACTIVATION_GRADIENT = 'GradcamActivationGradient';
export const BATCH_NORM_GRADIENT = 'GradcamBatchNormGradient';
/**
 * Inputs dy, filter, y (the output of the activation before the depthwise convolution); attrs those of
 * DepthwiseConv2dNativeBackpropInput plus activation ('relu' | 'relu6') and guided: the input gradient
 * passed back through that activation too (src/cam/activation-gradient.ts names it too).
 */
export const DEPTHWISE_GATED_INPUT_GRADIENT = 'GradcamDepthwiseGatedInputGradient';
/** Input maps [R,h,w]; attrs size [H,W], epsilon; output [R,H,W,1] (src/cam/normalise.ts names it too). */
export const UPSAMPLE_NORMALISE = 'GradcamUpsampleNormalise';

/** Whether the native batch-norm kernels can run on the current backend now. */
export function nativeBatchNormAvailable(): boolean {
  return enabled && tf.getKernel(BATCH_NORM_TRAIN, tf.getBackend()) !== undefined;
}


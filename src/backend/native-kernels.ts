/**
 * The native addon's kernels registered on a backend: 'wasm', where they read the heap in place, and
 * 'tensorflow' (tfjs-node), where they run on JavaScript-held arrays (src/backend/kernel-io.ts).
 *
 * Kernels replaced: Conv2D, FusedConv2D (bias + linear/ReLU/ReLU6), the depthwise forward, fused
 * forward and input gradient (dilation 1), Conv2DBackpropInput, Conv2DBackpropFilter, MaxPool,
 * MaxPoolGrad, AvgPool, AvgPoolGrad (exact at padded borders), BatchMatMul and broadcasting Multiply/Add/Sub/RealDiv, each for NHWC
 * float32; any other case goes to the kernel it replaced. New kernels: ACTIVATION_GRADIENT and
 * BATCH_NORM_TRAIN/GRADIENT do an activation's gradient and training-time batch norm in one or two passes,
 * DEPTHWISE_GATED_INPUT_GRADIENT a depthwise input gradient with the activation before it, and
 * UPSAMPLE_NORMALISE a CAM's upsampling and scaling to peak 1.
 *
 * Why on tfjs-node too: TensorFlow 2.9's kernels there took 11 ms per 3x3 layer of the shipped model
 * at batch 64, and 27 ms for its input gradient (bench/profile.ts), where Winograd takes 2-4 ms; and
 * tfjs-node runs FusedConv2D as three ops.
 */
import * as tf from '@tensorflow/tfjs';
import { BROADCAST_OPS, broadcastPlan, type BroadcastOp } from './broadcast-plan';
import { hostValues, kernelIo, type KernelIo, type NativeBackendName } from './kernel-io';
import { replaceKernel } from './kernel-replace';
import { matMulPlan, type MatMulAttrs } from './matmul-plan';
import {
  ACTIVATION_GRADIENT, BATCH_NORM_GRADIENT, BATCH_NORM_TRAIN, DEPTHWISE_GATED_INPUT_GRADIENT, UPSAMPLE_NORMALISE, loadNative, nativeGeometry, nativeKernelsEnabled, nativePoolGeometry,
  type ConvAttrs, type NativeStatus, type PoolAttrs, type Shape4,
} from './native';

type KernelArgs = Parameters<tf.KernelFunc>[0];

function isNativeCase(args: KernelArgs, names: string[]): boolean {
  if (!nativeKernelsEnabled()) return false;
  const attrs = (args.attrs ?? {}) as unknown as Partial<ConvAttrs>; // binary ops have none
  if (attrs.dataFormat === 'NCHW') return false;
  return names.every((n) => (args.inputs[n] as tf.TensorInfo | undefined)?.dtype === 'float32');
}

/** Replaces a kernel of `backendName`; the one replaced keeps every case the native path does not take. */
function override(
  backendName: NativeBackendName,
  kernelName: string,
  names: string[],
  native: (args: KernelArgs, io: KernelIo) => tf.TensorInfo | undefined,
): void {
  if (!tf.getKernel(kernelName, backendName)) throw new Error(`No ${backendName} kernel ${kernelName} to accelerate; register the ${backendName} backend first.`);
  // `native` returns undefined for a case it leaves to the backend, having worked out its plan once.
  replaceKernel(kernelName, backendName, (args) => (isNativeCase(args, names) ? native(args, kernelIo(backendName, args.backend)) : undefined));
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

/**
 * A pool's native geometry and output shape, or undefined for an empty input or output, which keeps the
 * backend's kernel (the addon takes positive sizes only).
 */
function poolPlan(xShape: Shape4, attrs: KernelArgs['attrs']): { geometry: Int32Array; outShape: number[] } | undefined {
  const geometry = nativePoolGeometry(xShape, attrs as unknown as PoolAttrs);
  if (!geometry.slice(0, 10).every((v) => v > 0)) return undefined;
  return { geometry, outShape: [geometry[0], geometry[6], geometry[7], geometry[3]] };
}

const registered = new Set<NativeBackendName>();

/** Registers the native kernels on `backendName` once. Returns why not when the addon is unavailable. */
export function registerNativeKernels(backendName: NativeBackendName = 'wasm'): NativeStatus {
  const loaded = loadNative();
  if (!loaded.loaded || registered.has(backendName)) return loaded;
  registered.add(backendName);
  const addon = loaded.addon;
  const on = (kernelName: string, names: string[], native: (args: KernelArgs, io: KernelIo) => tf.TensorInfo | undefined) =>
    override(backendName, kernelName, names, native);
  if (backendName === 'tensorflow') {
    // tfjs-node's Relu is a TensorFlow op: on a native kernel's output it copied the values into
    // TensorFlow, and the next native kernel copied its result back out.
    for (const [op, activation] of [['Relu', 1], ['Relu6', 2]] as const) {
      on(op, ['x'], (args, io) => {
        const { x } = args.inputs as { x: tf.TensorInfo };
        if (!hostValues(args.backend, x.dataId)) return undefined;
        return io.run([x], [[...x.shape]], ([xs], [y]) => {
          // ReLU in one threaded pass: guided's activation gradient with dy = y = x keeps x where x > 0.
          if (activation === 1) addon.activationGradient(xs, xs, y, 1, true);
          else {
            y.set(xs);
            addon.addBiasActivation(y, null, 1, activation);
          }
        })[0];
      });
    }
  }

  // New kernels (no backend kernel to fall back to): one output is returned as itself.
  const register = (kernelName: string, run: (args: KernelArgs, io: KernelIo) => tf.TensorInfo[]) => tf.registerKernel({
    kernelName,
    backendName,
    kernelFunc: (args) => {
      const out = run(args, kernelIo(backendName, args.backend));
      return out.length === 1 ? out[0] : out;
    },
  });
  const convAttrs = (args: KernelArgs) => args.attrs as unknown as ConvAttrs;

  on('Conv2D', ['x', 'filter'], (args, io) => {
    const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
    const geometry = nativeGeometry(x.shape as Shape4, filter.shape as Shape4, convAttrs(args));
    return io.run([x, filter], [conv2dOutputShape(geometry)], ([xs, f], [y]) => addon.conv2dForward(xs, f, y, geometry))[0];
  });

  on('FusedConv2D', ['x', 'filter'], (args, io) => {
    if (!fusedEpilogueSupported(args)) return undefined;
    const { x, filter, bias } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo; bias?: tf.TensorInfo };
    const activation = EPILOGUES[(args.attrs as unknown as { activation?: string }).activation ?? 'linear'];
    const geometry = nativeGeometry(x.shape as Shape4, filter.shape as Shape4, convAttrs(args));
    return io.run(bias ? [x, filter, bias] : [x, filter], [conv2dOutputShape(geometry)],
      ([xs, f, b], [y]) => addon.conv2dForward(xs, f, y, geometry, b ?? null, activation))[0];
  });

  // Depthwise (MobileNet-style models), dilation 1: forward, fused forward and the input gradient.
  const undilated = (args: KernelArgs): boolean => {
    const d = convAttrs(args).dilations ?? 1;
    return Array.isArray(d) ? d.every((v) => v === 1) : d === 1;
  };
  on('DepthwiseConv2dNative', ['x', 'filter'], (args, io) => {
    if (!undilated(args)) return undefined;
    const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
    const geometry = nativeGeometry(x.shape as Shape4, filter.shape as Shape4, convAttrs(args), true);
    return io.run([x, filter], [conv2dOutputShape(geometry)], ([xs, f], [y]) => addon.depthwiseForward(xs, f, y, geometry))[0];
  });

  on('FusedDepthwiseConv2D', ['x', 'filter'], (args, io) => {
    if (!undilated(args) || !fusedEpilogueSupported(args)) return undefined;
    const { x, filter, bias } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo; bias?: tf.TensorInfo };
    const activation = EPILOGUES[(args.attrs as unknown as { activation?: string }).activation ?? 'linear'];
    const geometry = nativeGeometry(x.shape as Shape4, filter.shape as Shape4, convAttrs(args), true);
    return io.run(bias ? [x, filter, bias] : [x, filter], [conv2dOutputShape(geometry)], ([xs, f, b], [y]) => {
      addon.depthwiseForward(xs, f, y, geometry);
      if (b || activation) addon.addBiasActivation(y, b ?? null, geometry[6], activation);
    })[0];
  });

  on('DepthwiseConv2dNativeBackpropInput', ['dy', 'filter'], (args, io) => {
    if (!undilated(args)) return undefined;
    const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const { inputShape } = args.attrs as unknown as { inputShape: Shape4 };
    const geometry = nativeGeometry(inputShape, filter.shape as Shape4, convAttrs(args), true);
    return io.run([dy, filter], [[...inputShape]], ([g, f], [dx]) => addon.depthwiseInputGradient(g, f, dx, geometry))[0];
  });

  on('Conv2DBackpropInput', ['dy', 'filter'], (args, io) => {
    const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const { inputShape } = args.attrs as unknown as { inputShape: Shape4 };
    const geometry = nativeGeometry(inputShape, filter.shape as Shape4, convAttrs(args));
    return io.run([dy, filter], [[...inputShape]], ([g, f], [dx]) => addon.conv2dInputGradient(g, f, dx, geometry))[0];
  });

  on('Conv2DBackpropFilter', ['x', 'dy'], (args, io) => {
    const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const { filterShape } = args.attrs as unknown as { filterShape: Shape4 };
    const geometry = nativeGeometry(x.shape as Shape4, filterShape, convAttrs(args));
    return io.run([x, dy], [[...filterShape]], ([xs, g], [df]) => addon.conv2dFilterGradient(xs, g, df, geometry))[0];
  });

  // tfjs-wasm's BatchMatMul is ~10x slower than one SGEMM for many small products (Grad-CAM's maps
  // for every class, a dense layer's gradient, attention). Batches of 1 broadcast; any other
  // broadcast keeps the wasm kernel.
  on('BatchMatMul', ['a', 'b'], (args, io) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const plan = matMulPlan(a.shape, b.shape, args.attrs as unknown as MatMulAttrs);
    return plan && io.run([a, b], [plan.outShape], ([as, bs], [c]) => addon.batchMatMul(as, bs, c, plan.geometry))[0];
  });

  // tfjs-wasm's broadcasting binary kernels index every element through the general shape math: 2.1 ms
  // for Score-CAM's [1, 32, 32, 3] x [128, 32, 32, 1] masking, where a same-shape one takes 0.1 ms.
  for (const op of Object.keys(BROADCAST_OPS) as BroadcastOp[]) {
    on(op, ['a', 'b'], (args, io) => {
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      // On tfjs-node: wherever a side is JavaScript-held (a residual Add of two native outputs, a scaling),
      // as TensorFlow's op would copy it in; two TensorFlow-held sides stay TensorFlow's, which copies nothing.
      const host = backendName === 'tensorflow';
      if (host && !hostValues(args.backend, a.dataId) && !hostValues(args.backend, b.dataId)) return undefined;
      const plan = broadcastPlan(op, a.shape, b.shape, host);
      return plan && io.run([a, b], [plan.outShape], ([as, bs], [out]) => addon.broadcastBinary(as, bs, out, plan.geometry))[0];
    });
  }

  // tfjs-wasm's MaxPool took 2.5 ms for a [128, 32, 32, 32] 2x2 pool (a Score-CAM pass on the shipped model).
  on('MaxPool', ['x'], (args, io) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const plan = poolPlan(x.shape as Shape4, args.attrs);
    return plan && io.run([x], [plan.outShape], ([xs], [y]) => addon.maxPool(xs, y, plan.geometry))[0];
  });

  on('MaxPoolGrad', ['dy', 'input'], (args, io) => {
    const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const geometry = nativePoolGeometry(input.shape as Shape4, args.attrs as unknown as PoolAttrs);
    return io.run([input, dy], [[...input.shape]], ([xs, g], [dx]) => addon.maxPoolGradient(xs, g, dx, geometry))[0];
  });

  // TensorFlow's AvgPool divides by the taps inside the image, and so do the addon's forward and its
  // exact gradient. On tfjs-node, TensorFlow's own pool cost 1-2.7 ms a layer of InceptionV3 with the
  // copies in and out; on wasm the gradient replaces tfjs's, which divides by the whole window.
  on('AvgPool', ['x'], (args, io) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const plan = poolPlan(x.shape as Shape4, args.attrs);
    return plan && io.run([x], [plan.outShape], ([xs], [y]) => addon.avgPool(xs, y, plan.geometry))[0];
  });

  on('AvgPoolGrad', ['dy', 'input'], (args, io) => {
    const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const plan = poolPlan(input.shape as Shape4, args.attrs);
    return plan && io.run([dy], [[...input.shape]], ([g], [dx]) => addon.avgPoolGradient(g, dx, plan.geometry))[0];
  });

  register(ACTIVATION_GRADIENT, (args, io) => {
    const { dy, y } = args.inputs as Record<'dy' | 'y', tf.TensorInfo>;
    const { activation, guided } = args.attrs as unknown as { activation: string; guided: boolean };
    return io.run([dy, y], [[...dy.shape]], ([g, out], [dx]) => addon.activationGradient(g, out, dx, EPILOGUES[activation], guided));
  });

  // A depthwise input gradient passed back through the activation before the layer in the same pass
  // (MobileNet's expand ReLU6): one pass over the block's largest tensor saved. The explanation asks
  // for it only for undilated NHWC float32 chains.
  register(DEPTHWISE_GATED_INPUT_GRADIENT, (args, io) => {
    const { dy, filter, y } = args.inputs as Record<'dy' | 'filter' | 'y', tf.TensorInfo>;
    const attrs = args.attrs as unknown as ConvAttrs & { inputShape: Shape4; activation: string; guided: boolean };
    if (!undilated(args) || attrs.dataFormat === 'NCHW' || [dy, filter, y].some((t) => t.dtype !== 'float32') || (attrs.activation !== 'relu' && attrs.activation !== 'relu6')) {
      throw new Error(`${DEPTHWISE_GATED_INPUT_GRADIENT} takes undilated NHWC float32 with a relu or relu6 gate only`);
    }
    const geometry = nativeGeometry(attrs.inputShape, filter.shape as Shape4, attrs, true);
    return io.run([dy, filter, y], [[...attrs.inputShape]],
      ([g, f, out], [dx]) => addon.depthwiseInputGradient(g, f, dx, geometry, out, EPILOGUES[attrs.activation], attrs.guided));
  });

  // Every CAM's step 4 in one kernel: bilinear upsampling, then each map divided by its peak.
  register(UPSAMPLE_NORMALISE, (args, io) => {
    const { maps } = args.inputs as { maps: tf.TensorInfo };
    const { size, epsilon } = args.attrs as unknown as { size: [number, number]; epsilon: number };
    const [R, h, w] = maps.shape;
    return io.run([maps], [[R, size[0], size[1], 1]], ([m], [out]) => addon.upsampleNormalise(m, out, Int32Array.of(R, h, w, size[0], size[1]), epsilon));
  });

  // Inputs x [..., C], gamma [C], beta [C]; outputs y (x's shape), mean, variance, invStd [C].
  register(BATCH_NORM_TRAIN, (args, io) => {
    const { x, gamma, beta } = args.inputs as Record<'x' | 'gamma' | 'beta', tf.TensorInfo>;
    const { epsilon } = args.attrs as unknown as { epsilon: number };
    const c = [gamma.shape[0]];
    return io.run([x, gamma, beta], [[...x.shape], c, c, c],
      ([xs, g, b], [y, mean, variance, invStd]) => addon.batchNormTrain(xs, g, b, epsilon, y, mean, variance, invStd));
  });

  // Inputs x, dy, mean, invStd, gamma; outputs dx, dgamma, dbeta.
  register(BATCH_NORM_GRADIENT, (args, io) => {
    const { x, dy, mean, invStd, gamma } = args.inputs as Record<'x' | 'dy' | 'mean' | 'invStd' | 'gamma', tf.TensorInfo>;
    const c = [gamma.shape[0]];
    return io.run([x, dy, mean, invStd, gamma], [[...x.shape], c, c],
      (ins, [dx, dgamma, dbeta]) => addon.batchNormGradient(ins[0], ins[1], ins[2], ins[3], ins[4], dx, dgamma, dbeta));
  });
  return loaded;
}

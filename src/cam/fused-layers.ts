/**
 * Convolution chains of a layers model run as one fused op when the model is re-run for an
 * explanation: Conv2D or DepthwiseConv2D, then optionally BatchNormalization (inference), then
 * optionally ReLU or ReLU6, become one convolution with the batch norm folded into its filter and
 * bias and the activation fused (tf.fused.conv2d / depthwiseConv2d):
 *   BN(conv(x, W) + b) = conv(x, W * s) + (b - mean) * s + beta,   s = gamma / sqrt(var + eps),
 * exact up to float rounding. Layer by layer, the same chain costs the convolution plus a pass
 * over its output for each of the bias, the batch norm's subtract, multiply and add, and the
 * activation, and under a gradient tape tfjs also unfuses the convolution and computes its
 * filter's gradient, which no explanation reads. The fused op's gradient is the input's alone:
 * dy masked by the activation's derivative (and, for guided backprop, by dy > 0), through the
 * convolution's input gradient.
 *
 * Folds are cached per layer as plain arrays and made again whenever a weight they came from is
 * replaced (training, model randomisation), so a model is never explained with stale ones. A chain
 * is fused only where its inner values are used by nothing else and are not read by the
 * explanation (the target layer A, the values that skip over it, the scores).
 */
import * as tf from '@tensorflow/tfjs';
import {
  activationGradient, DEPTHWISE_GATED_INPUT_GRADIENT, gatedDepthwiseInputGradient, onePassActivationGradient, taping,
} from './activation-gradient';

type Layer = tf.layers.Layer;
type SymbolicTensor = tf.SymbolicTensor;

export type FusedActivation = 'linear' | 'relu' | 'relu6';

export interface FusedChain {
  /** The convolution's input: what the fused op is applied to. */
  input: SymbolicTensor;
  conv: Layer;
  depthwise: boolean;
  batchNorm?: Layer;
  activation: FusedActivation;
  /** A ZeroPadding2D before a 'valid' convolution, taken into it: [[top, bottom], [left, right]]. */
  padding?: [[number, number], [number, number]];
  /**
   * A depthwise chain whose input is a ReLU/ReLU6 chain's output read by nothing else: its input
   * gradient also passes back through that activation in the same kernel (MobileNet's expand layer
   * before its depthwise one).
   */
  gate?: 'relu' | 'relu6';
}

let enabled = true;

/** Whether the explanation's shortcuts (fused chains, the whole-map pool, the pooled head) are on. */
export function layerFusionEnabled(): boolean {
  return enabled;
}

/** Turns fusion on (default) or off, e.g. to compare against the layer-by-layer path in tests. */
export function setLayerFusion(on: boolean): void {
  enabled = on;
}

interface ConvConfig {
  strides: number | number[];
  padding: string;
  dataFormat?: string;
  dilationRate?: number | number[];
  useBias?: boolean;
  depthMultiplier?: number;
}

interface BatchNormConfig {
  axis: number | number[];
  epsilon: number;
  center: boolean;
  scale: boolean;
}

interface HasActivation {
  activation?: { getClassName(): string };
}

function pair(v: number | number[] | undefined): [number, number] {
  if (v === undefined) return [1, 1];
  return Array.isArray(v) ? [v[0], v[1] ?? v[0]] : [v, v];
}

/** The activation an activation layer applies, if it is one we fuse (ReLU, ReLU6). */
function activationLayerKind(layer: Layer): FusedActivation | undefined {
  const cls = layer.getClassName();
  if (cls === 'ReLU') {
    const { maxValue } = layer.getConfig() as { maxValue?: number | null };
    return maxValue == null ? 'relu' : maxValue === 6 ? 'relu6' : undefined;
  }
  if (cls === 'Activation') {
    const name = (layer as unknown as HasActivation).activation?.getClassName();
    return name === 'relu' || name === 'relu6' ? name : undefined;
  }
  return undefined;
}

function isInferenceBatchNorm(layer: Layer): boolean {
  if (layer.getClassName() !== 'BatchNormalization') return false;
  const { axis } = layer.getConfig() as unknown as BatchNormConfig;
  const a = Array.isArray(axis) ? axis[0] : axis;
  return a === -1 || a === 3;
}

/** A channels-last, undilated Conv2D or DepthwiseConv2D with 'same' or 'valid' padding. */
/** A channels-last ZeroPadding2D layer's [[top, bottom], [left, right]], else undefined. */
function zeroPadding(layer: Layer): [[number, number], [number, number]] | undefined {
  if (layer.getClassName() !== 'ZeroPadding2D') return undefined;
  const c = layer.getConfig() as unknown as { padding: [[number, number], [number, number]]; dataFormat?: string };
  if ((c.dataFormat ?? 'channelsLast') !== 'channelsLast' || !Array.isArray(c.padding?.[0])) return undefined;
  return c.padding;
}

function fusableConv(layer: Layer): { depthwise: boolean; activation: string; valid: boolean } | undefined {
  const cls = layer.getClassName();
  if (cls !== 'Conv2D' && cls !== 'DepthwiseConv2D') return undefined;
  const c = layer.getConfig() as unknown as ConvConfig;
  const [dh, dw] = pair(c.dilationRate);
  if ((c.dataFormat ?? 'channelsLast') !== 'channelsLast' || dh !== 1 || dw !== 1) return undefined;
  if (c.padding !== 'same' && c.padding !== 'valid') return undefined;
  const activation = (layer as unknown as HasActivation).activation?.getClassName() ?? 'linear';
  return { depthwise: cls === 'DepthwiseConv2D', activation, valid: c.padding === 'valid' };
}

/**
 * The chains to fuse, by the id of the symbolic tensor each one ends in. `reachable` are the
 * tensors the explanation's graph computes (from the model's outputs back); `visible` must keep
 * their own values (A, the side values, the scores); `linear` are layers run without their activation.
 */
export function planFusedChains(outputs: readonly SymbolicTensor[], visible: ReadonlySet<number>, linear: ReadonlySet<Layer>): Map<number, FusedChain> {
  const chains = new Map<number, FusedChain>();
  if (!enabled) return chains;
  // How many nodes read each tensor (a node counted once however many outputs it has).
  const readers = new Map<number, number>();
  const seenNodes = new Set<string>();
  const tensors: SymbolicTensor[] = [];
  const seenTensors = new Set<number>();
  const visit = (st: SymbolicTensor): void => {
    if (seenTensors.has(st.id)) return;
    seenTensors.add(st.id);
    tensors.push(st);
    const node = `${st.sourceLayer.name}#${st.nodeIndex}`;
    if (!seenNodes.has(node)) {
      seenNodes.add(node);
      for (const input of st.inputs) readers.set(input.id, (readers.get(input.id) ?? 0) + 1);
    }
    st.inputs.forEach(visit);
  };
  outputs.forEach(visit);
  const inner = (st: SymbolicTensor): boolean => readers.get(st.id) === 1 && !visible.has(st.id) && !linear.has(st.sourceLayer);
  for (const end of tensors) {
    const chain = chainEndingAt(end, inner, linear);
    if (chain) chains.set(end.id, chain);
  }
  // A depthwise chain may pass its input gradient back through the activation before it only where
  // that gradient goes nowhere else: its input has no other reader (guided backprop's ReLU acts on
  // the sum of every reader's gradient) and is not read by the explanation (A's gradient is taken
  // before any activation).
  for (const chain of chains.values()) {
    const before = chains.get(chain.input.id)?.activation;
    if (chain.depthwise && (before === 'relu' || before === 'relu6') && inner(chain.input)) chain.gate = before;
  }
  return chains;
}

function singleInput(st: SymbolicTensor): SymbolicTensor | undefined {
  return st.inputs.length === 1 ? st.inputs[0] : undefined;
}

function chainEndingAt(end: SymbolicTensor, inner: (st: SymbolicTensor) => boolean, linear: ReadonlySet<Layer>): FusedChain | undefined {
  let cur: SymbolicTensor | undefined = end;
  let activation: FusedActivation | undefined;
  let batchNorm: Layer | undefined;
  if (linear.has(end.sourceLayer)) return undefined;
  const actKind = activationLayerKind(cur.sourceLayer);
  if (actKind) {
    activation = actKind;
    cur = singleInput(cur);
    if (!cur || !inner(cur)) return undefined;
  }
  if (isInferenceBatchNorm(cur.sourceLayer)) {
    batchNorm = cur.sourceLayer;
    cur = singleInput(cur);
    if (!cur || !inner(cur)) return undefined;
  }
  const conv = fusableConv(cur.sourceLayer);
  let input = singleInput(cur);
  if (!conv || !input || (cur !== end && linear.has(cur.sourceLayer))) return undefined;
  // MobileNet's and ResNet's ZeroPadding2D before a 'valid' convolution: padded by the convolution
  // itself (explicit padding), so neither the padded copy nor its gradient (a slice) is made.
  const padding = conv.valid && inner(input) ? zeroPadding(input.sourceLayer) : undefined;
  if (padding) input = singleInput(input) ?? input;
  if (activation || batchNorm) {
    if (conv.activation !== 'linear') return undefined; // an activation before the batch norm: not one op
  } else if (conv.activation === 'relu' || conv.activation === 'relu6' || conv.activation === 'linear') {
    activation = conv.activation;
  } else {
    return undefined;
  }
  return { input, conv: cur.sourceLayer, depthwise: conv.depthwise, batchNorm, activation: activation ?? 'linear', padding };
}

/** A fold, kept as plain arrays, and the weight buffers it was made from. */
interface Fold {
  from: object[];
  filter: Float32Array;
  bias: Float32Array;
}

/**
 * Folds by convolution layer. The arrays live on the JS heap (collected with the layer, never a
 * tensor to leak); each entry remembers the buffers (dataIds) of the weights it was made from, which
 * tfjs replaces whenever a weight is assigned (training, setWeights, model randomisation), so a
 * changed weight is folded again and a stale fold is never used.
 */
const folds = new WeakMap<Layer, Fold>();

function bufferOf(t: tf.Tensor): object {
  return (t as unknown as { dataId: object }).dataId;
}

/** The chain's filter and bias with the batch norm folded in (new tensors in the caller's scope). */
function foldedWeights(chain: FusedChain): { filter: tf.Tensor4D; bias?: tf.Tensor1D } {
  const [kernel, convBias] = chain.conv.getWeights() as [tf.Tensor4D, tf.Tensor1D | undefined];
  const useBias = (chain.conv.getConfig() as unknown as ConvConfig).useBias !== false;
  const bias = useBias ? convBias : undefined;
  if (!chain.batchNorm) return { filter: kernel, bias };
  const weights = chain.batchNorm.getWeights();
  const from = [kernel, ...(bias ? [bias] : []), ...weights].map(bufferOf);
  let fold = folds.get(chain.conv);
  if (!fold || fold.from.length !== from.length || fold.from.some((b, i) => b !== from[i])) {
    const [filter, b] = tf.tidy(() => foldNow(chain, kernel, bias, weights));
    fold = { from, filter: filter.dataSync() as Float32Array, bias: b.dataSync() as Float32Array };
    tf.dispose([filter, b]);
    folds.set(chain.conv, fold);
  }
  // Two uploads per call instead of eight small ops.
  return { filter: tf.tensor4d(fold.filter, kernel.shape), bias: tf.tensor1d(fold.bias) };
}

function foldNow(chain: FusedChain, kernel: tf.Tensor4D, bias: tf.Tensor1D | undefined, bnWeights: tf.Tensor[]): [tf.Tensor4D, tf.Tensor1D] {
  const { epsilon, center, scale } = (chain.batchNorm as Layer).getConfig() as unknown as BatchNormConfig;
  const weights = [...bnWeights];
  const gamma = scale ? weights.shift() : undefined;
  const beta = center ? weights.shift() : undefined;
  const [mean, variance] = weights;
  let s = tf.rsqrt(tf.add(variance, epsilon));
  if (gamma) s = tf.mul(s, gamma);
  // Output channel o of a depthwise filter [kh,kw,cin,m] is cin index o / m, multiplier o % m.
  const shaped = chain.depthwise ? tf.reshape(s, [1, 1, kernel.shape[2], kernel.shape[3]]) : s;
  const filter = tf.mul(kernel, shaped) as tf.Tensor4D;
  let b = tf.mul(bias ? tf.sub(bias, mean) : tf.neg(mean), s);
  if (beta) b = tf.add(b, beta);
  return [filter, b as tf.Tensor1D];
}

/**
 * Input gradients a gated depthwise chain returned, already passed back through the activation that
 * made its input, by that activation and guided rule. The chain that made the input then leaves dy as
 * it is, if dy is that very tensor. Passing a gradient through the same activation twice changes
 * nothing (a 0/1 mask, a ReLU of a ReLU), so a route where the layer before runs on its own stays right.
 */
const gatedGradients = new WeakMap<tf.Tensor, string>();

function gateKey(activation: FusedActivation, guided: boolean): string {
  return `${activation}:${guided}`;
}

/** The derivative mask of the activation, read from its output (ReLU: y > 0; ReLU6: 0 < y < 6). */
function activationMask(y: tf.Tensor, activation: FusedActivation): tf.Tensor | undefined {
  if (activation === 'relu') return tf.cast(tf.greater(y, 0), 'float32');
  if (activation === 'relu6') return tf.cast(tf.logicalAnd(tf.greater(y, 0), tf.less(y, 6)), 'float32');
  return undefined;
}

/**
 * The chain's output for input `x`. With `guided`, a ReLU/ReLU6 chain's gradient also keeps only
 * positive upstream gradient (guided backprop's rule, as the gate after a ReLU does elsewhere).
 */
export function runFusedChain(chain: FusedChain, x: tf.Tensor, guided: boolean): tf.Tensor {
  const config = chain.conv.getConfig() as unknown as ConvConfig;
  const strides = pair(config.strides);
  let pad: 'same' | 'valid' | number[][] = config.padding as 'same' | 'valid';
  if (chain.padding) {
    const [[top, bottom], [left, right]] = chain.padding;
    pad = [[0, 0], [top, bottom], [left, right], [0, 0]];
  }
  const { filter, bias } = foldedWeights(chain);
  const activation = chain.activation;
  // The kernel itself: tf.fused.* would unfuse under a gradient tape (and compute the filter's gradient).
  const kernel = chain.depthwise ? 'FusedDepthwiseConv2D' : 'FusedConv2D';
  const attrs = { strides, pad, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined, activation, leakyreluAlpha: undefined };
  const forward = (input: tf.Tensor4D): tf.Tensor4D =>
    tf.engine().runKernel(kernel, bias ? { x: input, filter, bias } : { x: input, filter }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
  if (!taping()) return forward(x as tf.Tensor4D);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor4D;
    const save = args[1] as tf.GradSaveFunc;
    const y = forward(input);
    // Saved tensors outlive the forward pass's scope; the filter is made in it (folded per call).
    save(chain.gate ? [y, filter, input] : [y, filter]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        let g = dy as tf.Tensor4D;
        const [yOut, savedFilter, savedInput] = saved;
        if (activation === 'linear' || gatedGradients.get(g) === gateKey(activation, guided)) {
          // Nothing to do: no activation, or the layer after already passed dy back through this one.
        } else if (onePassActivationGradient()) {
          // One pass over dy and y (the native addon) instead of four or five.
          g = activationGradient(g, yOut, activation, guided) as tf.Tensor4D;
        } else {
          if (guided) g = tf.relu(g);
          const mask = activationMask(yOut, activation);
          if (mask) g = tf.mul(g, mask);
        }
        const backAttrs = { strides, pad, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined, inputShape: input.shape };
        if (chain.gate && savedInput && gatedDepthwiseInputGradient()) {
          const dx = tf.engine().runKernel(DEPTHWISE_GATED_INPUT_GRADIENT, { dy: g, filter: savedFilter, y: savedInput },
            { ...backAttrs, activation: chain.gate, guided } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
          gatedGradients.set(dx, gateKey(chain.gate, guided));
          return [dx];
        }
        const backKernel = chain.depthwise ? 'DepthwiseConv2dNativeBackpropInput' : 'Conv2DBackpropInput';
        return [tf.engine().runKernel(backKernel, { dy: g, filter: savedFilter }, backAttrs as unknown as tf.NamedAttrMap) as tf.Tensor4D];
      },
    };
  });
  return (op as (x: tf.Tensor) => tf.Tensor)(x);
}

/**
 * GlobalAveragePooling2D (channels last) as a whole-map average pool with a one-pass gradient: tfjs's mean gradient broadcasts
 * dy with a Tile, multiplies by a tensor of ones of the input's size and divides (three or four passes
 * and an allocation over the whole map), and it runs on every row of Grad-CAM's head (R = N x classes
 * rows for target 'all'). Here dy / hw is spread by one broadcasting multiply. Returns undefined for
 * the cases it does not cover (channels first, keepDims), which run as the layer does.
 */
export function globalAveragePool(layer: Layer, x: tf.Tensor): tf.Tensor | undefined {
  const { dataFormat, keepDims } = layer.getConfig() as { dataFormat?: string; keepDims?: boolean };
  if (!enabled || x.rank !== 4 || (dataFormat ?? 'channelsLast') !== 'channelsLast' || keepDims) return undefined;
  const [n, h, w, k] = x.shape as [number, number, number, number];
  const pool = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    // An average pool over the whole map: one channels-last pass (tfjs-wasm's Mean over axes 1 and 2
    // transposes the map first).
    value: tf.reshape(tf.avgPool(args[0] as tf.Tensor4D, [h, w], 1, 'valid'), [n, k]),
    gradFunc: (dy: tf.Tensor | tf.Tensor[]) => [tf.mul(tf.reshape(dy as tf.Tensor, [n, 1, 1, k]), tf.fill([1, h, w, 1], 1 / (h * w)))],
  })) as (t: tf.Tensor) => tf.Tensor;
  return pool(x);
}

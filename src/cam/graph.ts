/**
 * Runs a LayersModel's own layers eagerly, one node at a time, so that we can read any
 * intermediate tensor, start from one, and add a scoped gradient rule after ReLUs, all without
 * touching the model (no new layers, no changed activations, no global gradient override).
 * Works for Sequential and functional models alike: both keep the symbolic graph on
 * `model.outputs`, each SymbolicTensor knowing the layer and inputs that produced it.
 */
import * as tf from '@tensorflow/tfjs';
import { FusedChain, globalAveragePool, runFusedChain } from './fused-layers';
import { activationWithGradient, onePassActivationGradient, taping, type GradientActivation } from './activation-gradient';

export type Layer = tf.layers.Layer;
export type SymbolicTensor = tf.SymbolicTensor;

interface HasActivation {
  activation?: { getClassName(): string };
}

/** The activation a layer ends in ('relu', 'relu6', 'softmax', 'linear'...), or undefined if none. */
export function activationOf(layer: Layer): string | undefined {
  const cls = layer.getClassName();
  if (cls === 'ReLU') return (layer.getConfig() as { maxValue?: number | null }).maxValue === 6 ? 'relu6' : 'relu';
  if (cls === 'Softmax') return 'softmax';
  const act = (layer as unknown as HasActivation).activation;
  return act && typeof act.getClassName === 'function' ? act.getClassName() : undefined;
}

/**
 * A layer that is exactly relu or relu6 and nothing else: ReLU() or ReLU(6) with no negative slope
 * or threshold, or Activation('relu' | 'relu6').
 */
function standaloneActivation(layer: Layer): GradientActivation | undefined {
  const cls = layer.getClassName();
  if (cls === 'ReLU') {
    const { maxValue, negativeSlope, threshold } = layer.getConfig() as { maxValue?: number | null; negativeSlope?: number; threshold?: number };
    if (negativeSlope || threshold) return undefined;
    return maxValue == null ? 'relu' : maxValue === 6 ? 'relu6' : undefined;
  }
  if (cls !== 'Activation') return undefined;
  const act = activationOf(layer);
  return act === 'relu' || act === 'relu6' ? act : undefined;
}

/** Activations that get the guided-backprop gate: the ReLU family (ReLU6 = ReLU clipped at 6). */
const GUIDED_ACTIVATIONS = new Set(['relu', 'relu6']);

/** A nested model (Sequential or functional used as a layer): run its own graph, not `apply`. */
function isNestedModel(layer: Layer): layer is tf.LayersModel {
  return layer instanceof tf.LayersModel;
}

interface BatchNormConfig {
  /** Keras 2.x writes a list ([3]) where tfjs has a number. */
  axis: number | number[];
  epsilon: number;
  center: boolean;
  scale: boolean;
}

/**
 * Inference batch norm from the layer's weights, written with plain ops. tfjs's own batchNorm
 * saves `scale` for its gradient and crashes (a raw "reading 'dtype'" TypeError) when a Keras
 * BatchNormalization has scale=False, as every InceptionV3 one does.
 */
function batchNormInference(layer: Layer, x: tf.Tensor): tf.Tensor {
  const { axis, epsilon, center, scale } = layer.getConfig() as unknown as BatchNormConfig;
  const weights = layer.getWeights();
  const gamma = scale ? weights.shift() : undefined;
  const beta = center ? weights.shift() : undefined;
  const [mean, variance] = weights;
  const a = Array.isArray(axis) ? axis[0] : axis;
  const channelAxis = a < 0 ? x.rank + a : a;
  const broadcast = x.shape.map((d, i) => (i === channelAxis ? d : 1));
  const shaped = (t: tf.Tensor): tf.Tensor => tf.reshape(t, broadcast);
  let factor = tf.rsqrt(tf.add(variance, epsilon));
  if (gamma) factor = tf.mul(factor, gamma);
  const y = tf.mul(tf.sub(x, shaped(mean)), shaped(factor));
  return beta ? tf.add(y, shaped(beta)) : y;
}

/**
 * Identity forward; backward keeps only positive gradients. Placed after a ReLU, whose own
 * gradient already masks by positive input, it completes the guided-backprop rule
 * R_in = (x > 0) * (R_out > 0) * R_out. Fused Conv2D/Dense ReLUs are unfused by tfjs under a
 * gradient tape, so this one gate covers ReLU layers, Activation('relu') and fused activations.
 */
const positiveGradientGate = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
  value: (args[0] as tf.Tensor).clone(),
  gradFunc: (dy: tf.Tensor | tf.Tensor[]) => [tf.relu(dy as tf.Tensor)],
})) as (x: tf.Tensor) => tf.Tensor;

/** A Dense layer's output without its activation (used to read logits under a fused softmax). */
function denseLinear(layer: Layer, x: tf.Tensor): tf.Tensor {
  const [kernel, bias] = layer.getWeights();
  if (x.rank !== 2) {
    // A Dense on a sequence or a map ([N,T,D]): tfjs applies it along the last axis.
    const flat = tf.reshape(x, [-1, x.shape[x.rank - 1]]);
    const z = tf.matMul(flat as tf.Tensor2D, kernel as tf.Tensor2D);
    return tf.reshape(bias ? tf.add(z, bias) : z, [...x.shape.slice(0, -1), kernel.shape[1] as number]);
  }
  const z = tf.matMul(x as tf.Tensor2D, kernel as tf.Tensor2D);
  return bias ? tf.add(z, bias) : z;
}

interface SwappableActivation {
  activation: { apply(x: tf.Tensor): tf.Tensor; getClassName(): string } | null;
}

/** The identity activation, for running a layer without its own for one synchronous call. */
const LINEAR = { apply: (x: tf.Tensor): tf.Tensor => x, getClassName: (): string => 'linear' };

/**
 * A layer's output without its fused activation (a Conv2D or other layer ending in a softmax or
 * sigmoid): its activation is swapped for the identity for the length of one synchronous call,
 * and always put back, so the model is unchanged afterwards.
 */
function withoutActivation(layer: Layer, st: SymbolicTensor, ins: tf.Tensor[]): tf.Tensor[] {
  const holder = layer as unknown as SwappableActivation;
  const saved = holder.activation;
  holder.activation = LINEAR;
  try {
    const out = layer.apply(ins.length === 1 ? ins[0] : ins, { ...st.callArgs, training: false }) as tf.Tensor | tf.Tensor[];
    return Array.isArray(out) ? out : [out];
  } finally {
    holder.activation = saved;
  }
}

export interface RunOptions {
  /** Add the guided-backprop gate after every ReLU. */
  guided?: boolean;
  /** Layers to run without their (softmax or sigmoid) activation. */
  linear?: ReadonlySet<Layer>;
  /** Convolution chains run as one fused op, by the id of the tensor each ends in (fused-layers.ts). */
  fused?: ReadonlyMap<number, FusedChain>;
}

/**
 * Values of `wanted` given values for some symbolic tensors (`feeds`, by id). Only the nodes
 * between the feeds and the wanted tensors run. Intermediate tensors belong to the caller's
 * tidy scope.
 */
export function runGraph(wanted: SymbolicTensor[], feeds: Map<number, tf.Tensor>, options: RunOptions = {}): tf.Tensor[] {
  const values = new Map(feeds);
  const nodeOutputs = new Map<string, tf.Tensor[]>();
  const valueOf = (st: SymbolicTensor): tf.Tensor => {
    const known = values.get(st.id);
    if (known) return known;
    const chain = options.fused?.get(st.id);
    if (chain) {
      // Its own guided rule inside: no gate after it.
      const fused = runFusedChain(chain, valueOf(chain.input), options.guided === true);
      values.set(st.id, fused);
      return fused;
    }
    const layer = st.sourceLayer;
    if (st.inputs.length === 0) {
      throw new Error(`No value given for the model input '${st.name}'.`);
    }
    const key = `${layer.name}#${st.nodeIndex}`;
    let outs = nodeOutputs.get(key);
    if (!outs) {
      const standalone = taping() && onePassActivationGradient() ? standaloneActivation(layer) : undefined;
      if (standalone) {
        // Its gradient is one native pass, guided backprop's rule included: no gate after it.
        outs = [activationWithGradient(valueOf(st.inputs[0]), standalone, options.guided === true)];
      } else {
        outs = runLayer(layer, st, st.inputs.map(valueOf), options);
        if (options.guided && GUIDED_ACTIVATIONS.has(activationOf(layer) ?? '')) outs = outs.map((t) => positiveGradientGate(t));
      }
      nodeOutputs.set(key, outs);
    }
    const value = outs[st.tensorIndex ?? 0];
    values.set(st.id, value);
    return value;
  };
  return wanted.map(valueOf);
}

/** One node: the layer applied to its inputs, with the overrides described above. */
export function runLayer(layer: Layer, st: SymbolicTensor, ins: tf.Tensor[], options: RunOptions): tf.Tensor[] {
  if (options.linear?.has(layer) && layer.getClassName() === 'Dense') return [denseLinear(layer, ins[0])];
  if (options.linear?.has(layer)) {
    const cls = layer.getClassName();
    // A Softmax or Activation('softmax'|'sigmoid') layer: its input is the logits.
    return cls === 'Softmax' || cls === 'Activation' ? [ins[0]] : withoutActivation(layer, st, ins);
  }
  if (isNestedModel(layer)) {
    // Its own layers, re-run the same way, so guided gates reach the ReLUs inside it too.
    const feeds = new Map(layer.inputs.map((input, i): [number, tf.Tensor] => [input.id, ins[i]]));
    return runGraph(layer.outputs, feeds, { guided: options.guided });
  }
  if (layer.getClassName() === 'BatchNormalization') return [batchNormInference(layer, ins[0])];
  const pooled = layer.getClassName() === 'GlobalAveragePooling2D' ? globalAveragePool(layer, ins[0]) : undefined;
  if (pooled) return [pooled];
  const out = layer.apply(ins.length === 1 ? ins[0] : ins, { ...st.callArgs, training: false }) as tf.Tensor | tf.Tensor[];
  return Array.isArray(out) ? out : [out];
}

/**
 * Runs a LayersModel's own layers eagerly, one node at a time, so that we can read any
 * intermediate tensor, start from one, and add a scoped gradient rule after ReLUs, all without
 * touching the model (no new layers, no changed activations, no global gradient override).
 * Works for Sequential and functional models alike: both keep the symbolic graph on
 * `model.outputs`, each SymbolicTensor knowing the layer and inputs that produced it.
 */
import * as tf from '@tensorflow/tfjs';

export type Layer = tf.layers.Layer;
export type SymbolicTensor = tf.SymbolicTensor;

interface HasActivation {
  activation?: { getClassName(): string };
}

/** The activation a layer ends in ('relu', 'softmax', 'linear'...), or undefined if none. */
export function activationOf(layer: Layer): string | undefined {
  const cls = layer.getClassName();
  if (cls === 'ReLU') return 'relu';
  if (cls === 'Softmax') return 'softmax';
  const act = (layer as unknown as HasActivation).activation;
  return act && typeof act.getClassName === 'function' ? act.getClassName() : undefined;
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
    throw new Error(`Cannot remove the softmax of Dense layer '${layer.name}': its input has rank ${x.rank}, expected 2.`);
  }
  const z = tf.matMul(x as tf.Tensor2D, kernel as tf.Tensor2D);
  return bias ? tf.add(z, bias) : z;
}

export interface RunOptions {
  /** Add the guided-backprop gate after every ReLU. */
  guided?: boolean;
  /** Layers to run without their (softmax) activation. */
  linear?: ReadonlySet<Layer>;
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
    const layer = st.sourceLayer;
    if (st.inputs.length === 0) {
      throw new Error(`No value given for the model input '${st.name}'.`);
    }
    const key = `${layer.name}#${st.nodeIndex}`;
    let outs = nodeOutputs.get(key);
    if (!outs) {
      const ins = st.inputs.map(valueOf);
      if (options.linear?.has(layer) && layer.getClassName() === 'Dense') {
        outs = [denseLinear(layer, ins[0])];
      } else if (options.linear?.has(layer)) {
        outs = [ins[0]]; // a Softmax or Activation('softmax') layer: its input is the logits
      } else {
        const out = layer.apply(ins.length === 1 ? ins[0] : ins, { ...st.callArgs, training: false }) as tf.Tensor | tf.Tensor[];
        outs = Array.isArray(out) ? out : [out];
      }
      if (options.guided && activationOf(layer) === 'relu') outs = outs.map((t) => positiveGradientGate(t));
      nodeOutputs.set(key, outs);
    }
    const value = outs[st.tensorIndex ?? 0];
    values.set(st.id, value);
    return value;
  };
  return wanted.map(valueOf);
}

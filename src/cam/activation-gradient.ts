/**
 * ReLU and ReLU6 whose gradient is one pass over dy and y: the kernel the native addon registers
 * (ACTIVATION_GRADIENT in src/backend/native.ts, on wasm and tfjs-node), with guided backprop's rule
 * (only positive dy passes) inside it when asked. tfjs differentiates relu as dy * step(x); on
 * tfjs-node Step alone is four TensorFlow ops, and a guided pass through ResNet50's 16 standalone
 * ReLU layers spent a seventh of its time there (bench/profile-keras.ts). Named here, not imported,
 * because this room also bundles for browsers, where the kernel is absent and tfjs's gradient runs.
 */
import * as tf from '@tensorflow/tfjs';

export const ACTIVATION_GRADIENT = 'GradcamActivationGradient';

export type GradientActivation = 'relu' | 'relu6';

interface EngineState {
  state: { gradientDepth: number };
}

/** Whether a gradient tape is recording. */
export function taping(): boolean {
  return (tf.engine() as unknown as EngineState).state.gradientDepth > 0;
}

/** Whether the current backend has the one-pass kernel. */
export function onePassActivationGradient(): boolean {
  return tf.getKernel(ACTIVATION_GRADIENT, tf.getBackend()) !== undefined;
}

/**
 * A depthwise input gradient passed back through the activation before the layer in the same kernel
 * (DEPTHWISE_GATED_INPUT_GRADIENT in src/backend/native.ts): inputs dy, filter, y (that activation's
 * output); DepthwiseConv2dNativeBackpropInput's attrs plus activation and guided.
 */
export const DEPTHWISE_GATED_INPUT_GRADIENT = 'GradcamDepthwiseGatedInputGradient';

/** Whether the current backend has the gated depthwise input gradient. */
export function gatedDepthwiseInputGradient(): boolean {
  return tf.getKernel(DEPTHWISE_GATED_INPUT_GRADIENT, tf.getBackend()) !== undefined;
}

/** dy * act'(y), with dy's negative part cut first when `guided`. */
export function activationGradient(dy: tf.Tensor, y: tf.Tensor, activation: GradientActivation, guided: boolean): tf.Tensor {
  return tf.engine().runKernel(ACTIVATION_GRADIENT, { dy, y }, { activation, guided }) as tf.Tensor;
}

const gradients = new Map<string, (x: tf.Tensor) => tf.Tensor>();

/** relu(x) or relu6(x), differentiated by the one-pass kernel (call where `onePassActivationGradient()`). */
export function activationWithGradient(x: tf.Tensor, activation: GradientActivation, guided: boolean): tf.Tensor {
  const key = `${activation}:${guided}`;
  let op = gradients.get(key);
  if (!op) {
    op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const input = args[0] as tf.Tensor;
      const y = activation === 'relu' ? tf.relu(input) : tf.relu6(input);
      (args[1] as tf.GradSaveFunc)([y]);
      return { value: y, gradFunc: (dy: tf.Tensor | tf.Tensor[], [saved]: tf.Tensor[]) => activationGradient(dy as tf.Tensor, saved, activation, guided) };
    }) as (x: tf.Tensor) => tf.Tensor;
    gradients.set(key, op);
  }
  return op(x);
}

/**
 * tf.relu, with its gradient as one pass of the addon's ACTIVATION_GRADIENT over dy and y where that
 * kernel runs (wasm and tfjs-node with the native addon). tfjs differentiates relu as dy * step(x):
 * two kernels on wasm, and on tfjs-node five TensorFlow ops (Step is IsNan, Greater, Fill, Select),
 * each copying a native kernel's output into TensorFlow: 300 ms of a 850 ms training pair of steps
 * (bench/profile of train()). Exact either way, since relu'(x) = [x > 0] = [y > 0].
 */
import * as tf from '@tensorflow/tfjs';
import { ACTIVATION_GRADIENT, nativeKernelsEnabled } from './native';

const reluWithNativeGradient = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const y = tf.relu(args[0] as tf.Tensor);
  (args[1] as tf.GradSaveFunc)([y]);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor | tf.Tensor[], [saved]: tf.Tensor[]) =>
      tf.engine().runKernel(ACTIVATION_GRADIENT, { dy: dy as tf.Tensor, y: saved }, { activation: 'relu', guided: false }) as tf.Tensor,
  };
});

export function relu<T extends tf.Tensor>(x: T): T {
  const native = nativeKernelsEnabled() && x.dtype === 'float32' && tf.getKernel(ACTIVATION_GRADIENT, tf.getBackend()) !== undefined;
  return (native ? reluWithNativeGradient(x) : tf.relu(x)) as T;
}

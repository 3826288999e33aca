/**
 * Explicit padding for tfjs-node's input-gradient kernels. Its forward convolutions pass explicit
 * padding to TensorFlow, but Conv2DBackpropInput and DepthwiseConv2dNativeBackpropInput throw on it.
 * The explanation's fused chains take a ZeroPadding2D into the convolution (src/cam/fused-layers.ts),
 * so without this tfjs-node needed the padded copy and its gradient's slice: MobileNetV2's four took
 * 1.2-1.6 ms of its 18 ms forward and another 1.3 ms of its guided pass (bench/profile-keras.ts).
 * The native kernels (registered after this, in front of it) take explicit padding themselves; this
 * runs only when they leave a case to TensorFlow: the gradient into the padded input with 'valid'
 * padding (the same output size), then the image's part of it.
 */
import * as tf from '@tensorflow/tfjs';
import { replaceKernel } from './kernel-replace';

type KernelArgs = Parameters<tf.KernelFunc>[0];

interface InputGradientAttrs {
  pad: 'same' | 'valid' | number | number[][];
  dataFormat?: 'NHWC' | 'NCHW';
  inputShape: [number, number, number, number];
}

function viaPaddedInput(args: KernelArgs, previous: tf.KernelFunc): tf.TensorInfo | undefined {
  const attrs = args.attrs as unknown as InputGradientAttrs;
  if (!Array.isArray(attrs.pad) || attrs.dataFormat === 'NCHW') return undefined;
  const [, [top, bottom], [left, right]] = attrs.pad;
  const [n, h, w, c] = attrs.inputShape;
  const padded = [n, h + top + bottom, w + left + right, c];
  const full = previous({ ...args, attrs: { ...args.attrs, pad: 'valid', inputShape: padded } }) as tf.TensorInfo;
  // tfjs-node's kernels return engine tensors; a bare TensorInfo gets one, taking over its reference.
  // (A Tensor returned from a kernel is kept as its output as it is.)
  const whole = full instanceof tf.Tensor ? full : tf.engine().makeTensorFromTensorInfo(full);
  try {
    return tf.slice(whole, [0, top, left, 0], [n, h, w, c]);
  } finally {
    whole.dispose();
  }
}

let registered = false;

export function registerExplicitPadding(): void {
  if (registered) return;
  registered = true;
  for (const name of ['Conv2DBackpropInput', 'DepthwiseConv2dNativeBackpropInput']) {
    replaceKernel(name, 'tensorflow', viaPaddedInput, 'explicit padding');
  }
}

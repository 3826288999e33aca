/**
 * Sum over the innermost axes of a small JavaScript-held float32 tensor on tfjs-node, summed here.
 * TensorFlow's Sum copies the values in, takes the axes as a tensor of their own and hands back a
 * TensorFlow-held result, so the next op copies it out again: 0.1-0.34 ms for a score row of five
 * values, five times in MobileNetV2's Guided Grad-CAM (the target's score, and its gradient's seeds;
 * bench/profile-keras.ts), where the sum itself takes microseconds. Larger tensors, other axes and
 * other dtypes keep TensorFlow's kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { hostValues, kernelIo } from './kernel-io';
import { replaceKernel } from './kernel-replace';

/** At most this many values are summed here (a row of class scores, a small map). */
const MAX_VALUES = 1 << 14;

let registered = false;

export function registerSmallSums(): void {
  if (registered) return;
  registered = true;
  replaceKernel('Sum', 'tensorflow', (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const size = x.shape.reduce((a, b) => a * b, 1);
    if (x.dtype !== 'float32' || size > MAX_VALUES || hostValues(args.backend, x.dataId) === undefined) return undefined;
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    const rank = x.shape.length;
    // Only the innermost axes: then each output value sums one contiguous run.
    if (!axes.every((a, i) => a === rank - axes.length + i)) return undefined;
    const outShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d)).filter((_, i) => keepDims || !axes.includes(i));
    const run = axes.reduce((n, a) => n * x.shape[a], 1);
    return kernelIo('tensorflow', args.backend).run([x], [outShape], ([xs], [out]) => {
      for (let o = 0; o < out.length; o++) {
        let sum = 0;
        for (let i = o * run; i < (o + 1) * run; i++) sum += xs[i];
        out[o] = sum;
      }
    })[0];
  }, 'small sums');
}

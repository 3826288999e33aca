/**
 * Pad, Slice, Concat and SplitV on tfjs-node for JavaScript-held float32 tensors (a native kernel's
 * output, src/backend/kernel-io.ts), as copies of contiguous runs between arrays. TensorFlow's ops
 * would copy such a tensor in and their result back out for the next native kernel: MobileNetV2's four
 * ZeroPadding2D took a fifth of its Grad-CAM (PadV2 9.5 of 50 ms, bench/profile-keras.ts), their
 * gradient (Slice) as long again in the guided pass, and InceptionV3's block joins (Concat) 6-10 ms.
 * A tensor TensorFlow holds keeps TensorFlow's op, which copies nothing.
 */
import * as tf from '@tensorflow/tfjs';
import { copyBox, splitAlong } from './copy-box';
import { hostValues, kernelIo } from './kernel-io';
import { replaceKernel } from './kernel-replace';

type KernelArgs = Parameters<tf.KernelFunc>[0];

/** Whether a native path should take this float32 input: JavaScript holds its values. */
function held(args: KernelArgs, t: tf.TensorInfo): boolean {
  return t.dtype === 'float32' && hostValues(args.backend, t.dataId) !== undefined;
}

let registered = false;

export function registerHostCopies(): void {
  if (registered) return;
  registered = true;

  replaceKernel('PadV2', 'tensorflow', (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (!held(args, x) || x.shape.length === 0) return undefined;
    const { paddings, constantValue } = args.attrs as unknown as { paddings: [number, number][]; constantValue: number };
    if (paddings.some(([before, after]) => before < 0 || after < 0)) return undefined;
    const outShape = x.shape.map((d, i) => paddings[i][0] + d + paddings[i][1]);
    return kernelIo('tensorflow', args.backend).run([x], [outShape], ([xs], [out]) => {
      out.fill(constantValue);
      copyBox(xs, x.shape, x.shape.map(() => 0), x.shape, out, outShape, paddings.map(([before]) => before));
    })[0];
  });

  replaceKernel('Slice', 'tensorflow', (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (!held(args, x) || x.shape.length === 0) return undefined;
    const { begin, size } = args.attrs as unknown as { begin: number | number[]; size?: number | number[] };
    const [start, extent] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, begin, size);
    tf.slice_util.assertParamsValid(x as unknown as tf.Tensor, start, extent);
    return kernelIo('tensorflow', args.backend).run([x], [extent], ([xs], [out]) =>
      copyBox(xs, x.shape, start, extent, out, extent, extent.map(() => 0)))[0];
  });

  replaceKernel('Concat', 'tensorflow', (args) => {
    const inputs = Object.values(args.inputs) as tf.TensorInfo[];
    if (inputs.length === 0 || !inputs.every((t) => t.dtype === 'float32') || !inputs.some((t) => held(args, t))) return undefined;
    const { axis } = args.attrs as unknown as { axis: number };
    const dim = tf.util.parseAxisParam(axis, inputs[0].shape)[0];
    const shapes = inputs.map((t) => t.shape);
    tf.backend_util.assertParamsConsistent(shapes, dim);
    const outShape = tf.backend_util.computeOutShape(shapes, dim);
    return kernelIo('tensorflow', args.backend).run(inputs, [outShape], (parts, [out]) => {
      let at = 0;
      parts.forEach((part, k) => {
        const shape = inputs[k].shape;
        copyBox(part, shape, shape.map(() => 0), shape, out, outShape, outShape.map((_, i) => (i === dim ? at : 0)));
        at += shape[dim];
      });
    })[0];
  });

  // Concat's gradient.
  replaceKernel('SplitV', 'tensorflow', (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (!held(args, x) || x.shape.length === 0) return undefined;
    const { numOrSizeSplits, axis } = args.attrs as unknown as { numOrSizeSplits: number | number[]; axis: number };
    const dim = tf.util.parseAxisParam(axis, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, numOrSizeSplits, dim);
    const shapes = sizes.map((s) => x.shape.map((d, i) => (i === dim ? s : d)));
    return kernelIo('tensorflow', args.backend).run([x], shapes, ([xs], outs) => splitAlong(xs, x.shape, dim, sizes, outs));
  });
}

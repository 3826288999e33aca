/**
 * tfjs-node runs Reshape, and a Cast to the same dtype (tf.avgPool ends in one), as TensorFlow ops.
 * For a tensor a native kernel made (values still held in JavaScript, src/backend/kernel-io.ts) such
 * an op copies the values into TensorFlow, and the next native kernel copies them back out: 2 x 8 MB
 * for one of the shipped model's batch-64 maps. Here such a tensor gets a new tensor with the new
 * shape over the same array (tensors are immutable, so sharing is safe). A new tensor, not the same
 * one with another shape: tfjs-node keeps each tensor's shape in its own map and hands that shape to
 * TensorFlow when an op takes the tensor.
 */
import * as tf from '@tensorflow/tfjs';
import { hostArrays } from './host-arrays';
import { hostValues, type HostBackend } from './kernel-io';
import { replaceKernel } from './kernel-replace';

/** A tensor over the same values as `x`, with `shape`. */
function view(backend: unknown, x: tf.TensorInfo, values: tf.backend_util.BackendValues, shape: number[]): tf.TensorInfo {
  if (values instanceof Float32Array) hostArrays(backend).share(values);
  return { dataId: (backend as HostBackend).write(values, shape, x.dtype), shape, dtype: x.dtype };
}

export function registerHostViews(): void {
  replaceKernel('Reshape', 'tensorflow', (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const values = hostValues(args.backend, x.dataId);
    if (!values || x.dtype === 'string') return undefined;
    const { shape } = args.attrs as unknown as { shape: number[] };
    const size = tf.util.sizeFromShape(x.shape);
    const newShape = tf.util.inferFromImplicitShape(shape, size);
    if (tf.util.sizeFromShape(newShape) !== size) return undefined; // tfjs-node's kernel says what is wrong
    return view(args.backend, x, values, newShape);
  });
  replaceKernel('Cast', 'tensorflow', (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const values = hostValues(args.backend, x.dataId);
    const { dtype } = args.attrs as unknown as { dtype: tf.DataType };
    if (!values || x.dtype === 'string' || dtype !== x.dtype) return undefined;
    return view(args.backend, x, values, [...x.shape]);
  });
}

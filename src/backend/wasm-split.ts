/**
 * tfjs-wasm's SplitV runs one general Slice per output: 1.9-3.7 ms to split an InceptionV3 block's
 * channels ([1, 35, 35, 256] into 64, 64, 96 and 32, up to [1, 17, 17, 768]). SplitV is Concatenate's
 * gradient, so a guided pass through InceptionV3 ran 15 of them. Here each output copies its runs of
 * contiguous values straight between the tensors' views of the wasm heap (src/backend/copy-box.ts): one
 * copy per outer index and output, a whole output at once when splitting along the first axis.
 */
import * as tf from '@tensorflow/tfjs';
import { splitAlong } from './copy-box';
import { replaceWasmKernel } from './kernel-replace';

interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

export function registerWasmSplit(): void {
  replaceWasmKernel('SplitV', (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    // Strings have no heap view; tfjs-wasm's kernel keeps them.
    if (x.dtype === 'string' || x.shape.length === 0) return undefined;
    const { numOrSizeSplits, axis } = args.attrs as unknown as { numOrSizeSplits: number | number[]; axis: number };
    const dim = tf.util.parseAxisParam(axis, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, numOrSizeSplits, dim);
    const heap = args.backend as unknown as WasmHeapBackend;
    const outputs = sizes.map((size) => heap.makeOutput(x.shape.map((d, i) => (i === dim ? size : d)), x.dtype));
    // Views are taken after every output is made: making one can grow the heap and detach older views.
    splitAlong(heap.typedArrayFromHeap(x), x.shape, dim, sizes, outputs.map((o) => heap.typedArrayFromHeap(o)));
    return outputs;
  });
}

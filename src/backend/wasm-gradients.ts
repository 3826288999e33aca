/**
 * The two convolution-gradient kernels on the wasm backend, written as forward convolutions
 * (conv-gradients.ts): Conv2DBackpropFilter, which tfjs-backend-wasm lacks, and
 * Conv2DBackpropInput, whose built-in version is ~3x slower than an XNNPACK Conv2D.
 *
 * They are registered as *kernels*, not as a Conv2D gradient override, so every op whose gradient
 * needs them works: plain Conv2D, the fused Conv2D+bias+activation that tfjs-layers runs, and
 * conv2dTranspose's forward pass. Other backends are untouched.
 *
 * Two more kernels that wasm lacks and an explanation can hit in a user's model:
 * DepthwiseConv2dNativeBackpropInput (guided backprop through a MobileNet) and UnsortedSegmentSum
 * (the gradient of gather, e.g. embedding lookups), the latter as a one-hot matrix product.
 */
import * as tf from '@tensorflow/tfjs';
import { conv2dFilterGradient, conv2dGeometry, conv2dInputGradient, depthwiseConv2dInputGradient } from './conv-gradients';

type Conv2DBackpropAttrs = {
  strides: number | [number, number];
  pad: 'same' | 'valid' | number | number[][];
  dataFormat: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
};

interface RefCountingBackend {
  incRef(dataId: object): void;
}

type KernelArgs = Parameters<tf.KernelFunc>[0];

/**
 * Runs ordinary tfjs ops inside a kernel: the inputs are wrapped as tensors (with an extra
 * reference so that disposing the wrappers leaves the caller's data alone), and the result's data
 * gets an extra reference before its wrapper is disposed, which the engine's output tensor takes
 * over (the same hand-over tfjs's own Reshape kernel does).
 */
function composite(args: KernelArgs, names: string[], body: (inputs: tf.Tensor[]) => tf.Tensor): tf.TensorInfo {
  const backend = args.backend as unknown as RefCountingBackend;
  const engine = tf.engine();
  const wrapped = names.map((name) => {
    const info = args.inputs[name] as tf.TensorInfo;
    backend.incRef(info.dataId);
    return engine.makeTensorFromTensorInfo(info);
  });
  try {
    const result = tf.tidy(() => body(wrapped));
    backend.incRef(result.dataId);
    const info: tf.TensorInfo = { dataId: result.dataId, shape: result.shape, dtype: result.dtype };
    result.dispose();
    return info;
  } finally {
    tf.dispose(wrapped);
  }
}

function assertSupported(kernel: string, attrs: Conv2DBackpropAttrs): void {
  if (attrs.dataFormat === 'NCHW') throw new Error(`${kernel} on wasm supports NHWC only (got NCHW).`);
}

function replaceKernel(kernelName: string, kernelFunc: tf.KernelFunc): void {
  if (tf.getKernel(kernelName, 'wasm')) tf.unregisterKernel(kernelName, 'wasm');
  tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
}

let registered = false;

export function registerWasmConvGradients(): void {
  if (registered) return;
  registered = true;
  replaceKernel('Conv2DBackpropInput', (args) => {
    const attrs = args.attrs as unknown as Conv2DBackpropAttrs & { inputShape: [number, number, number, number] };
    assertSupported('Conv2DBackpropInput', attrs);
    return composite(args, ['dy', 'filter'], ([dy, filter]) =>
      conv2dInputGradient(dy as tf.Tensor4D, filter as tf.Tensor4D, attrs.inputShape, conv2dGeometry(attrs.inputShape, filter.shape, attrs.strides, attrs.pad)));
  });
  replaceKernel('Conv2DBackpropFilter', (args) => {
    const attrs = args.attrs as unknown as Conv2DBackpropAttrs & { filterShape: [number, number, number, number] };
    assertSupported('Conv2DBackpropFilter', attrs);
    return composite(args, ['x', 'dy'], ([x, dy]) =>
      conv2dFilterGradient(x as tf.Tensor4D, dy as tf.Tensor4D, attrs.filterShape, conv2dGeometry(x.shape, attrs.filterShape, attrs.strides, attrs.pad)));
  });
  replaceKernel('DepthwiseConv2dNativeBackpropInput', (args) => {
    const attrs = args.attrs as unknown as Conv2DBackpropAttrs & { inputShape: [number, number, number, number] };
    const dilations = attrs.dilations ?? 1;
    if (!(dilations === 1 || (Array.isArray(dilations) && dilations[0] === 1 && dilations[1] === 1))) {
      throw new Error('DepthwiseConv2dNativeBackpropInput on wasm supports dilation 1 only.');
    }
    return composite(args, ['dy', 'filter'], ([dy, filter]) =>
      depthwiseConv2dInputGradient(dy as tf.Tensor4D, filter as tf.Tensor4D, attrs.inputShape, conv2dGeometry(attrs.inputShape, filter.shape, attrs.strides, attrs.pad)));
  });
  replaceKernel('UnsortedSegmentSum', (args) => {
    const { numSegments } = args.attrs as unknown as { numSegments: number };
    return composite(args, ['x', 'segmentIds'], ([x, ids]) => {
      const rows = ids.size;
      const flat = tf.reshape(tf.cast(x, 'float32'), [rows, -1]);
      const sums = tf.matMul(tf.oneHot(tf.reshape(ids, [rows]) as tf.Tensor1D, numSegments), flat, true, false);
      return tf.cast(tf.reshape(sums, [numSegments, ...x.shape.slice(ids.rank)]), x.dtype);
    });
  });
}

/**
 * The two convolution-gradient kernels on the wasm backend, written as forward convolutions
 * (conv-gradients.ts): Conv2DBackpropFilter, which tfjs-backend-wasm lacks, and
 * Conv2DBackpropInput, whose built-in version is ~3x slower than an XNNPACK Conv2D.
 *
 * They are registered as *kernels*, not as a Conv2D gradient override, so every op whose gradient
 * needs them works: plain Conv2D, the fused Conv2D+bias+activation that tfjs-layers runs, and
 * conv2dTranspose's forward pass. Other backends are untouched.
 */
import * as tf from '@tensorflow/tfjs';
import { conv2dFilterGradient, conv2dGeometry, conv2dInputGradient } from './conv-gradients';

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

let registered = false;

export function registerWasmConvGradients(): void {
  if (registered) return;
  registered = true;
  if (tf.getKernel('Conv2DBackpropInput', 'wasm')) tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
  tf.registerKernel({
    kernelName: 'Conv2DBackpropInput',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const attrs = args.attrs as unknown as Conv2DBackpropAttrs & { inputShape: [number, number, number, number] };
      assertSupported('Conv2DBackpropInput', attrs);
      return composite(args, ['dy', 'filter'], ([dy, filter]) => {
        const geometry = conv2dGeometry(attrs.inputShape, filter.shape, attrs.strides, attrs.pad);
        return conv2dInputGradient(dy as tf.Tensor4D, filter as tf.Tensor4D, attrs.inputShape, geometry);
      });
    },
  });
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm')) tf.unregisterKernel('Conv2DBackpropFilter', 'wasm');
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const attrs = args.attrs as unknown as Conv2DBackpropAttrs & { filterShape: [number, number, number, number] };
      assertSupported('Conv2DBackpropFilter', attrs);
      return composite(args, ['x', 'dy'], ([x, dy]) => {
        const geometry = conv2dGeometry(x.shape, attrs.filterShape, attrs.strides, attrs.pad);
        return conv2dFilterGradient(x as tf.Tensor4D, dy as tf.Tensor4D, attrs.filterShape, geometry);
      });
    },
  });
}

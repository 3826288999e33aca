/**
 * Replaces a kernel of the wasm backend with one that may hand any case back to the kernel it
 * replaces (the native kernels, SplitV, Identity). Replacing twice would wrap our own kernel, so the
 * first replacement of a name is the only one.
 */
import * as tf from '@tensorflow/tfjs';

type KernelArgs = Parameters<tf.KernelFunc>[0];
export type KernelResult = tf.TensorInfo | tf.TensorInfo[];

const replaced = new Set<string>();

/** The wasm kernels replaced so far (what a test asks to know that the backend runs ours). */
export function replacedWasmKernels(): ReadonlySet<string> {
  return replaced;
}

/**
 * Runs `run` for `kernelName` on wasm; where it returns undefined, tfjs-wasm's own kernel runs.
 * Returns false when that kernel is missing (the wasm backend is not registered) or already replaced.
 */
export function replaceWasmKernel(kernelName: string, run: (args: KernelArgs) => KernelResult | undefined): boolean {
  const previous = tf.getKernel(kernelName, 'wasm');
  if (!previous || replaced.has(kernelName)) return false;
  replaced.add(kernelName);
  tf.unregisterKernel(kernelName, 'wasm');
  tf.registerKernel({
    kernelName,
    backendName: 'wasm',
    kernelFunc: (args) => run(args) ?? previous.kernelFunc(args),
  });
  return true;
}

/**
 * Replaces a backend's kernel with one that may hand any case back to the kernel it replaces (the
 * native kernels on wasm and tfjs-node, and wasm's SplitV and Identity). Replacing twice would wrap
 * our own kernel, so the first replacement of a name on a backend is the only one.
 */
import * as tf from '@tensorflow/tfjs';

type KernelArgs = Parameters<tf.KernelFunc>[0];
export type KernelResult = tf.TensorInfo | tf.TensorInfo[];

const replaced = new Map<string, Set<string>>();

/** The kernels of `backendName` replaced so far (what a test asks to know that the backend runs ours). */
export function replacedKernels(backendName: string): ReadonlySet<string> {
  return replaced.get(backendName) ?? new Set();
}

/** The wasm kernels replaced so far. */
export function replacedWasmKernels(): ReadonlySet<string> {
  return replacedKernels('wasm');
}

/**
 * Runs `run` for `kernelName` on `backendName`; where it returns undefined, the backend's own kernel
 * runs. Returns false when that kernel is missing (the backend is not registered) or already replaced.
 */
export function replaceKernel(
  kernelName: string,
  backendName: string,
  run: (args: KernelArgs) => KernelResult | undefined,
): boolean {
  const previous = tf.getKernel(kernelName, backendName);
  const names = replaced.get(backendName) ?? new Set<string>();
  if (!previous || names.has(kernelName)) return false;
  names.add(kernelName);
  replaced.set(backendName, names);
  tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({
    kernelName,
    backendName,
    kernelFunc: (args) => run(args) ?? previous.kernelFunc(args),
  });
  return true;
}

export function replaceWasmKernel(kernelName: string, run: (args: KernelArgs) => KernelResult | undefined): boolean {
  return replaceKernel(kernelName, 'wasm', run);
}

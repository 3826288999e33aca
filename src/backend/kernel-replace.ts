/**
 * Replaces a backend's kernel with one that may hand any case back to the kernel it replaces (the
 * native kernels on wasm and tfjs-node, wasm's SplitV and Identity, tfjs-node's explicit padding).
 * Replacements stack in layers: a layer's kernel wraps what was registered before it. Replacing twice
 * in one layer would wrap our own kernel, so a layer's first replacement of a name is its only one.
 */
import * as tf from '@tensorflow/tfjs';

type KernelArgs = Parameters<tf.KernelFunc>[0];
export type KernelResult = tf.TensorInfo | tf.TensorInfo[];

/** backend -> kernel name -> the layers that replaced it */
const replaced = new Map<string, Map<string, Set<string>>>();

/** The kernels of `backendName` replaced so far (what a test asks to know that the backend runs ours). */
export function replacedKernels(backendName: string): ReadonlySet<string> {
  return new Set(replaced.get(backendName)?.keys() ?? []);
}

/** The wasm kernels replaced so far. */
export function replacedWasmKernels(): ReadonlySet<string> {
  return replacedKernels('wasm');
}

/**
 * Runs `run` for `kernelName` on `backendName`; where it returns undefined, the kernel registered
 * before it runs (also handed to `run` as `previous`, for a case it adapts). Returns false when there
 * is no kernel (the backend is not registered) or `layer` already replaced it.
 */
export function replaceKernel(
  kernelName: string,
  backendName: string,
  run: (args: KernelArgs, previous: tf.KernelFunc) => KernelResult | undefined,
  layer = 'native',
): boolean {
  const previous = tf.getKernel(kernelName, backendName);
  const kernels = replaced.get(backendName) ?? new Map<string, Set<string>>();
  const layers = kernels.get(kernelName) ?? new Set<string>();
  if (!previous || layers.has(layer)) return false;
  layers.add(layer);
  kernels.set(kernelName, layers);
  replaced.set(backendName, kernels);
  tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({
    kernelName,
    backendName,
    kernelFunc: (args) => run(args, previous.kernelFunc) ?? previous.kernelFunc(args),
  });
  return true;
}

export function replaceWasmKernel(kernelName: string, run: (args: KernelArgs) => KernelResult | undefined): boolean {
  return replaceKernel(kernelName, 'wasm', run);
}

/**
 * tfjs-wasm's Identity kernel copies its input. Identity is what `clone()` runs, and the gradient
 * tape clones every tensor it saves for a backward pass, so a guided-backprop pass through a
 * MobileNet copied its activations several hundred times (a sixth of its time, bench/profile.ts).
 * This kernel shares the input's memory and counts one more reference instead, as tfjs-wasm's own
 * Reshape and the cpu backend's Identity do; tensors are immutable, so no kernel can tell.
 */
import * as tf from '@tensorflow/tfjs';
import { replaceWasmKernel } from './kernel-replace';

interface RefCountingBackend {
  incRef(dataId: tf.DataId): void;
}

export function registerSharedIdentity(): void {
  replaceWasmKernel('Identity', (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (x.dtype === 'string') return undefined;
    (args.backend as unknown as RefCountingBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  });
}

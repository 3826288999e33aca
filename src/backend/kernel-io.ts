/**
 * How a native kernel reaches its tensors' values on each backend it runs on.
 *
 * - wasm: Float32Array views of the wasm heap, so nothing is copied.
 * - tensorflow (tfjs-node): its backend keeps a tensor written from JavaScript as that array until a
 *   TensorFlow op needs it (`write` is lazy, and `readSync` hands the same array back). So a native
 *   kernel's output stays in JavaScript memory, and the next native kernel reads it without a copy.
 *   Only a tensor TensorFlow made is copied out once (2.3 ms for 8 MB, measured), and a native output
 *   is copied in once when a TensorFlow op first takes it.
 */
import * as tf from '@tensorflow/tfjs';
import { hostArrays } from './host-arrays';

export type NativeBackendName = 'wasm' | 'tensorflow';

export interface KernelIo {
  /** Makes float32 outputs of these shapes, then hands `fill` the inputs' and outputs' values. */
  run(inputs: tf.TensorInfo[], outputShapes: number[][], fill: (inputs: Float32Array[], outputs: Float32Array[]) => void): tf.TensorInfo[];
}

/** What the wasm backend exposes of its heap (tfjs-backend-wasm's BackendWasm). */
interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

/** The part of tfjs-core's KernelBackend that tfjs-node implements for JavaScript-held values. */
export interface HostBackend {
  readSync(dataId: tf.DataId): tf.backend_util.BackendValues;
  write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType): tf.DataId;
}

function wasmIo(heap: WasmHeapBackend): KernelIo {
  return {
    run(inputs, outputShapes, fill) {
      // Outputs first: allocating can grow the wasm memory, which detaches views taken before.
      const outputs = outputShapes.map((shape) => heap.makeOutput(shape, 'float32'));
      fill(inputs.map((t) => heap.typedArrayFromHeap(t)), outputs.map((t) => heap.typedArrayFromHeap(t)));
      return outputs;
    },
  };
}

function hostIo(backend: HostBackend): KernelIo {
  const arrays = hostArrays(backend);
  return {
    run(inputs, outputShapes, fill) {
      const values = outputShapes.map((shape) => arrays.take(shape.reduce((p, d) => p * d, 1)));
      fill(inputs.map((t) => {
        const v = arrays.readOwn(t.dataId);
        // Kernels only read their inputs: the array tfjs-node holds is used as it is.
        return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
      }), values);
      return values.map((v, i) => {
        arrays.adopt(v);
        return { dataId: backend.write(v, outputShapes[i], 'float32'), shape: outputShapes[i], dtype: 'float32' as const };
      });
    },
  };
}

/** The kernel's way to its values on `backendName`, given the backend object a kernel receives. */
export function kernelIo(backendName: NativeBackendName, backend: unknown): KernelIo {
  return backendName === 'wasm' ? wasmIo(backend as WasmHeapBackend) : hostIo(backend as HostBackend);
}

/** tfjs-node's record of a tensor: `values` while JavaScript still holds them, else null. */
interface HostTensorMap {
  tensorMap?: { get(dataId: tf.DataId): { values: tf.backend_util.BackendValues | null } | undefined };
}

/** The values of a tfjs-node tensor that JavaScript still holds (a native kernel's output), else undefined. */
export function hostValues(backend: unknown, dataId: tf.DataId): tf.backend_util.BackendValues | undefined {
  return (backend as HostTensorMap).tensorMap?.get(dataId)?.values ?? undefined;
}

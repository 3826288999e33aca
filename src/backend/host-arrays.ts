/**
 * Output arrays for the native kernels on tfjs-node, recycled. A fresh 8-16 MB Float32Array costs
 * 5-10 ms in page faults and zeroing, where refilling a used one costs 1-2 ms (measured); a batch-64
 * explanation of the shipped model makes a dozen such outputs, and Score-CAM hundreds.
 *
 * An array goes back to the free list only when it is certainly ours alone:
 * - it was made here and handed to tfjs-node as a tensor's values (`adopt`);
 * - every tensor holding it was disposed while JavaScript still held its values;
 * - nobody read it through the backend's `readSync` (`dataSync()`, `data()` and `array()` all do),
 *   since whoever did may keep it. Our own kernels read through `readOwn`, which does not count.
 * A tensor whose values tfjs-node moved into TensorFlow keeps its count, so its array is simply left
 * to the garbage collector: every doubt keeps an array out of the free list, never in.
 * The native kernels write every output value, so a recycled array's old contents never show.
 * The free list empties itself after IDLE_MS without a call, so a notebook idling between cells does
 * not keep it.
 */
import type * as tf from '@tensorflow/tfjs';

/** What tfjs-node's backend does that this watches (its NodeJSKernelBackend). */
interface HostBackend {
  readSync(dataId: tf.DataId): tf.backend_util.BackendValues;
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
  tensorMap: { get(dataId: tf.DataId): { values: tf.backend_util.BackendValues | null; refCount: number } | undefined };
}

/**
 * Arrays smaller than this (16 KB) are cheap to make. Above it, a fresh one costs more than the work:
 * an Add of two 14x14x96 maps (75 KB) took 34-113 us with a new output array and 17 us with a recycled
 * one (tfjs-node, measured), and a MobileNetV2 explanation at batch 1 makes dozens of 16-128 KB outputs.
 */
const MIN_FLOATS = 1 << 12;
/** The free list keeps at most this much memory. */
const MAX_FREE_BYTES = 256 << 20;
/** Quiet time after which the free list is let go. */
const IDLE_MS = 5000;

export class HostArrays {
  private readonly free = new Map<number, Float32Array[]>();
  private freeBytes = 0;
  /** How many live tensors hold each array we made; an array absent here is never reused. */
  private readonly owners = new WeakMap<Float32Array, number>();
  /** The backend's own readSync, for our kernels' inputs. */
  readonly readOwn: (dataId: tf.DataId) => tf.backend_util.BackendValues;

  private idle?: ReturnType<typeof setTimeout>;

  constructor(backend: HostBackend, private readonly idleMs = IDLE_MS) {
    const read = backend.readSync.bind(backend);
    const dispose = backend.disposeData.bind(backend);
    this.readOwn = read;
    backend.readSync = (dataId) => {
      const values = read(dataId);
      if (values instanceof Float32Array) this.owners.delete(values); // it may be kept: never reuse it
      return values;
    };
    backend.disposeData = (dataId, force = false) => {
      const info = backend.tensorMap.get(dataId);
      const values = info?.values;
      const last = info !== undefined && (force || info.refCount <= 1);
      const released = dispose(dataId, force);
      if (last && values instanceof Float32Array) this.release(values);
      return released;
    };
  }

  /** An array of `length` floats with unspecified contents. */
  take(length: number): Float32Array {
    this.stillBusy();
    const list = this.free.get(length);
    const reused = list?.pop();
    if (reused) {
      this.freeBytes -= reused.byteLength;
      return reused;
    }
    return new Float32Array(length);
  }

  /** `values`, from `take`, now backs a tensor. */
  adopt(values: Float32Array): void {
    if (values.length < MIN_FLOATS) return;
    this.owners.set(values, (this.owners.get(values) ?? 0) + 1);
  }

  /** One more tensor holds `values`, if it is one of ours (a user's array never becomes ours). */
  share(values: Float32Array): void {
    const count = this.owners.get(values);
    if (count !== undefined) this.owners.set(values, count + 1);
  }

  /** Lets go of every free array (after IDLE_MS without a call; tests start from an empty list). */
  clear(): void {
    this.free.clear();
    this.freeBytes = 0;
  }

  /** Free arrays and their bytes (for tests). */
  stats(): { arrays: number; bytes: number } {
    let arrays = 0;
    for (const list of this.free.values()) arrays += list.length;
    return { arrays, bytes: this.freeBytes };
  }

  /** (Re)starts the idle countdown; it never keeps the process alive. */
  private stillBusy(): void {
    if (this.idle) {
      this.idle.refresh();
      return;
    }
    this.idle = setTimeout(() => {
      this.clear();
      this.idle = undefined;
    }, this.idleMs);
    this.idle.unref?.();
  }

  private release(values: Float32Array): void {
    const count = this.owners.get(values);
    if (count === undefined) return;
    if (count > 1) {
      this.owners.set(values, count - 1);
      return;
    }
    this.owners.delete(values);
    if (this.freeBytes + values.byteLength > MAX_FREE_BYTES) return;
    this.stillBusy();
    const list = this.free.get(values.length) ?? [];
    list.push(values);
    this.free.set(values.length, list);
    this.freeBytes += values.byteLength;
  }
}

const perBackend = new WeakMap<object, HostArrays>();

/** The recycler for this tfjs-node backend, watching it from the first call on. */
export function hostArrays(backend: unknown): HostArrays {
  const key = backend as object;
  let arrays = perBackend.get(key);
  if (!arrays) {
    arrays = new HostArrays(backend as HostBackend);
    perBackend.set(key, arrays);
  }
  return arrays;
}

/**
 * Out of memory on the wasm backend, as a named error that says what to do. The wasm heap holds at
 * most 4 GB and never shrinks; when an allocation fails, Emscripten's malloc returns 0 and tfjs
 * writes the tensor at address 0, so the heap is corrupt and every later op dies with a bare
 * "RuntimeError: Aborted()". guardWasmMalloc stops that at the failed allocation; the other
 * Emscripten forms (abort, a refused Memory.grow) are recognised by their messages.
 */

/** The 4 GB a wasm32 heap can hold (Emscripten's getHeapMax). */
export const WASM_HEAP_LIMIT_BYTES = 4294901760;

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

const ADVICE = 'then explain fewer or smaller images at a time and dispose tensors you no longer need (tf.dispose).';

export class WasmOutOfMemoryError extends Error {
  /**
   * `aborted`: the wasm module itself failed (Emscripten abort, corrupt heap) and runs nothing more;
   * otherwise one allocation was refused and the backend still works, but holds its grown heap.
   */
  constructor(detail: string, readonly aborted: boolean, readonly original?: unknown) {
    super(
      aborted
        ? `The TensorFlow.js wasm backend ran out of memory or aborted (${detail}) and cannot run anything more in this process. ` +
            `Restart the kernel (or the process), ${ADVICE}`
        : `The TensorFlow.js wasm backend ran out of memory: ${detail} (at most ${mb(WASM_HEAP_LIMIT_BYTES)}, and the heap never shrinks). ` +
            `Restart the kernel to give the memory back, ${ADVICE}`,
    );
    this.name = 'WasmOutOfMemoryError';
  }
}

/** Emscripten/wasm messages of a heap that could not grow or a module that aborted (usually from a failed malloc). */
const OUT_OF_MEMORY = [
  /Cannot enlarge memory/i,
  /Aborted\((OOM)?\)/,
  /\bOOM\b/,
  /Maximum memory size exceeded|WebAssembly\.Memory.*could not allocate memory/i,
  /memory access out of bounds/i,
];

/** Whether `error` (an Error or the text a cell printed) is the wasm heap running out or the wasm module aborting. */
export function isWasmOutOfMemory(error: unknown): boolean {
  if (error instanceof WasmOutOfMemoryError) return true;
  const text = error instanceof Error ? `${error.name}: ${error.message}` : typeof error === 'string' ? error : '';
  return OUT_OF_MEMORY.some((re) => re.test(text));
}

/** `error` as a WasmOutOfMemoryError when it is one of Emscripten's out-of-memory forms, else unchanged. */
export function asWasmOutOfMemory(error: unknown): unknown {
  if (error instanceof WasmOutOfMemoryError || !isWasmOutOfMemory(error)) return error;
  const first = (error instanceof Error ? error.message : String(error)).split('\n')[0];
  return new WasmOutOfMemoryError(`wasm said: ${first}`, true, error);
}

/** Runs `fn`; an out-of-memory error from the wasm heap comes out as WasmOutOfMemoryError. */
export function withWasmMemory<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw asWasmOutOfMemory(e);
  }
}

/** The Emscripten module of tfjs-backend-wasm, as far as allocation goes. */
export interface WasmAllocator {
  _malloc(bytes: number): number;
}

const GUARDED = Symbol('gradcam-ts.mallocGuarded');

/**
 * Make a failed allocation throw WasmOutOfMemoryError before tfjs registers a tensor at address 0
 * (which corrupts the heap). Every tensor the wasm backend makes is allocated through this one
 * function (BackendWasm.move); idempotent.
 */
export function guardWasmMalloc(wasm: WasmAllocator): void {
  const marked = wasm as WasmAllocator & { [GUARDED]?: true };
  if (marked[GUARDED]) return;
  let inner = wasm._malloc;
  const guarded = (bytes: number): number => {
    const at = inner.call(wasm, bytes);
    if (at === 0 && bytes > 0) throw new WasmOutOfMemoryError(`a tensor of ${mb(bytes)} did not fit in its heap`, false);
    return at;
  };
  // Emscripten's _malloc is a stub that, on first call, assigns the raw export over itself: an
  // accessor keeps the guard in front of whatever is assigned.
  Object.defineProperty(wasm, '_malloc', {
    configurable: true,
    enumerable: true,
    get: () => guarded,
    set: (fn: WasmAllocator['_malloc']) => {
      inner = fn;
    },
  });
  marked[GUARDED] = true;
}

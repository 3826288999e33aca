/** Array helpers the kernel, the engine and the browser widget all use (Node-free). */

/** Index of the largest of `n` values from `offset` (the first on ties). */
export function argmax(values: ArrayLike<number>, offset = 0, n = values.length - offset): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (values[offset + i] > values[offset + best]) best = i;
  return best;
}

/** A typed array or DataView: a value that travels as a binary buffer. */
export function isBytes(value: unknown): value is ArrayBufferView {
  return ArrayBuffer.isView(value);
}

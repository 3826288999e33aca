/**
 * Copies between tensors' values as contiguous runs: a box of one tensor into another (Pad, Slice,
 * Concat), and a split along one axis (SplitV). Used on the wasm heap's views (src/backend/wasm-split.ts)
 * and on tfjs-node's JavaScript-held arrays (src/backend/host-copies.ts).
 */
type Values = Float32Array | Int32Array | Uint8Array;

const product = (dims: readonly number[]): number => dims.reduce((p, d) => p * d, 1);

/**
 * Copies the box `from[start .. start + size)` of a tensor of `shape` into `to` (dense, of shape
 * `size`) at `offset` within a tensor of `toShape`: one `set` per contiguous run (the last axes the
 * box spans whole are merged into the run).
 */
export function copyBox(
  from: Values, shape: readonly number[], start: readonly number[], size: readonly number[],
  to: Values, toShape: readonly number[], offset: readonly number[],
): void {
  const rank = shape.length;
  if (product(size) === 0) return;
  // The run: the innermost axes both tensors and the box span whole, plus the next one in part.
  let axis = rank - 1;
  let run = size[axis];
  while (axis > 0 && size[axis] === shape[axis] && size[axis] === toShape[axis]) {
    axis--;
    run *= size[axis];
  }
  const strides = (s: readonly number[]) => s.map((_, i) => product(s.slice(i + 1)));
  const [fromStride, toStride] = [strides(shape), strides(toShape)];
  const index = new Array<number>(axis).fill(0); // odometer over the axes outside the run
  const rows = product(size.slice(0, axis));
  for (let r = 0; r < rows; r++) {
    let f = start[axis] * fromStride[axis];
    let t = offset[axis] * toStride[axis];
    for (let i = 0; i < axis; i++) {
      f += (start[i] + index[i]) * fromStride[i];
      t += (offset[i] + index[i]) * toStride[i];
    }
    to.set(from.subarray(f, f + run) as ArrayLike<number>, t);
    for (let i = axis - 1; i >= 0; i--) {
      if (++index[i] < size[i]) break;
      index[i] = 0;
    }
  }
}

/** `outs[k]` = the k-th `sizes[k]`-wide slab of `from` along axis `dim`. */
export function splitAlong(from: Values, shape: readonly number[], dim: number, sizes: readonly number[], outs: Values[]): void {
  let at = 0;
  outs.forEach((out, k) => {
    const size = shape.map((d, i) => (i === dim ? sizes[k] : d));
    copyBox(from, shape, shape.map((_, i) => (i === dim ? at : 0)), size, out, size, size.map(() => 0));
    at += sizes[k];
  });
}

/**
 * How the native broadcasting binary op (native/src/broadcast.c) runs a tfjs Multiply, Add, Sub or
 * RealDiv whose two shapes differ. Both shapes are aligned to the output's rank, dimensions of size 1
 * in the output are dropped, and neighbouring dimensions that broadcast alike are merged, so that
 * [1, 32, 32, 3] x [128, 32, 32, 1] runs as three loops (128, 1024, 3), not four with 4-D index math.
 */
import * as tf from '@tensorflow/tfjs';

export const BROADCAST_OPS = { Multiply: 0, Add: 1, Sub: 2, RealDiv: 3 } as const;
export type BroadcastOp = keyof typeof BROADCAST_OPS;

const MAX_RANK = 6;
export const BROADCAST_GEOMETRY_FIELDS = 2 + 3 * MAX_RANK;

export interface BroadcastPlan { geometry: Int32Array; outShape: number[] }

const size = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);

/**
 * The geometry and output shape, or undefined where the case is not one this kernel has: no elements,
 * or shapes that do not broadcast (tfjs then reports that itself). Unless `everyShape` (tfjs-node, where
 * the alternative is copying a JavaScript-held tensor into TensorFlow), also where tfjs-wasm is as
 * fast: equal shapes, or a side with one value (wasm's scalar path).
 */
export function broadcastPlan(
  op: BroadcastOp, aShape: readonly number[], bShape: readonly number[], everyShape = false,
): BroadcastPlan | undefined {
  if (!everyShape && aShape.length === bShape.length && aShape.every((d, i) => d === bShape[i])) return undefined;
  if (!everyShape && (size(aShape) <= 1 || size(bShape) <= 1)) return undefined;
  let outShape: number[];
  try {
    outShape = tf.backend_util.assertAndGetBroadcastShape([...aShape], [...bShape]);
  } catch {
    return undefined;
  }
  if (size(outShape) === 0) return undefined;
  const align = (shape: readonly number[]) => [...new Array(outShape.length - shape.length).fill(1), ...shape];
  const [a, b] = [align(aShape), align(bShape)];
  // Merged dimensions: [size, a has it, b has it].
  const dims: [number, boolean, boolean][] = [];
  outShape.forEach((d, i) => {
    if (d === 1) return;
    const hasA = a[i] === d, hasB = b[i] === d;
    const previous = dims[dims.length - 1];
    if (previous && previous[1] === hasA && previous[2] === hasB) previous[0] *= d;
    else dims.push([d, hasA, hasB]);
  });
  if (dims.length === 0 || dims.length > MAX_RANK) return undefined; // one value: not worth a call
  const strides = (has: (d: [number, boolean, boolean]) => boolean): number[] => {
    const out = new Array<number>(dims.length);
    let stride = 1;
    for (let i = dims.length - 1; i >= 0; i--) {
      out[i] = has(dims[i]) ? stride : 0;
      if (has(dims[i])) stride *= dims[i][0];
    }
    return out;
  };
  const pad = (values: number[]) => [...values, ...new Array(MAX_RANK - values.length).fill(0)];
  const geometry = Int32Array.from([
    BROADCAST_OPS[op], dims.length,
    ...pad(dims.map((d) => d[0])), ...pad(strides((d) => d[1])), ...pad(strides((d) => d[2])),
  ]);
  return { geometry, outShape };
}

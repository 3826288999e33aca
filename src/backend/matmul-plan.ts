/**
 * How the native BatchMatMul (native/src/matmul.c) runs a tfjs BatchMatMul: every product one
 * SGEMM, with a batch of 1 on either side shared by all. A batch that equals the broadcast batch
 * pairs matrices by flat index (broadcasting only fills 1s), so those two cases are all it takes.
 */
import * as tf from '@tensorflow/tfjs';

export interface MatMulAttrs { transposeA: boolean; transposeB: boolean }
export interface MatMulPlan { geometry: Int32Array; outShape: number[] }

const product = (dims: number[]): number => dims.reduce((p, d) => p * d, 1);

/** The native BatchMatMul's geometry and output shape, or undefined for a case it leaves to wasm. */
export function matMulPlan(aShape: number[], bShape: number[], attrs: MatMulAttrs): MatMulPlan | undefined {
  if (aShape.length < 2 || bShape.length < 2) return undefined;
  const [a0, a1] = aShape.slice(-2);
  const [b0, b1] = bShape.slice(-2);
  const [m, k] = attrs.transposeA ? [a1, a0] : [a0, a1];
  const [kb, n] = attrs.transposeB ? [b1, b0] : [b0, b1];
  if (k !== kb || m * n * k === 0) return undefined;
  const batchA = aShape.slice(0, -2);
  const batchB = bShape.slice(0, -2);
  let outBatch: number[];
  try {
    outBatch = tf.backend_util.assertAndGetBroadcastShape(batchA, batchB);
  } catch {
    return undefined;
  }
  const batch = product(outBatch);
  const [pa, pb] = [product(batchA), product(batchB)];
  if ((pa !== 1 && pa !== batch) || (pb !== 1 && pb !== batch)) return undefined;
  return {
    geometry: Int32Array.from([batch, pa, pb, m, n, k, attrs.transposeA ? 1 : 0, attrs.transposeB ? 1 : 0]),
    outShape: [...outBatch, m, n],
  };
}

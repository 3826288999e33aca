/**
 * ROAD's noisy linear imputation (Rong et al., ICML 2022, as in pytorch-grad-cam 1.5.7): every
 * removed pixel becomes the weighted mean of its 8 neighbours (1/6 for the 4 direct ones, 1/12
 * for the diagonals; neighbours outside the image drop out), removed neighbours being unknowns
 * too, so the removed region is filled by one sparse linear system per channel; then Gaussian
 * noise is added. The system is symmetric positive definite whenever each removed region touches
 * a kept pixel, so Jacobi-preconditioned conjugate gradients solve it (to 1e-8 relative residual, float64).
 */
import { makeRandom } from '../util/random';

export const NEIGHBOUR_WEIGHTS: readonly [number, number, number][] = [
  [1, 1, 1 / 12], [0, 1, 1 / 6], [-1, 1, 1 / 12], [1, -1, 1 / 12],
  [0, -1, 1 / 6], [-1, -1, 1 / 12], [1, 0, 1 / 6], [-1, 0, 1 / 6],
];

/** Standard normal draws from a seeded uniform source (Box-Muller). */
export function gaussianSource(seed: number): () => number {
  const uniform = makeRandom(seed);
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/**
 * Fills the pixels where `removed[p]` is true in an HWC image (a new array). `noise` is the
 * standard deviation added to each filled value; `normal` draws N(0,1).
 */
export function noisyLinearImpute(
  image: ArrayLike<number>, H: number, W: number, C: number, removed: ArrayLike<boolean | number>, noise = 0, normal: () => number = gaussianSource(0),
): Float32Array {
  const out = Float32Array.from(image);
  const unknown = new Int32Array(H * W).fill(-1);
  const cells: number[] = [];
  for (let p = 0; p < H * W; p++) if (removed[p]) unknown[p] = cells.push(p) - 1;
  const n = cells.length;
  if (!n) return out;
  if (n === H * W) {
    // Nothing left to impute from (a constant map ties every pixel at the threshold): the system is
    // singular, so each channel gets the image's mean colour instead of a solver failure.
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let p = 0; p < n; p++) s += image[p * C + c];
      for (let p = 0; p < n; p++) out[p * C + c] = s / n + (noise ? noise * normal() : 0);
    }
    return out;
  }
  // Row i: diag[i] x_i - sum_{unknown j} w x_j = sum_{known q} w x_q, stored as CSR for the solver.
  const diag = new Float64Array(n);
  const rowStart = new Int32Array(n + 1);
  const cols = new Int32Array(8 * n);
  const vals = new Float64Array(8 * n);
  const rhs = new Float64Array(n * C);
  let nnz = 0;
  for (let i = 0; i < n; i++) {
    const p = cells[i];
    const y = Math.floor(p / W);
    const x = p % W;
    for (const [dy, dx, w] of NEIGHBOUR_WEIGHTS) {
      const yy = y + dy;
      const xx = x + dx;
      if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
      const q = yy * W + xx;
      diag[i] += w;
      if (unknown[q] >= 0) {
        cols[nnz] = unknown[q];
        vals[nnz++] = w;
      } else for (let c = 0; c < C; c++) rhs[i * C + c] += w * image[q * C + c];
    }
    rowStart[i + 1] = nnz;
  }
  // Jacobi-preconditioned conjugate gradients, one channel at a time (same matrix, C right-hand sides).
  const x = new Float64Array(n);
  const r = new Float64Array(n);
  const z = new Float64Array(n);
  const d = new Float64Array(n);
  const Ad = new Float64Array(n);
  for (let c = 0; c < C; c++) {
    // Start from the known pixels' mean colour: the smooth error modes are the ones CG is slow on.
    let known = 0;
    for (let p = 0; p < H * W; p++) if (unknown[p] < 0) known += image[p * C + c];
    const start = known / (H * W - n);
    let bb = 0;
    for (let i = 0; i < n; i++) {
      const b = rhs[i * C + c];
      bb += b * b;
      x[i] = start;
    }
    let rz = 0;
    for (let i = 0; i < n; i++) {
      let s = diag[i] * x[i];
      for (let k = rowStart[i]; k < rowStart[i + 1]; k++) s -= vals[k] * x[cols[k]];
      r[i] = rhs[i * C + c] - s;
      z[i] = r[i] / diag[i];
      d[i] = z[i];
      rz += r[i] * z[i];
    }
    const stop = 1e-16 * Math.max(bb, 1e-30);
    for (let it = 0; it < 4 * n + 10; it++) {
      let rr = 0;
      for (let i = 0; i < n; i++) rr += r[i] * r[i];
      if (rr <= stop) break;
      let dAd = 0;
      for (let i = 0; i < n; i++) {
        let s = diag[i] * d[i];
        for (let k = rowStart[i]; k < rowStart[i + 1]; k++) s -= vals[k] * d[cols[k]];
        Ad[i] = s;
        dAd += d[i] * s;
      }
      const alpha = rz / dAd;
      let next = 0;
      for (let i = 0; i < n; i++) {
        x[i] += alpha * d[i];
        r[i] -= alpha * Ad[i];
        z[i] = r[i] / diag[i];
        next += r[i] * z[i];
      }
      const beta = next / rz;
      rz = next;
      for (let i = 0; i < n; i++) d[i] = z[i] + beta * d[i];
    }
    for (let i = 0; i < n; i++) out[cells[i] * C + c] = x[i] + (noise ? noise * normal() : 0);
  }
  return out;
}

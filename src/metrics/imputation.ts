/**
 * ROAD's noisy linear imputation (Rong et al., ICML 2022, as in pytorch-grad-cam 1.5.7): every
 * removed pixel becomes the weighted mean of its 8 neighbours (1/6 for the 4 direct ones, 1/12
 * for the diagonals; neighbours outside the image drop out), removed neighbours being unknowns
 * too, so the removed region is filled by one sparse linear system per channel; then Gaussian
 * noise is added. The system is symmetric positive definite whenever each removed region touches
 * a kept pixel, so conjugate gradients solve it (to 1e-10 relative residual, float64).
 */
import { makeRandom } from '../data/augment';

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
  // Row i: diag[i] x_i - sum_{unknown j} w x_j = sum_{known q} w x_q.
  const diag = new Float64Array(n);
  const nbr: number[][] = cells.map(() => []);
  const nbrW: number[][] = cells.map(() => []);
  const rhs = new Float64Array(n * C);
  cells.forEach((p, i) => {
    const y = Math.floor(p / W);
    const x = p % W;
    for (const [dy, dx, w] of NEIGHBOUR_WEIGHTS) {
      const yy = y + dy;
      const xx = x + dx;
      if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
      const q = yy * W + xx;
      diag[i] += w;
      if (unknown[q] >= 0) {
        nbr[i].push(unknown[q]);
        nbrW[i].push(w);
      } else for (let c = 0; c < C; c++) rhs[i * C + c] += w * image[q * C + c];
    }
  });
  const apply = (v: Float64Array, into: Float64Array): void => {
    for (let i = 0; i < n; i++) {
      let s = diag[i] * v[i];
      for (let j = 0; j < nbr[i].length; j++) s -= nbrW[i][j] * v[nbr[i][j]];
      into[i] = s;
    }
  };
  for (let c = 0; c < C; c++) {
    const b = Float64Array.from({ length: n }, (_, i) => rhs[i * C + c]);
    const x = Float64Array.from({ length: n }, (_, i) => b[i] / diag[i]);
    const r = new Float64Array(n);
    const Ap = new Float64Array(n);
    apply(x, Ap);
    for (let i = 0; i < n; i++) r[i] = b[i] - Ap[i];
    const p = Float64Array.from(r);
    let rr = r.reduce((s, v) => s + v * v, 0);
    const stop = 1e-20 * Math.max(b.reduce((s, v) => s + v * v, 0), 1e-30);
    for (let it = 0; it < 10 * n && rr > stop; it++) {
      apply(p, Ap);
      const alpha = rr / p.reduce((s, v, i) => s + v * Ap[i], 0);
      for (let i = 0; i < n; i++) {
        x[i] += alpha * p[i];
        r[i] -= alpha * Ap[i];
      }
      const next = r.reduce((s, v) => s + v * v, 0);
      const beta = next / rr;
      rr = next;
      for (let i = 0; i < n; i++) p[i] = r[i] + beta * p[i];
    }
    cells.forEach((q, i) => (out[q * C + c] = x[i] + (noise ? noise * normal() : 0)));
  }
  return out;
}

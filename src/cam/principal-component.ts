/**
 * The first principal component of a map's weighted activations (EigenCAM, eigen-smoothing):
 * centre the h*w x K matrix over positions, take its top right singular vector v1, project onto
 * it. Solved in float64 on the smaller Gram matrix by cyclic Jacobi, which converges whatever the
 * eigen-gap (power iteration does not). SVD leaves the sign free; we fix it so the larger
 * extreme is positive (pytorch-grad-cam 1.5.7 leaves it to LAPACK).
 */
import { argmax } from '../shared/arrays';
import * as tf from '@tensorflow/tfjs';

/** Eigen-decomposition of a symmetric m x m matrix (row-major, overwritten): values and column vectors. */
export function symmetricEigen(a: Float64Array, m: number): { values: Float64Array; vectors: Float64Array } {
  const v = new Float64Array(m * m);
  for (let i = 0; i < m; i++) v[i * m + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diag = 0;
    for (let p = 0; p < m; p++) {
      diag += a[p * m + p] * a[p * m + p];
      for (let q = p + 1; q < m; q++) off += a[p * m + q] * a[p * m + q];
    }
    if (off <= 1e-30 * Math.max(diag, 1e-300)) break;
    for (let p = 0; p < m - 1; p++) {
      for (let q = p + 1; q < m; q++) {
        const apq = a[p * m + q];
        if (apq === 0) continue;
        const theta = (a[q * m + q] - a[p * m + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < m; k++) {
          const akp = a[k * m + p];
          const akq = a[k * m + q];
          a[k * m + p] = c * akp - s * akq;
          a[k * m + q] = s * akp + c * akq;
        }
        for (let k = 0; k < m; k++) {
          const apk = a[p * m + k];
          const aqk = a[q * m + k];
          a[p * m + k] = c * apk - s * aqk;
          a[q * m + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < m; k++) {
          const vkp = v[k * m + p];
          const vkq = v[k * m + q];
          v[k * m + p] = c * vkp - s * vkq;
          v[k * m + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: Float64Array.from({ length: m }, (_, i) => a[i * m + i]), vectors: v };
}

/**
 * Projection of the centred rows of X [n,K] (row-major) on their first principal direction,
 * and that direction (unit, length K). Sign: the larger of |max|, |min| of the projection is positive.
 */
export function principalProjection(x: ArrayLike<number>, n: number, K: number): { projection: Float64Array; direction: Float64Array } {
  const xc = new Float64Array(n * K);
  for (let k = 0; k < K; k++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += x[i * K + k];
    mean /= n;
    for (let i = 0; i < n; i++) xc[i * K + k] = x[i * K + k] - mean;
  }
  const direction = new Float64Array(K);
  const projection = new Float64Array(n);
  if (n <= K) {
    // Gram G = Xc Xc^T (n x n): top eigenvector u gives the projection sqrt(lambda) u.
    const g = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = i; j < n; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += xc[i * K + k] * xc[j * K + k];
        g[i * n + j] = s;
        g[j * n + i] = s;
      }
    }
    const { values, vectors } = symmetricEigen(g, n);
    const top = argmax(values);
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += xc[i * K + k] * vectors[i * n + top];
      direction[k] = s;
    }
  } else {
    const c = new Float64Array(K * K);
    for (let a = 0; a < K; a++) {
      for (let b = a; b < K; b++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += xc[i * K + a] * xc[i * K + b];
        c[a * K + b] = s;
        c[b * K + a] = s;
      }
    }
    const { values, vectors } = symmetricEigen(c, K);
    const top = argmax(values);
    for (let k = 0; k < K; k++) direction[k] = vectors[k * K + top];
  }
  const norm = Math.hypot(...direction);
  if (!(norm > 0)) return { projection, direction }; // constant rows: no direction, zero map
  for (let k = 0; k < K; k++) direction[k] /= norm;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += xc[i * K + k] * direction[k];
    projection[i] = s;
    lo = Math.min(lo, s);
    hi = Math.max(hi, s);
  }
  if (-lo > hi) {
    projection.forEach((p, i) => (projection[i] = -p));
    direction.forEach((d, k) => (direction[k] = -d));
  }
  return { projection, direction };
}

/** First-component projection of each row of weighted activations [R,h,w,K] -> [R,h,w]. */
export function firstComponentProjection(weighted: tf.Tensor4D): tf.Tensor3D {
  const [R, h, w, K] = weighted.shape;
  const data = weighted.dataSync();
  const out = new Float32Array(R * h * w);
  for (let r = 0; r < R; r++) {
    out.set(principalProjection(data.subarray(r * h * w * K, (r + 1) * h * w * K), h * w, K).projection, r * h * w);
  }
  return tf.tensor3d(out, [R, h, w]);
}

/** The first principal direction of each row's A [R,h,w,K] -> [R,K] (EigenCAM's channel weights). */
export function firstComponentDirections(activations: tf.Tensor4D): tf.Tensor2D {
  const [R, h, w, K] = activations.shape;
  const data = activations.dataSync();
  const out = new Float32Array(R * K);
  for (let r = 0; r < R; r++) {
    out.set(principalProjection(data.subarray(r * h * w * K, (r + 1) * h * w * K), h * w, K).direction, r * K);
  }
  return tf.tensor2d(out, [R, K]);
}

/** Similarity of two saliency maps, as Adebayo et al. (NeurIPS 2018) compare them. */
import { averageRanks } from './ranking';

/** Spearman rank correlation (Pearson of average ranks); 0 when either map is constant (no ranking to compare). */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`spearman: maps of different sizes (${a.length} and ${b.length}).`);
  const ra = averageRanks(a);
  const rb = averageRanks(b);
  const n = ra.length;
  const ma = ra.reduce((s, v) => s + v, 0) / n;
  const mb = rb.reduce((s, v) => s + v, 0) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (ra[i] - ma) * (rb[i] - mb);
    saa += (ra[i] - ma) ** 2;
    sbb += (rb[i] - mb) ** 2;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

/**
 * Mean SSIM (Wang et al., 2004) of two [H,W] maps with values in [0, dataRange], as scikit-image
 * computes it by default: 7x7 uniform windows (valid positions), sample covariances,
 * K1 = 0.01, K2 = 0.03.
 */
export function ssim(a: ArrayLike<number>, b: ArrayLike<number>, H: number, W: number, dataRange = 1, window = 7): number {
  if (a.length !== H * W || b.length !== H * W) throw new Error(`ssim: expected two ${H}x${W} maps; got ${a.length} and ${b.length} values.`);
  if (window > H || window > W) throw new Error(`ssim: a ${window}x${window} window does not fit ${H}x${W} maps.`);
  const c1 = (0.01 * dataRange) ** 2;
  const c2 = (0.03 * dataRange) ** 2;
  const n = window * window;
  const cov = n / (n - 1);
  let total = 0;
  let count = 0;
  for (let y = 0; y + window <= H; y++) {
    for (let x = 0; x + window <= W; x++) {
      let sa = 0;
      let sb = 0;
      let saa = 0;
      let sbb = 0;
      let sab = 0;
      for (let dy = 0; dy < window; dy++) {
        for (let dx = 0; dx < window; dx++) {
          const p = (y + dy) * W + x + dx;
          sa += a[p];
          sb += b[p];
          saa += a[p] * a[p];
          sbb += b[p] * b[p];
          sab += a[p] * b[p];
        }
      }
      const ma = sa / n;
      const mb = sb / n;
      const va = cov * (saa / n - ma * ma);
      const vb = cov * (sbb / n - mb * mb);
      const vab = cov * (sab / n - ma * mb);
      total += ((2 * ma * mb + c1) * (2 * vab + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
      count++;
    }
  }
  return total / count;
}

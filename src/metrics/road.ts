/**
 * ROAD, Remove And Debias (Rong et al., ICML 2022), as pytorch-grad-cam 1.5.7 defines it: at
 * percentile q, Most-Relevant-First imputes the pixels whose map value is >= the q-th percentile
 * of the map (the top 100-q %), Least-Relevant-First those of the inverted map (the bottom 100-q %),
 * by noisy linear imputation; each scores p(after) - p(before) of the class. The combined score
 * averages (LeRF - MoRF) / 2 over the percentiles: higher means the map ranks pixels better.
 */
import * as tf from '@tensorflow/tfjs';
import { checkInputs, MetricInputs } from './inputs';
import { gaussianSource, noisyLinearImpute } from './imputation';
import type { ProbabilityScorer } from './scorer';

export const ROAD_PERCENTILES = [10, 20, 30, 40, 50, 60, 70, 80, 90] as const;

export interface RoadOptions {
  percentiles?: readonly number[];
  /**
   * Noise standard deviation added to imputed values, as a fraction of the images' value range
   * (pytorch-grad-cam: 0.01 absolute on its normalised inputs; here 0.01 of the range, so raw 0-255
   * inputs get the same relative noise). 0 gives plain linear imputation.
   */
  noise?: number;
  seed?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface RoadResult {
  percentiles: number[];
  /** [percentile][image] probability change, Most-Relevant-First (more negative = better map). */
  morf: Float32Array[];
  /** [percentile][image] probability change, Least-Relevant-First (near 0 = better map). */
  lerf: Float32Array[];
  /** Per image: mean over percentiles of (LeRF - MoRF) / 2. */
  combined: Float32Array;
  meanMorf: number;
  meanLerf: number;
  meanCombined: number;
}

/** numpy.percentile's default (linear interpolation between order statistics). */
export function percentile(values: ArrayLike<number>, q: number): number {
  const sorted = Float64Array.from(values).sort();
  const pos = (q / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

/** Pixels ROAD imputes: MoRF removes map >= percentile; LeRF does the same on 1 - map. */
export function roadRemoved(map: ArrayLike<number>, q: number, order: 'morf' | 'lerf'): Uint8Array {
  const m = order === 'morf' ? Float64Array.from(map) : Float64Array.from(map, (v) => 1 - v);
  const threshold = percentile(m, q);
  return Uint8Array.from(m, (v) => (v < threshold ? 0 : 1));
}

function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
}

export function road(scorer: ProbabilityScorer, inputs: MetricInputs, options: RoadOptions = {}): RoadResult {
  checkInputs(inputs, 'ROAD');
  const percentiles = [...(options.percentiles ?? ROAD_PERCENTILES)];
  for (const q of percentiles) if (!(q > 0 && q < 100)) throw new Error(`ROAD: percentiles must lie strictly between 0 and 100; got ${q}.`);
  const [N, H, W, C] = inputs.images.shape;
  const pixels = inputs.images.dataSync();
  const maps = inputs.maps.dataSync();
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of pixels) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const noise = (options.noise ?? 0.01) * (hi - lo);
  const normal = gaussianSource(options.seed ?? 0);
  const before = scorer(inputs.images, inputs.classes);
  const size = H * W * C;
  const morf: Float32Array[] = [];
  const lerf: Float32Array[] = [];
  const total = N * percentiles.length;
  let done = 0;
  for (const q of percentiles) {
    const changes = { morf: new Float32Array(N), lerf: new Float32Array(N) };
    // Both orders of every image at this percentile in one batch of 2N.
    const imputed = new Float32Array(2 * N * size);
    for (let i = 0; i < N; i++) {
      const image = pixels.subarray(i * size, (i + 1) * size);
      const map = maps.subarray(i * H * W, (i + 1) * H * W);
      imputed.set(noisyLinearImpute(image, H, W, C, roadRemoved(map, q, 'morf'), noise, normal), i * size);
      imputed.set(noisyLinearImpute(image, H, W, C, roadRemoved(map, q, 'lerf'), noise, normal), (N + i) * size);
    }
    const after = tf.tidy(() => {
      const targets = Array.from({ length: 2 * N }, (_, r) => inputs.classes[r % N]);
      return scorer(tf.tensor4d(imputed, [2 * N, H, W, C]), targets);
    });
    for (let i = 0; i < N; i++) {
      changes.morf[i] = after[i] - before[i];
      changes.lerf[i] = after[N + i] - before[i];
    }
    morf.push(changes.morf);
    lerf.push(changes.lerf);
    done += N;
    options.onProgress?.(done, total);
  }
  const combined = Float32Array.from({ length: N }, (_, i) => mean(percentiles.map((_, j) => (lerf[j][i] - morf[j][i]) / 2)));
  return {
    percentiles,
    morf,
    lerf,
    combined,
    meanMorf: mean(morf.map(mean)),
    meanLerf: mean(lerf.map(mean)),
    meanCombined: mean(combined),
  };
}

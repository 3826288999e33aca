/**
 * Deletion and insertion (Petsiuk et al., RISE, BMVC 2018). Deletion replaces the pixels in the
 * map's order, most relevant first, by the baseline, `steps` equal slices at a time, and records
 * the class probability after each step; a faithful map makes it fall fast (low AUC). Insertion
 * starts from the baseline and puts the pixels back in the same order (high AUC is good). All
 * steps of a chunk of images run as one batch; AUC is the trapezoid rule over the fraction of
 * pixels, x in [0, 1].
 */
import * as tf from '@tensorflow/tfjs';
import { Baseline, baselineImages } from './baselines';
import { checkInputs, MetricInputs } from './inputs';
import { relevanceRanks } from './ranking';
import type { ProbabilityScorer } from './scorer';

export type CurveMode = 'deletion' | 'insertion';

export interface DeletionInsertionOptions {
  mode: CurveMode;
  /** Number of slices; the curve has steps + 1 points (default 32: 32 pixels a step on CIFAR-10). */
  steps?: number;
  /** Default: the blurred image for insertion and deletion alike (RISE). */
  baseline?: Baseline;
  /** Images per batch (each becomes steps + 1 inputs). */
  imagesPerBatch?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface CurveResult {
  mode: CurveMode;
  /** Fraction of pixels removed (deletion) or revealed (insertion) at each point. */
  fractions: Float32Array;
  /** Probability of the class at each point, per image. */
  curves: Float32Array[];
  /** Area under each image's curve. */
  auc: Float32Array;
  meanAuc: number;
}

/** Trapezoid area under y over equally spaced x in [0, 1]. */
export function trapezoidAuc(y: ArrayLike<number>): number {
  const n = y.length - 1;
  if (n < 1) throw new Error(`A curve needs at least 2 points to have an area; got ${y.length}.`);
  let s = 0;
  for (let i = 0; i < n; i++) s += (y[i] + y[i + 1]) / 2;
  return s / n;
}

export function deletionInsertion(scorer: ProbabilityScorer, inputs: MetricInputs, options: DeletionInsertionOptions): CurveResult {
  const name = options.mode;
  checkInputs(inputs, name);
  const steps = options.steps ?? 32;
  const [N, H, W, C] = inputs.images.shape;
  if (!(Number.isInteger(steps) && steps >= 1 && steps <= H * W)) throw new Error(`${name}: steps must be an integer 1..${H * W}; got ${steps}.`);
  const chunk = Math.max(1, options.imagesPerBatch ?? Math.max(1, Math.floor(256 / (steps + 1))));
  const counts = Int32Array.from({ length: steps + 1 }, (_, s) => Math.round((s * H * W) / steps));
  const fractions = Float32Array.from(counts, (k) => k / (H * W));
  const mapData = inputs.maps.dataSync();
  const curves: Float32Array[] = [];
  const baseline = baselineImages(inputs.images, options.baseline ?? { kind: 'blur' });
  try {
    for (let start = 0; start < N; start += chunk) {
      const n = Math.min(chunk, N - start);
      const ranks = new Int32Array(n * H * W);
      for (let i = 0; i < n; i++) ranks.set(relevanceRanks(mapData.subarray((start + i) * H * W, (start + i + 1) * H * W)), i * H * W);
      const probs = tf.tidy(() => {
        const x = tf.slice(inputs.images, [start], [n]);
        const base = tf.slice(baseline, [start], [n]);
        // affected[i,s,p] = pixel p is among the first counts[s] of image i: [n,S+1,H,W,1].
        const rank = tf.reshape(tf.tensor1d(ranks, 'int32'), [n, 1, H, W, 1]);
        const affected = tf.cast(tf.less(rank, tf.reshape(tf.tensor1d(counts, 'int32'), [1, steps + 1, 1, 1, 1])), 'float32');
        const x5 = tf.expandDims(x, 1);
        const b5 = tf.expandDims(base, 1);
        const [from, to] = options.mode === 'deletion' ? [x5, b5] : [b5, x5];
        const variants = tf.add(tf.mul(from, tf.sub(1, affected)), tf.mul(to, affected));
        const flat = tf.reshape(variants, [n * (steps + 1), H, W, C]) as tf.Tensor4D;
        const rowTargets = Array.from({ length: n * (steps + 1) }, (_, r) => inputs.classes[start + Math.floor(r / (steps + 1))]);
        return scorer(flat, rowTargets);
      });
      for (let i = 0; i < n; i++) curves.push(probs.slice(i * (steps + 1), (i + 1) * (steps + 1)));
      options.onProgress?.(start + n, N);
    }
  } finally {
    baseline.dispose();
  }
  const auc = Float32Array.from(curves, trapezoidAuc);
  return { mode: options.mode, fractions, curves, auc, meanAuc: auc.reduce((a, b) => a + b, 0) / N };
}

/**
 * What every metric measures: for a batch of (perturbed) images, the value of each one's target.
 * For a class, the model's probability of it (softmax of the scores, so a softmax-ended model and a
 * logits model give the same); for any other target resolved on the unperturbed image (a
 * segmentation's class over the same mask, the same detection, a regression value, a similarity
 * to the same concept), the value that stands for its probability. Built on the cam room's split,
 * and run in chunks so a metric can hand it thousands of variants.
 */
import * as tf from '@tensorflow/tfjs';
import { resolveTarget, splitModel } from '../cam';
import type { ExplainableModel, Target } from '../cam';

/** What a metric scores on one image: a class index (its probability) or a resolved target (its value). */
export type ScoredTarget = number | Target;

/** Each variant's value [n] for images [n,H,W,C], variant r scored on targets[r]. */
export type ProbabilityScorer = (images: tf.Tensor4D, targets: ArrayLike<ScoredTarget>) => Float32Array;

/** Images per forward pass inside a scorer: bounds memory whatever the caller passes. */
export const SCORER_BATCH = 256;

export function probabilityScorer(model: ExplainableModel): ProbabilityScorer {
  const split = splitModel(model);
  /** The output before its activation, chunk by chunk, through `each`. */
  const outputs = (images: tf.Tensor4D, each: (scores: tf.Tensor) => tf.Tensor): tf.Tensor => tf.tidy(() => {
    const n = images.shape[0];
    const parts: tf.Tensor[] = [];
    for (let i = 0; i < n; i += SCORER_BATCH) {
      const chunk = n <= SCORER_BATCH ? images : tf.slice(images, [i], [Math.min(SCORER_BATCH, n - i)]);
      parts.push(each(split.full(chunk, false).scores));
    }
    return parts.length === 1 ? parts[0] : tf.concat(parts);
  });
  return (images, targets) => {
    const n = images.shape[0];
    if (targets.length !== n) throw new Error(`scorer: got ${targets.length} targets for ${n} images; give one per image.`);
    if (Array.from(targets).every((t) => typeof t === 'number')) {
      return tf.tidy(() => pickClasses(outputs(images, (s) => tf.softmax(s as tf.Tensor2D)) as tf.Tensor2D, targets as ArrayLike<number>).dataSync() as Float32Array);
    }
    const raw = outputs(images, (s) => s);
    const values = raw.dataSync() as Float32Array;
    raw.dispose();
    const D = values.length / n;
    const ctx = { output: split.output };
    return Float32Array.from({ length: n }, (_, r) => {
      const t = targets[r];
      const target: Target = typeof t === 'number' ? { kind: 'class-logit', class: t } : t;
      return resolveTarget(target, values.subarray(r * D, (r + 1) * D), ctx).probability;
    });
  };
}

/** p[i, classes[i]] for each row: [n]. */
export function pickClasses(probabilities: tf.Tensor2D, classes: ArrayLike<number>): tf.Tensor1D {
  return tf.tidy(() => {
    const [n, numClasses] = probabilities.shape;
    const rowClasses = Int32Array.from({ length: n }, (_, i) => classes[i % classes.length]);
    return tf.sum(tf.mul(probabilities, tf.oneHot(tf.tensor1d(rowClasses, 'int32'), numClasses)), 1) as tf.Tensor1D;
  });
}

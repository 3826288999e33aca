/**
 * What every metric measures: the model's probability of a class for a batch of (perturbed)
 * images. Built on the cam room's split, so a softmax-ended model and a logits model give the
 * same probabilities, and run in chunks so a metric can hand it thousands of variants.
 */
import * as tf from '@tensorflow/tfjs';
import { splitModel } from '../cam';

/** Class probabilities [n, classes] for images [n,H,W,C]; the caller owns the result. */
export type ProbabilityScorer = (images: tf.Tensor4D) => tf.Tensor2D;

/** Images per forward pass inside a scorer: bounds memory whatever the caller passes. */
export const SCORER_BATCH = 256;

export function probabilityScorer(model: tf.LayersModel): ProbabilityScorer {
  const split = splitModel(model);
  return (images) => tf.tidy(() => {
    const n = images.shape[0];
    const parts: tf.Tensor2D[] = [];
    for (let i = 0; i < n; i += SCORER_BATCH) {
      const chunk = n <= SCORER_BATCH ? images : tf.slice(images, [i], [Math.min(SCORER_BATCH, n - i)]);
      parts.push(tf.softmax(split.full(chunk, false).scores as tf.Tensor2D));
    }
    return parts.length === 1 ? parts[0] : (tf.concat(parts) as tf.Tensor2D);
  });
}

/** p[i, classes[i]] for each row: [n]. */
export function pickClasses(probabilities: tf.Tensor2D, classes: ArrayLike<number>): tf.Tensor1D {
  return tf.tidy(() => {
    const [n, numClasses] = probabilities.shape;
    const rowClasses = Int32Array.from({ length: n }, (_, i) => classes[i % classes.length]);
    return tf.sum(tf.mul(probabilities, tf.oneHot(tf.tensor1d(rowClasses, 'int32'), numClasses)), 1) as tf.Tensor1D;
  });
}

/** Checks shared by the metrics: images, maps and classes that fit together, with errors that say the fix. */
import * as tf from '@tensorflow/tfjs';
import type { Explanation } from '../cam';
import type { ScoredTarget } from './scorer';

export interface MetricInputs {
  /** The model's inputs [N,H,W,C], as the model expects them. */
  images: tf.Tensor4D;
  /** One saliency map per image [N,H,W] at input resolution (higher = more relevant). */
  maps: tf.Tensor3D;
  /** The explained class of each image, or its target as the image resolved it (ClassExplanation.resolved). */
  classes: ArrayLike<ScoredTarget>;
}

export function checkInputs({ images, maps, classes }: MetricInputs, metric: string): void {
  if (images.rank !== 4) throw new Error(`${metric}: images must be [N,H,W,C]; got shape [${images.shape.join(',')}].`);
  const [N, H, W] = images.shape;
  if (maps.rank !== 3 || maps.shape[0] !== N || maps.shape[1] !== H || maps.shape[2] !== W) {
    throw new Error(`${metric}: maps must be [N,H,W] = [${N},${H},${W}] to match the images; got [${maps.shape.join(',')}]. Use each explanation's heatmap (input resolution).`);
  }
  if (classes.length !== N) throw new Error(`${metric}: got ${classes.length} classes for ${N} images; give one class per image.`);
}

/** The heatmaps of one explained class per image (the first, e.g. the target) as [N,H,W]. */
export function heatmapsOf(e: Explanation, classIndex = 0): tf.Tensor3D {
  const [H, W] = e.inputShape;
  const data = new Float32Array(e.images.length * H * W);
  e.images.forEach((im, i) => data.set(im.classes[classIndex].heatmap, i * H * W));
  return tf.tensor3d(data, [e.images.length, H, W]);
}

/** The class of that explained entry per image. */
export function classesOf(e: Explanation, classIndex = 0): Int32Array {
  return Int32Array.from(e.images, (im) => im.classes[classIndex].classIndex);
}

/**
 * A target resolved for one row (one image and one target): what it scores, as one signed output
 * element (a class logit, a sigmoid label, a regression value, a detection score) or as a
 * function of the row's output (a probability, a masked sum, a box IoU, a cosine similarity).
 * Scoring many rows at once is one masked sum when every row is an element of a small output.
 */
import * as tf from '@tensorflow/tfjs';
import type { Target } from './target-values';

/** A segmentation target's mask at the output's resolution, or a detection's box as the detector gives it. */
export interface TargetRegion {
  mask?: { data: Float32Array; height: number; width: number };
  /** x1, y1, x2, y2 in the detector's coordinates (pixels, or 0..1 of the input). */
  box?: [number, number, number, number];
}

export interface RowTarget {
  /** The class explained, or -1 when the target is not one class. */
  classIndex: number;
  /** How the target reads in captions: 'deer', 'label 3 (against)', 'box 17: car' ... */
  label: string;
  /** What stands where a classifier shows a probability: the activated value of the target. */
  probability: number;
  /** One output element (flat index in one image's output) and its sign. */
  element?: { index: number; sign: 1 | -1 };
  /** Where in the image the target lies, for pictures: a segmentation mask, a detection's box. */
  region?: TargetRegion;
  /**
   * The same target with everything fixed that this image decided ('predicted' as its class, the
   * predicted mask, the best box's anchor, its own embedding as the concept): scoring it on other
   * pixels (an occluded copy) asks how the *same* target changed.
   */
  resolved: Target;
  /** Otherwise: the score of each of n outputs [n, ...shape] -> [n]. */
  score?: (outputs: tf.Tensor) => tf.Tensor1D;
}

/** Outputs of at most this many values per image are scored with one dense mask; larger ones by gather. */
const DENSE_LIMIT = 4096;

/** Row r's target scored on `outputs` [n, ...shape] (n variants of row r's image): [n]. */
export function scoreOn(outputs: tf.Tensor, row: RowTarget): tf.Tensor1D {
  if (row.score) return row.score(outputs);
  const { index, sign } = row.element as { index: number; sign: 1 | -1 };
  const n = outputs.shape[0];
  const column = tf.slice(tf.reshape(outputs, [n, -1]), [0, index], [n, 1]);
  return tf.reshape(sign === 1 ? column : tf.neg(column), [n]) as tf.Tensor1D;
}

/** Each row's target on its own output: outputs [R, ...shape] -> [R]. */
export function scoreRows(outputs: tf.Tensor, rows: readonly RowTarget[]): tf.Tensor1D {
  const R = rows.length;
  const flat = tf.reshape(outputs, [R, -1]) as tf.Tensor2D;
  const D = flat.shape[1];
  if (rows.every((r) => r.element)) {
    if (D <= DENSE_LIMIT) {
      const mask = new Float32Array(R * D);
      rows.forEach((r, i) => (mask[i * D + (r.element as { index: number }).index] = (r.element as { sign: number }).sign));
      return tf.sum(tf.mul(flat, tf.tensor2d(mask, [R, D])), 1) as tf.Tensor1D;
    }
    const at = Int32Array.from(rows, (r, i) => i * D + (r.element as { index: number }).index);
    const signs = Float32Array.from(rows, (r) => (r.element as { sign: number }).sign);
    return tf.mul(tf.gather(tf.reshape(flat, [-1]), tf.tensor1d(at, 'int32')), tf.tensor1d(signs)) as tf.Tensor1D;
  }
  const parts = rows.map((row, r) => scoreOn(tf.slice(outputs, [r], [1]), row));
  return tf.concat(parts) as tf.Tensor1D;
}

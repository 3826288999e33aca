/** What a CAM method reads to weight its channels: the pass's values and ways to score more inputs. */
import type * as tf from '@tensorflow/tfjs';

export interface CamInputs {
  /** A per row [R,h,w,K] (a row is one (image, class) pair). */
  activations: tf.Tensor4D;
  /** dy^c/dA per row [R,h,w,K]; only for methods that use gradients. */
  gradients?: tf.Tensor4D;
  classes: Int32Array;
  /** The input image of each row [R,H,W,C]. */
  images: tf.Tensor4D;
  /** Pre-softmax score of `classes[i]` for each of `images`, [n] (for gradient-free methods). */
  score(images: tf.Tensor4D, classes: Int32Array): tf.Tensor1D;
  /** Image index of each row: rows of one image share A, so a method can compute per image once. */
  rowImage: Int32Array;
  /** Every class's pre-softmax score [n,classes] for n input images (one pass serves all classes). */
  allScores(images: tf.Tensor4D): tf.Tensor2D;
  /** Every class's score [n,classes] from n variants of row `row`'s A (the head only; e.g. ablations). */
  headScores(activations: tf.Tensor4D, row: number): tf.Tensor2D;
}

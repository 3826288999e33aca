/** What a CAM method reads to weight its channels: the pass's values and ways to score more inputs. */
import type * as tf from '@tensorflow/tfjs';

export interface CamInputs {
  /** A per row [R,h,w,K] (a row is one (image, class) pair). */
  activations: tf.Tensor4D;
  /** dy^c/dA per row [R,h,w,K]; only for methods that use gradients. */
  gradients?: tf.Tensor4D;
  /** The mean of each row's gradients over positions [R,K], when the pass has it without the maps. */
  gradientMeans?: tf.Tensor2D;
  /** The input image of each row [R,H,W,C]. */
  images: tf.Tensor4D;
  /** Image index of each row: rows of one image share A, so a method can compute per image once. */
  rowImage: Int32Array;
  /** The explained output before its activation [n, ...] for n input images (one pass serves every target). */
  outputs(images: tf.Tensor4D): tf.Tensor;
  /** The output [n, ...] from n variants of row `row`'s A (the head only; e.g. ablations). */
  headOutputs(activations: tf.Tensor4D, row: number): tf.Tensor;
  /** Row `row`'s target scored on outputs [n, ...] (from outputs or headOutputs): [n]. */
  targetScore(outputs: tf.Tensor, row: number): tf.Tensor1D;
}

/**
 * Ablation-CAM (Desai & Ramaswamy, WACV 2020), gradient-free: alpha_k = (y^c - y^c_k) / y^c, where
 * y^c_k is the score with channel k of A set to zero. The K ablations of an image run through
 * the head only, in batches, and one batch yields the whole output, so target 'all' costs no more.
 * (pytorch-grad-cam ablates to min(A) - 1e7 when A can be negative; here always to 0.)
 */
import * as tf from '@tensorflow/tfjs';
import { BaseCAM, CamInputs } from './base-cam';

/** Ablated copies of A per head pass: bounds memory at batch x h x w x K floats. */
export const ABLATION_BATCH = 64;

export class AblationCAM extends BaseCAM {
  readonly method = 'ablationcam' as const;
  protected readonly usesGradients = false;

  protected channelWeights({ activations, rowImage, headOutputs, targetScore }: CamInputs): tf.Tensor2D {
    const [R, , , K] = activations.shape;
    const rows: tf.Tensor1D[] = new Array(R);
    let r = 0;
    while (r < R) {
      let end = r + 1;
      while (end < R && rowImage[end] === rowImage[r]) end++; // rows of one image share A
      const first = r;
      const [original, ablated] = tf.tidy(() => {
        const a = tf.slice(activations, [first, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D;
        const parts: tf.Tensor[] = [];
        for (let k = 0; k < K; k += ABLATION_BATCH) {
          const n = Math.min(ABLATION_BATCH, K - k);
          // keep[j] zeroes channel k + j: 1 - oneHot, broadcast over positions.
          const keep = tf.reshape(tf.sub(1, tf.oneHot(tf.range(k, k + n, 1, 'int32'), K)), [n, 1, 1, K]);
          parts.push(headOutputs(tf.mul(a, keep) as tf.Tensor4D, first));
        }
        return [headOutputs(a, first), tf.concat(parts)]; // [1, ...output], [K, ...output]
      });
      for (let q = r; q < end; q++) {
        rows[q] = tf.tidy(() => {
          const y = targetScore(original, q); // [1]
          return tf.div(tf.sub(y, targetScore(ablated, q)), y) as tf.Tensor1D;
        });
      }
      tf.dispose([original, ablated]);
      r = end;
    }
    const weights = tf.stack(rows) as tf.Tensor2D;
    tf.dispose(rows);
    return weights;
  }
}

/**
 * Score-CAM (Wang et al.), gradient-free: each channel map, upsampled and scaled to [0,1],
 * masks the input; the class score of each masked input, softmaxed over channels, is the
 * channel's weight. The K masked inputs of an image run as batches.
 */
import * as tf from '@tensorflow/tfjs';
import { BaseCAM, CamInputs } from './base-cam';

const EPS = 1e-7;
/** Masked images per forward pass: bounds memory at batch x H x W x C floats. */
export const SCORE_CAM_BATCH = 64;

export class ScoreCAM extends BaseCAM {
  readonly method = 'scorecam' as const;
  protected readonly usesGradients = false;

  protected channelWeights({ activations, images, classes, score }: CamInputs): tf.Tensor2D {
    const [R, , , K] = activations.shape;
    const [, H, W] = images.shape;
    const rows: tf.Tensor1D[] = [];
    for (let r = 0; r < R; r++) {
      rows.push(
        tf.tidy(() => {
          const a = tf.slice(activations, [r, 0, 0, 0], [1, -1, -1, -1]);
          const up = tf.image.resizeBilinear(a, [H, W], false, true); // [1,H,W,K]
          const lo = tf.min(up, [1, 2], true);
          const hi = tf.max(up, [1, 2], true);
          const masks = tf.transpose(tf.div(tf.sub(up, lo), tf.add(tf.sub(hi, lo), EPS)), [3, 1, 2, 0]); // [K,H,W,1]
          const image = tf.slice(images, [r, 0, 0, 0], [1, -1, -1, -1]);
          const scores: tf.Tensor1D[] = [];
          for (let k = 0; k < K; k += SCORE_CAM_BATCH) {
            const n = Math.min(SCORE_CAM_BATCH, K - k);
            const masked = tf.mul(image, tf.slice(masks, [k, 0, 0, 0], [n, -1, -1, -1])) as tf.Tensor4D;
            scores.push(score(masked, new Int32Array(n).fill(classes[r])));
          }
          return tf.softmax(tf.concat(scores)) as tf.Tensor1D;
        }),
      );
    }
    const weights = tf.stack(rows) as tf.Tensor2D;
    tf.dispose(rows);
    return weights;
  }
}

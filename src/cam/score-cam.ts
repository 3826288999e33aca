/**
 * Score-CAM (Wang et al.), gradient-free: each channel map, upsampled and scaled to [0,1],
 * masks the input; the class score of each masked input, softmaxed over channels, is the
 * channel's weight. The K masked inputs of an image run as batches, once per image: a masked
 * pass yields the whole output, so target 'all' shares them instead of repeating them per class.
 */
import * as tf from '@tensorflow/tfjs';
import { BaseCAM, CamInputs } from './base-cam';

const EPS = 1e-7;
/** Masked images per forward pass at 224x224: bounds memory at batch x H x W x C floats. */
export const SCORE_CAM_BATCH = 64;
/**
 * Smaller inputs take proportionally more masked images per pass, up to all K of an image at once
 * (one pass of 128 instead of two of 64 on the shipped 32x32 model): fewer, larger calls, which the
 * native kernels split over the cores. The same memory bound as SCORE_CAM_BATCH at 224x224.
 */
export function maskedBatch(height: number, width: number, channels: number): number {
  return Math.max(1, Math.min(channels, Math.max(SCORE_CAM_BATCH, Math.floor((SCORE_CAM_BATCH * 224 * 224) / (height * width)))));
}

export class ScoreCAM extends BaseCAM {
  readonly method = 'scorecam' as const;
  protected readonly usesGradients = false;

  protected channelWeights({ activations, images, rowImage, outputs, targetScore }: CamInputs): tf.Tensor2D {
    const [R, , , K] = activations.shape;
    const [, H, W] = images.shape;
    const rows: tf.Tensor1D[] = new Array(R);
    let r = 0;
    while (r < R) {
      let end = r + 1;
      while (end < R && rowImage[end] === rowImage[r]) end++; // rows of one image share A and the input
      const first = r;
      const masked = tf.tidy(() => {
        const a = tf.slice(activations, [first, 0, 0, 0], [1, -1, -1, -1]);
        const up = tf.image.resizeBilinear(a, [H, W], false, true); // [1,H,W,K]
        const lo = tf.min(up, [1, 2], true);
        const hi = tf.max(up, [1, 2], true);
        const masks = tf.transpose(tf.div(tf.sub(up, lo), tf.add(tf.sub(hi, lo), EPS)), [3, 1, 2, 0]); // [K,H,W,1]
        const image = tf.slice(images, [first, 0, 0, 0], [1, -1, -1, -1]);
        const parts: tf.Tensor[] = [];
        const batch = maskedBatch(H, W, K);
        for (let k = 0; k < K; k += batch) {
          const n = Math.min(batch, K - k);
          parts.push(outputs(tf.mul(image, tf.slice(masks, [k, 0, 0, 0], [n, -1, -1, -1])) as tf.Tensor4D));
        }
        return tf.concat(parts); // [K, ...output]
      });
      for (let q = r; q < end; q++) {
        rows[q] = tf.tidy(() => tf.softmax(targetScore(masked, q)) as tf.Tensor1D);
      }
      masked.dispose();
      r = end;
    }
    const weights = tf.stack(rows) as tf.Tensor2D;
    tf.dispose(rows);
    return weights;
  }
}

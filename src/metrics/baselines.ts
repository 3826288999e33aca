/**
 * What "removed" pixels become in deletion/insertion: a blurred copy of the image (RISE's choice:
 * the pixel's information is gone but no new edges appear), the data set's mean colour, or a
 * constant the caller gives.
 */
import * as tf from '@tensorflow/tfjs';

export type Baseline =
  | { kind: 'blur'; kernelSize?: number; sigma?: number }
  | { kind: 'mean'; mean?: number[] }
  | { kind: 'constant'; value: number[] };

/** RISE used an 11-tap Gaussian with sigma 5. */
export const DEFAULT_BLUR = { kernelSize: 11, sigma: 5 } as const;

function gaussianTaps(size: number, sigma: number): Float32Array {
  const r = (size - 1) / 2;
  const taps = Float32Array.from({ length: size }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const sum = taps.reduce((a, b) => a + b, 0);
  return taps.map((t) => t / sum);
}

/** Separable Gaussian blur with reflected borders (zero padding would darken the edges). */
export function gaussianBlur(images: tf.Tensor4D, kernelSize: number = DEFAULT_BLUR.kernelSize, sigma: number = DEFAULT_BLUR.sigma): tf.Tensor4D {
  const [, H, W, C] = images.shape;
  if (!(Number.isInteger(kernelSize) && kernelSize % 2 === 1 && kernelSize > 0)) {
    throw new Error(`Blur kernel size must be an odd positive integer; got ${kernelSize}.`);
  }
  const r = (kernelSize - 1) / 2;
  if (r >= H || r >= W) throw new Error(`Blur kernel ${kernelSize} is too large for ${H}x${W} images; use at most ${2 * Math.min(H, W) - 1}.`);
  if (!(sigma > 0)) throw new Error(`Blur sigma must be positive; got ${sigma}.`);
  return tf.tidy(() => {
    const taps = gaussianTaps(kernelSize, sigma);
    const horizontal = tf.tile(tf.reshape(tf.tensor1d(taps), [1, kernelSize, 1, 1]), [1, 1, C, 1]) as tf.Tensor4D;
    const vertical = tf.tile(tf.reshape(tf.tensor1d(taps), [kernelSize, 1, 1, 1]), [1, 1, C, 1]) as tf.Tensor4D;
    const padded = tf.mirrorPad(images, [[0, 0], [r, r], [r, r], [0, 0]], 'reflect');
    return tf.depthwiseConv2d(tf.depthwiseConv2d(padded, horizontal, 1, 'valid'), vertical, 1, 'valid') as tf.Tensor4D;
  });
}

/** The baseline image for each of `images` [N,H,W,C]. 'mean' without a mean uses these images' per-channel mean. */
export function baselineImages(images: tf.Tensor4D, baseline: Baseline): tf.Tensor4D {
  return tf.tidy(() => {
    const C = images.shape[3];
    if (baseline.kind === 'blur') return gaussianBlur(images, baseline.kernelSize, baseline.sigma);
    const value = baseline.kind === 'mean' ? baseline.mean : baseline.value;
    if (value && value.length !== C) {
      throw new Error(`A ${baseline.kind} baseline needs one value per channel (${C}); got ${value.length}.`);
    }
    const colour = value ? tf.tensor1d(value) : tf.mean(images, [0, 1, 2]);
    return tf.mul(tf.onesLike(images), tf.reshape(colour, [1, 1, 1, C])) as tf.Tensor4D;
  });
}

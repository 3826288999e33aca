/**
 * Augmentation smoothing (pytorch-grad-cam's aug_smooth): explain the image under horizontal flips
 * x brightness 0.9 / 1 / 1.1, map each result back to the original frame, average. Unlike
 * pytorch-grad-cam, the class is fixed to the one the original image gives (a flipped image may
 * predict another class, and the average of two classes' maps explains neither), and the averaged
 * heatmap is scaled again to peak at 1.
 */
import * as tf from '@tensorflow/tfjs';
import { ImageBatch, toBatch } from './input';
import { TargetSpec } from './targets';
import { Explanation } from './types';

export const AUG_SMOOTH_FLIPS = [false, true] as const;
export const AUG_SMOOTH_FACTORS = [0.9, 1, 1.1] as const;

/** Mirrors an [h,w,c] HWC array left-right. */
export function flipHorizontal(data: Float32Array, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const from = (y * w + x) * c;
      const to = (y * w + (w - 1 - x)) * c;
      for (let k = 0; k < c; k++) out[to + k] = data[from + k];
    }
  }
  return out;
}

export function augmentationSmoothed(
  images: ImageBatch,
  inputShape: [number, number, number],
  target: TargetSpec,
  explainOnce: (x: tf.Tensor4D, target: TargetSpec) => Explanation,
): Explanation {
  if (typeof target === 'object' && !Array.isArray(target)) {
    throw new Error("augSmooth pins each image's classes from the unaugmented image: use target 'all', 'predicted' or one target per image, not { top } or { classes }.");
  }
  const x = toBatch(images, inputShape);
  try {
    const base = explainOnce(x, target);
    // Pin the classes the original image gives, so every augmentation explains the same ones.
    const pinned: TargetSpec = target === 'all' ? 'all' : base.images.map((im) => im.classes[0].classIndex);
    const [H, W, C] = base.inputShape;
    const [h, w] = base.layerShape;
    const sums = base.images.map((im) => im.classes.map((cl) => ({
      weights: new Float32Array(cl.weights.length),
      map: new Float32Array(cl.map.length),
      heatmap: new Float32Array(cl.heatmap.length),
      guided: cl.guided ? new Float32Array(cl.guided.length) : undefined,
    })));
    let count = 0;
    const add = (e: Explanation, flip: boolean): void => {
      const back = (a: Float32Array, hh: number, ww: number, c: number) => (flip ? flipHorizontal(a, hh, ww, c) : a);
      e.images.forEach((im, i) => im.classes.forEach((cl, j) => {
        const s = sums[i][j];
        cl.weights.forEach((v, k) => (s.weights[k] += v));
        back(cl.map, h, w, 1).forEach((v, k) => (s.map[k] += v));
        back(cl.heatmap, H, W, 1).forEach((v, k) => (s.heatmap[k] += v));
        if (s.guided && cl.guided) back(cl.guided, H, W, C).forEach((v, k) => ((s.guided as Float32Array)[k] += v));
      }));
      count++;
    };
    add(base, false);
    for (const flip of AUG_SMOOTH_FLIPS) {
      for (const factor of AUG_SMOOTH_FACTORS) {
        if (!flip && factor === 1) continue; // that is `base`
        const augmented = tf.tidy(() => tf.mul(flip ? tf.reverse(x, 2) : x, factor) as tf.Tensor4D);
        try {
          add(explainOnce(augmented, pinned), flip);
        } finally {
          augmented.dispose();
        }
      }
    }
    return {
      ...base,
      images: base.images.map((im, i) => ({
        ...im,
        classes: im.classes.map((cl, j) => {
          const s = sums[i][j];
          const heatmap = s.heatmap.map((v) => v / count);
          const peak = Math.max(...heatmap);
          if (peak > 0) heatmap.forEach((v, k) => (heatmap[k] = v / peak));
          const guided = s.guided?.map((v) => v / count);
          return {
            ...cl,
            weights: s.weights.map((v) => v / count),
            map: s.map.map((v) => v / count),
            heatmap,
            guided,
            guidedGradCam: guided?.map((v, k) => v * heatmap[Math.floor(k / C)]),
          };
        }),
      })),
    };
  } finally {
    x.dispose();
  }
}

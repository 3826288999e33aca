/**
 * Training augmentation on raw HWC bytes: random crop from a 4-pixel zero-padded frame and a
 * horizontal flip. Done in plain JS on the batch's bytes, before any tensor exists, because
 * it is a gather of 3 KB per image and costs far less than a tensor round trip.
 */
import { CHANNELS, IMAGE_BYTES, IMAGE_SIZE } from './cifar10';
import { makeRandom } from '../util/random';

export { makeRandom };

/** Fisher-Yates permutation of 0..n-1. */
export function shuffledIndices(n: number, random: () => number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

/**
 * Copies image `src` into `dst` shifted by (dy, dx) (pixels that fall outside become 0, the
 * padding) and optionally mirrored left-right. A shift of up to +-pad is a crop of the padded frame.
 */
export function cropAndFlip(src: Uint8Array, dst: Uint8Array, dy: number, dx: number, flip: boolean): void {
  dst.fill(0);
  for (let y = 0; y < IMAGE_SIZE; y++) {
    const sy = y + dy;
    if (sy < 0 || sy >= IMAGE_SIZE) continue;
    for (let x = 0; x < IMAGE_SIZE; x++) {
      const sx0 = x + dx;
      if (sx0 < 0 || sx0 >= IMAGE_SIZE) continue;
      const ox = flip ? IMAGE_SIZE - 1 - x : x;
      const s = (sy * IMAGE_SIZE + sx0) * CHANNELS;
      const d = (y * IMAGE_SIZE + ox) * CHANNELS;
      dst[d] = src[s];
      dst[d + 1] = src[s + 1];
      dst[d + 2] = src[s + 2];
    }
  }
}

/** Gathers `indices` of `images` into one float batch (0-255, HWC), augmenting when asked. */
export function gatherBatch(
  images: Uint8Array,
  indices: ArrayLike<number>,
  augment: { pad: number; random: () => number } | undefined,
): Float32Array {
  const out = new Float32Array(indices.length * IMAGE_BYTES);
  const scratch = new Uint8Array(IMAGE_BYTES);
  for (let b = 0; b < indices.length; b++) {
    const src = images.subarray(indices[b] * IMAGE_BYTES, (indices[b] + 1) * IMAGE_BYTES);
    let pixels = src;
    if (augment) {
      const span = 2 * augment.pad + 1;
      const dy = Math.floor(augment.random() * span) - augment.pad;
      const dx = Math.floor(augment.random() * span) - augment.pad;
      cropAndFlip(src, scratch, dy, dx, augment.random() < 0.5);
      pixels = scratch;
    }
    const base = b * IMAGE_BYTES;
    for (let i = 0; i < IMAGE_BYTES; i++) out[base + i] = pixels[i];
  }
  return out;
}

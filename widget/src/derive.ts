/**
 * Numbers the view draws, derived from the decoded state: class order, the alpha bars of a
 * class, a channel's activation map at image size. Pure functions, no DOM, so Node tests them.
 */
import { bilinearResize } from '../../src/shared/upsample';
import { argmax } from '../../src/shared/arrays';
import { mapRow, type DecodedImage } from './decode';

export { argmax };

/** Class indices by descending probability (ties by index, so the order is stable). */
export function classOrder(probs: ArrayLike<number>): number[] {
  return Array.from({ length: probs.length }, (_, i) => i).sort((a, b) => probs[b] - probs[a] || a - b);
}

export interface AlphaBar {
  /** Channel index k. */
  channel: number;
  /** alpha_k^c. */
  value: number;
  /** Rank by |value|, 0 = strongest; the chart labels the first few. */
  strength: number;
}

/** alpha_k^c of class c for every channel, sorted by value (largest first); none if c was not explained. */
export function alphaBars(image: DecodedImage, c: number): AlphaBar[] {
  const K = image.channels;
  const r = mapRow(image, c);
  if (r < 0) return [];
  const row = image.alphas.subarray(r * K, (r + 1) * K);
  const bars: AlphaBar[] = Array.from(row, (value, channel) => ({ channel, value, strength: 0 }));
  [...bars].sort((a, b) => Math.abs(b.value) - Math.abs(a.value) || a.channel - b.channel).forEach((b, i) => (b.strength = i));
  return bars.sort((a, b) => b.value - a.value || a.channel - b.channel);
}

/** The map of class c for `method` (one value or an RGB triple per pixel), if shipped for that class. */
export function classMap(map: Float32Array | undefined, image: DecodedImage, c: number, perPixel: number): Float32Array | undefined {
  const r = mapRow(image, c);
  if (!map || r < 0) return undefined;
  const n = image.height * image.width * perPixel;
  return map.subarray(r * n, (r + 1) * n);
}

export interface ChannelMap {
  /** A^k bilinearly upsampled to the input size and divided by its maximum: [0,1]. */
  map: Float32Array;
  /** Largest and mean activation of the channel, at layer resolution. */
  max: number;
  mean: number;
}

/** Channel k of the activations [h, w, K], ready to overlay on the image. */
export function channelMap(image: DecodedImage, k: number): ChannelMap {
  const { map_height: h, map_width: w, channels: K, activations } = image;
  const plane = new Float32Array(h * w);
  let max = 0;
  let sum = 0;
  for (let p = 0; p < h * w; p++) {
    const v = activations[p * K + k];
    plane[p] = v;
    sum += v;
    if (v > max) max = v;
  }
  const up = bilinearResize(plane, h, w, image.height, image.width, 1);
  const scale = max > 0 ? 1 / max : 0;
  for (let i = 0; i < up.length; i++) up[i] = Math.max(0, up[i] * scale);
  return { map: up, max, mean: sum / (h * w) };
}

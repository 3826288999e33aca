/** Pixels in whatever form a caller passes them, as the uint8 HWC bytes the widget ships. */
import * as tf from '@tensorflow/tfjs';
import type { ImageBatch } from '../cam';

/** Values rounded and clamped into 0..255. */
export function toBytes(values: ArrayLike<number>): Uint8Array {
  return Uint8Array.from(values, (v) => Math.round(Math.min(255, Math.max(0, v))));
}

/** Each image of a batch (tensor, list of arrays or tensors, or one array) as HWC bytes. */
export function pixelsOf(images: ImageBatch): Uint8Array[] {
  const list: ArrayLike<number>[] = images instanceof tf.Tensor
    ? tf.tidy(() => tf.unstack(images.rank === 3 ? tf.expandDims(images) : images).map((t) => t.dataSync()))
    : Array.isArray(images)
      ? images.map((im) => (im instanceof tf.Tensor ? im.dataSync() : im))
      : [images as ArrayLike<number>];
  return list.map((a) => toBytes(a as ArrayLike<number>));
}

/** `pixels` as bytes when they are one image of the model's input size, else an error naming `what`. */
export function checkedPixels(pixels: ArrayLike<number>, size: { height: number; width: number }, what: string): Uint8Array {
  const { height: H, width: W } = size;
  if (pixels.length !== H * W * 3) {
    throw new Error(`${what}: got ${pixels.length} values; the model takes ${W}x${H} RGB images (${H * W * 3} bytes, HWC). Resize the image first (readImageForModel).`);
  }
  return toBytes(pixels);
}

/** A copy of `pixels` with the box [x0,x1) x [y0,y1) painted `fill`, clipped to the image. */
export function paintBox(
  pixels: Uint8Array,
  size: { height: number; width: number },
  box: { x: number; y: number; width: number; height: number },
  fill: readonly [number, number, number],
): Uint8Array {
  const { height: H, width: W } = size;
  const x0 = Math.max(0, Math.round(box.x));
  const y0 = Math.max(0, Math.round(box.y));
  const x1 = Math.min(W, Math.round(box.x + box.width));
  const y1 = Math.min(H, Math.round(box.y + box.height));
  if (x1 <= x0 || y1 <= y0) throw new Error(`occlude: the box ${JSON.stringify(box)} covers no pixel of the ${W}x${H} image.`);
  const px = Uint8Array.from(pixels);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) px.set(fill, 3 * (y * W + x));
  return px;
}

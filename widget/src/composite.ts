/**
 * The pixels of the canvas: the input image with a heatmap (colormapped) or a guided map (RGB)
 * blended over it. Writes RGBA straight into an ImageData buffer; no allocation per call.
 */

/** out = (1 - a) * image + a * lut(map) per pixel; `lut` is 256 x RGB. */
export function blendHeatmap(
  out: Uint8ClampedArray,
  pixels: Uint8Array,
  map: ArrayLike<number>,
  lut: Uint8Array,
  opacity: number,
): void {
  const a = Math.min(1, Math.max(0, opacity));
  const b = 1 - a;
  for (let p = 0, n = map.length; p < n; p++) {
    const v = map[p];
    const k = 3 * (v > 0 ? (v < 1 ? Math.round(v * 255) : 255) : 0);
    out[4 * p] = b * pixels[3 * p] + a * lut[k];
    out[4 * p + 1] = b * pixels[3 * p + 1] + a * lut[k + 1];
    out[4 * p + 2] = b * pixels[3 * p + 2] + a * lut[k + 2];
    out[4 * p + 3] = 255;
  }
}

/** out = (1 - a) * image + a * 255 * rgb per pixel, rgb in [0,1] (Guided Grad-CAM). */
export function blendRgb(out: Uint8ClampedArray, pixels: Uint8Array, rgb: ArrayLike<number>, opacity: number): void {
  const a = Math.min(1, Math.max(0, opacity));
  const b = 1 - a;
  for (let i = 0, p = 0, n = pixels.length; i < n; i += 3, p += 4) {
    out[p] = b * pixels[i] + a * 255 * rgb[i];
    out[p + 1] = b * pixels[i + 1] + a * 255 * rgb[i + 1];
    out[p + 2] = b * pixels[i + 2] + a * 255 * rgb[i + 2];
    out[p + 3] = 255;
  }
}

/** The image alone (a method with no map for this image). */
export function copyImage(out: Uint8ClampedArray, pixels: Uint8Array): void {
  for (let i = 0, p = 0, n = pixels.length; i < n; i += 3, p += 4) {
    out[p] = pixels[i];
    out[p + 1] = pixels[i + 1];
    out[p + 2] = pixels[i + 2];
    out[p + 3] = 255;
  }
}

/**
 * Resampling for display. Bilinear uses half-pixel centres, the convention of
 * tf.image.resizeBilinear(x, size, alignCorners = false, halfPixelCenters = true) that
 * src/cam uses (and of cv2.resize / PyTorch align_corners=False): output pixel centre
 * (i + 0.5) maps to input coordinate (i + 0.5) * in/out - 0.5, clamped to the edge pixels.
 */

/** Bilinear resize of an HWC array with `channels` values per pixel. */
export function bilinearResize(
  src: ArrayLike<number>,
  height: number,
  width: number,
  outHeight: number,
  outWidth: number,
  channels = 1,
): Float32Array {
  if (src.length !== height * width * channels) {
    throw new Error(`bilinearResize: got ${src.length} values for ${height}x${width}x${channels}.`);
  }
  const out = new Float32Array(outHeight * outWidth * channels);
  const sy = height / outHeight;
  const sx = width / outWidth;
  for (let y = 0; y < outHeight; y++) {
    const fy = Math.min(height - 1, Math.max(0, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(height - 1, y0 + 1);
    const wy = fy - y0;
    for (let x = 0; x < outWidth; x++) {
      const fx = Math.min(width - 1, Math.max(0, (x + 0.5) * sx - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(width - 1, x0 + 1);
      const wx = fx - x0;
      for (let c = 0; c < channels; c++) {
        const a = src[(y0 * width + x0) * channels + c];
        const b = src[(y0 * width + x1) * channels + c];
        const d = src[(y1 * width + x0) * channels + c];
        const e = src[(y1 * width + x1) * channels + c];
        const top = a + (b - a) * wx;
        const bottom = d + (e - d) * wx;
        out[(y * outWidth + x) * channels + c] = top + (bottom - top) * wy;
      }
    }
  }
  return out;
}

/** Integer nearest-neighbour upscale: each pixel becomes a factor x factor block (crisp pixels). */
export function nearestUpscale<T extends Uint8ClampedArray | Float32Array>(
  src: T,
  height: number,
  width: number,
  factor: number,
  channels = 3,
): T {
  const out = new (src.constructor as new (n: number) => T)(height * width * channels * factor * factor);
  const outWidth = width * factor;
  for (let y = 0; y < height * factor; y++) {
    const sy = Math.floor(y / factor);
    for (let x = 0; x < outWidth; x++) {
      const from = (sy * width + Math.floor(x / factor)) * channels;
      const to = (y * outWidth + x) * channels;
      for (let c = 0; c < channels; c++) out[to + c] = src[from + c];
    }
  }
  return out;
}

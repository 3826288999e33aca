/**
 * The occlusion brush: flat grey squares painted into a copy of the image's pixels, the classic
 * occlusion-sensitivity patch (Zeiler & Fergus) placed by hand. Pure functions, so Node tests them.
 */
import { OCCLUSION_GREY } from '../../src/shared/gradcam-schema';

/** Brush sizes as fractions of the image width: small, medium, large (4, 8 and 16 px at 32x32). */
export const BRUSH_FRACTIONS = { S: 1 / 8, M: 1 / 4, L: 1 / 2 } as const;
export type BrushName = keyof typeof BRUSH_FRACTIONS;

/** The brush's side in image pixels for an image `width` wide (at least 1). */
export function brushPixels(name: BrushName, width: number): number {
  return Math.max(1, Math.round(BRUSH_FRACTIONS[name] * width));
}

/** Paints a size x size square centred on pixel (cx, cy) into HWC RGB `pixels` (clipped). */
export function paintSquare(pixels: Uint8Array, width: number, height: number, cx: number, cy: number, size: number): void {
  const left = Math.round(cx - size / 2);
  const top = Math.round(cy - size / 2);
  const x1 = Math.min(width, left + size);
  const y1 = Math.min(height, top + size);
  for (let y = Math.max(0, top); y < y1; y++) for (let x = Math.max(0, left); x < x1; x++) pixels.set(OCCLUSION_GREY, 3 * (y * width + x));
}

/** Paints squares along the segment from (ax, ay) to (bx, by), so a fast drag leaves no gaps. */
export function paintStroke(pixels: Uint8Array, width: number, height: number, ax: number, ay: number, bx: number, by: number, size: number): void {
  const steps = Math.max(1, Math.ceil(Math.hypot(bx - ax, by - ay) / Math.max(1, size / 2)));
  for (let s = 0; s <= steps; s++) {
    const t = s / steps;
    paintSquare(pixels, width, height, ax + (bx - ax) * t, ay + (by - ay) * t, size);
  }
}

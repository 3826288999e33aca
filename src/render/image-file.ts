/** An image file (PNG or JPEG) as HWC bytes at a model's input size, resized bilinearly if needed. */
import { bilinearResize } from './upsample';
import { decodeImage } from './png';

export interface ImageForModel {
  pixels: Uint8Array;
  /** Set when the file had another size and was resized (say so to the user). */
  resizedFrom?: { width: number; height: number };
}

export async function readImageForModel(file: string | Buffer, height: number, width: number): Promise<ImageForModel> {
  const img = await decodeImage(file);
  if (img.width === width && img.height === height) return { pixels: Uint8Array.from(img.data) };
  const resized = bilinearResize(img.data, img.height, img.width, height, width, 3);
  return {
    pixels: Uint8Array.from(resized, (v) => Math.round(Math.min(255, Math.max(0, v)))),
    resizedFrom: { width: img.width, height: img.height },
  };
}

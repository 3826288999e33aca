/** PNG encoding and decoding through node-canvas; files written atomically. */
import { createCanvas, loadImage } from 'canvas';
import { writeFileAtomic } from '../util/atomic-write';
import { putRgb } from './chart';
import { RgbImage } from './image';

export function encodePng(image: RgbImage): Buffer {
  const canvas = createCanvas(image.width, image.height);
  const g = canvas.getContext('2d');
  putRgb(g, image, 0, 0);
  return canvas.toBuffer('image/png');
}

/** Decodes a PNG or JPEG (file path or bytes) to RGB (alpha dropped). */
export async function decodeImage(source: Buffer | string): Promise<RgbImage> {
  const img = await loadImage(source);
  const canvas = createCanvas(img.width, img.height);
  const g = canvas.getContext('2d');
  g.drawImage(img, 0, 0);
  const rgba = g.getImageData(0, 0, img.width, img.height).data;
  const data = new Uint8ClampedArray(img.width * img.height * 3);
  for (let p = 0; p < img.width * img.height; p++) {
    data[3 * p] = rgba[4 * p];
    data[3 * p + 1] = rgba[4 * p + 1];
    data[3 * p + 2] = rgba[4 * p + 2];
  }
  return { width: img.width, height: img.height, data };
}

/** Writes a PNG via a temp file and a rename, so readers never see half a file. */
export function writePng(file: string, png: Buffer | RgbImage): void {
  writeFileAtomic(file, Buffer.isBuffer(png) ? png : encodePng(png));
}

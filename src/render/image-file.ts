/**
 * An image file (PNG, JPEG or GIF) as HWC bytes at a model's input size, resized bilinearly if
 * needed. Files from anywhere (a CLI argument, a drop onto the widget) are checked before the
 * decoder sees them: format from the magic bytes, size from the header, so a 50-MB paste, a text
 * file or a 100-megapixel bomb is a named error instead of a decoder crash or a memory spike.
 */
import * as fs from 'fs';
import { bilinearResize } from '../shared/upsample';
import { decodeImage } from './png';

export interface ImageForModel {
  pixels: Uint8Array;
  /** Set when the file had another size and was resized (say so to the user). */
  resizedFrom?: { width: number; height: number };
}

export type ImageFormat = 'png' | 'jpeg' | 'gif';

/** Largest file accepted (bytes) and largest picture (pixels): far above any photo a person drops. */
export const MAX_IMAGE_FILE_BYTES = 50 * 1024 * 1024;
export const MAX_IMAGE_PIXELS = 40_000_000;
/** Longest side the decoder (cairo, under node-canvas) accepts; a longer one fails as if corrupt. */
export const MAX_IMAGE_SIDE = 32767;

export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
}

/** Width and height of a JPEG from its first start-of-frame marker, or undefined if none is found. */
function jpegSize(b: Buffer): { width: number; height: number } | undefined {
  let at = 2;
  while (at + 9 < b.length) {
    if (b[at] !== 0xff) return undefined;
    const marker = b[at + 1];
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    const length = b.readUInt16BE(at + 2);
    // SOF0..SOF15 carry the frame size, except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: b.readUInt16BE(at + 5), width: b.readUInt16BE(at + 7) };
    }
    at += 2 + length;
  }
  return undefined;
}

/** Whether the file runs to its format's end marker (a cut-off download or paste does not). */
function isComplete(b: Buffer, format: ImageFormat): boolean {
  if (format === 'png') {
    // Walk the chunks: length, type, data, CRC; a complete file reaches IEND inside the bytes.
    let at = 8;
    while (at + 12 <= b.length) {
      const length = b.readUInt32BE(at);
      if (b.toString('latin1', at + 4, at + 8) === 'IEND') return true;
      at += 12 + length;
    }
    return false;
  }
  // JPEG ends with EOI (FF D9), GIF with its trailer (3B); tools may append a few padding bytes.
  const tail = b.subarray(Math.max(0, b.length - 64));
  return format === 'jpeg' ? tail.includes(Buffer.from([0xff, 0xd9])) : tail.includes(0x3b);
}

/**
 * Format and size of an image file from its first bytes; throws a named error for anything that
 * is not a PNG, JPEG or GIF of sane size. `name` is how the error names the file.
 */
export function readImageHeader(bytes: Buffer, name: string): ImageHeader {
  const fix = 'give a PNG, JPEG or GIF image';
  if (bytes.length === 0) throw new Error(`${name} is empty (0 bytes); ${fix}.`);
  if (bytes.length > MAX_IMAGE_FILE_BYTES) {
    throw new Error(`${name} is ${(bytes.length / 1024 / 1024).toFixed(1)} MB, over the ${MAX_IMAGE_FILE_BYTES / 1024 / 1024} MB limit for an image; resize or recompress it first.`);
  }
  let header: ImageHeader | undefined;
  if (bytes.length >= 24 && bytes.readUInt32BE(0) === 0x89504e47 && bytes.readUInt32BE(4) === 0x0d0a1a0a) {
    header = { format: 'png', width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
  } else if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    const size = jpegSize(bytes);
    if (!size) throw new Error(`${name} starts like a JPEG but has no frame header (truncated or corrupt); ${fix}.`);
    header = { format: 'jpeg', ...size };
  } else if (bytes.length >= 10 && /^GIF8[79]a$/.test(bytes.toString('latin1', 0, 6))) {
    header = { format: 'gif', width: bytes.readUInt16LE(6), height: bytes.readUInt16LE(8) };
  }
  if (!header) {
    const start = bytes.toString('latin1', 0, Math.min(8, bytes.length)).replace(/[^\x20-\x7e]/g, '.');
    throw new Error(`${name} is not a PNG, JPEG or GIF image (it starts with "${start}"); ${fix}.`);
  }
  if (header.width <= 0 || header.height <= 0) {
    throw new Error(`${name}: its ${header.format.toUpperCase()} header gives a size of ${header.width}x${header.height} (corrupt); ${fix}.`);
  }
  if (!isComplete(bytes, header.format)) {
    throw new Error(`${name} is a truncated ${header.format.toUpperCase()} (${bytes.length} bytes, its end marker is missing); save or download it again.`);
  }
  if (header.width * header.height > MAX_IMAGE_PIXELS) {
    throw new Error(`${name} is ${header.width}x${header.height} pixels, over the ${MAX_IMAGE_PIXELS / 1e6}-megapixel limit; downscale it first.`);
  }
  if (Math.max(header.width, header.height) > MAX_IMAGE_SIDE) {
    throw new Error(`${name} is ${header.width}x${header.height} pixels, over the limit of ${MAX_IMAGE_SIDE} pixels a side; downscale it first.`);
  }
  return header;
}

/**
 * Reads (a path) or takes (bytes) an image file, checks it, decodes it and resizes it to
 * height x width. `name` names the file in errors (default: the path, or "the image").
 */
export async function readImageForModel(file: string | Buffer, height: number, width: number, name?: string): Promise<ImageForModel> {
  const label = name ?? (typeof file === 'string' ? file : 'the image');
  let bytes: Buffer;
  if (typeof file === 'string') {
    try {
      bytes = fs.readFileSync(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new Error(code === 'ENOENT' ? `Image file ${file} does not exist; check the path.` : `Cannot read image file ${file} (${code ?? (e as Error).message}).`);
    }
  } else {
    bytes = file;
  }
  const header = readImageHeader(bytes, label);
  let img;
  try {
    img = await decodeImage(bytes);
  } catch {
    throw new Error(`${label} has a ${header.format.toUpperCase()} header but its data cannot be decoded (truncated or corrupt); save it again or give another image.`);
  }
  if (img.width === width && img.height === height) return { pixels: Uint8Array.from(img.data) };
  const resized = bilinearResize(img.data, img.height, img.width, height, width, 3);
  return {
    pixels: Uint8Array.from(resized, (v) => Math.round(Math.min(255, Math.max(0, v)))),
    resizedFrom: { width: img.width, height: img.height },
  };
}

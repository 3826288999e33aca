/**
 * Wire state -> typed arrays. The kernel sends every array as a binary buffer (a DataView in
 * the browser); the model keeps them as typed arrays so drawing never re-parses bytes.
 */
import type { Bytes, ImageEntry, ImageOrigin, MethodName } from '../../src/shared/gradcam-schema';
import { isBytes } from '../../src/shared/arrays';

/** One image of the state with its buffers as typed arrays. */
export interface DecodedImage {
  title: string;
  true_class: number;
  height: number;
  width: number;
  pixels: Uint8Array;
  probs: Float32Array;
  logits: Float32Array;
  map_height: number;
  map_width: number;
  channels: number;
  maps: Partial<Record<MethodName, Float32Array>>;
  alphas: Float32Array;
  activations: Float32Array;
  /** The classes whose maps and alphas are shipped, in their order; undefined: every class in class order. */
  map_classes?: Int32Array;
  origin: ImageOrigin;
  /** Probabilities before any edit (equal to probs for an unedited image). */
  original_probs: Float32Array;
}

/** Methods whose maps hold an RGB triple per pixel instead of one value. */
export const RGB_METHODS: ReadonlySet<MethodName> = new Set<MethodName>(['guided-gradcam', 'guided-backprop']);


function bytesOf(field: string, value: unknown): Bytes {
  if (isBytes(value)) return value;
  throw new TypeError(`GradCamModel: images[].${field} must be a binary buffer, got ${typeof value}.`);
}

/** Float32 view of little-endian bytes; copies when the buffer offset is not 4-aligned. */
export function float32Of(field: string, value: unknown, expected?: number): Float32Array {
  const b = bytesOf(field, value);
  if (b instanceof Float32Array) return check(field, b, expected);
  const n = Math.floor(b.byteLength / 4);
  const arr =
    b.byteOffset % 4 === 0
      ? new Float32Array(b.buffer, b.byteOffset, n)
      : new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + 4 * n));
  return check(field, arr, expected);
}

export function int32Of(field: string, value: unknown, expected?: number): Int32Array {
  const b = bytesOf(field, value);
  if (b instanceof Int32Array) return check(field, b, expected);
  const n = Math.floor(b.byteLength / 4);
  const arr = b.byteOffset % 4 === 0 ? new Int32Array(b.buffer, b.byteOffset, n) : new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + 4 * n));
  return check(field, arr, expected);
}

/** Row of class c in the shipped maps and alphas, or -1 when c was not explained. */
export function mapRow(image: { map_classes?: Int32Array }, c: number): number {
  return image.map_classes ? image.map_classes.indexOf(c) : c;
}

export function uint8Of(field: string, value: unknown, expected?: number): Uint8Array {
  const b = bytesOf(field, value);
  const arr = b instanceof Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return check(field, arr, expected);
}

function check<T extends ArrayLike<number>>(field: string, arr: T, expected?: number): T {
  if (expected !== undefined && arr.length !== expected) {
    throw new RangeError(`GradCamModel: images[].${field} has ${arr.length} values, expected ${expected}.`);
  }
  return arr;
}

/** Decode one wire image; the class count C comes from `probs` (float32 [C]). */
export function decodeImage(wire: ImageEntry): DecodedImage {
  const { height: H, width: W, map_height: h, map_width: w, channels: K } = wire;
  const probs = float32Of('probs', wire.probs);
  const classes = probs.length;
  const mapClasses = wire.map_classes === undefined ? undefined : int32Of('map_classes', wire.map_classes);
  const bad = mapClasses?.find((c) => c < 0 || c >= classes);
  if (bad !== undefined) throw new RangeError(`GradCamModel: images[].map_classes names class ${bad}; the model has ${classes}.`);
  const shipped = mapClasses?.length ?? classes;
  const maps: Partial<Record<MethodName, Float32Array>> = {};
  for (const [method, bytes] of Object.entries(wire.maps) as [MethodName, Bytes | undefined][]) {
    if (bytes === undefined) continue;
    const per = RGB_METHODS.has(method) ? 3 : 1;
    maps[method] = float32Of(`maps.${method}`, bytes, shipped * H * W * per);
  }
  return {
    title: wire.title,
    true_class: wire.true_class,
    height: H,
    width: W,
    pixels: uint8Of('pixels', wire.pixels, H * W * 3),
    probs,
    logits: float32Of('logits', wire.logits, classes),
    map_height: h,
    map_width: w,
    channels: K,
    maps,
    alphas: float32Of('alphas', wire.alphas, shipped * K),
    ...(mapClasses ? { map_classes: mapClasses } : {}),
    activations: float32Of('activations', wire.activations, h * w * K),
    // States saved before these fields existed: an unedited image as given.
    origin: wire.origin ?? 'given',
    original_probs: wire.original_probs === undefined ? probs : float32Of('original_probs', wire.original_probs, classes),
  };
}

/** The state's image list, decoded (a widget framework's deserialiser of 'images'). */
export function decodeImages(value: unknown): DecodedImage[] {
  if (!Array.isArray(value)) throw new TypeError(`GradCamModel: 'images' must be a list, got ${typeof value}.`);
  return (value as ImageEntry[]).map((img) => decodeImage(img));
}

/**
 * A typed array that spans its whole ArrayBuffer: ipywidgets' remove_buffers sends a view's entire
 * underlying buffer, so a view covering only part of one is copied before it goes back on the wire.
 */
export function exact<T extends Uint8Array | Float32Array | Int32Array>(a: T): T {
  return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : (a.slice() as T);
}

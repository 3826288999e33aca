/**
 * model.json's weightsManifest, checked for shape before tfjs reads it (tfjs's own failures on a
 * bad manifest are messages like "group.weights is not iterable"), and the number of bytes each
 * group of weights needs, so a cut-short weight file is named before it is decoded.
 */
import type * as tf from '@tensorflow/tfjs';
import { ModelFileError } from './errors';

export type WeightEntry = tf.io.WeightsManifestEntry;

export interface ManifestGroup {
  paths: string[];
  weights: WeightEntry[];
}

// Bytes per value, as tfjs-core's DTYPE_VALUE_SIZE_MAP; strings are length-prefixed instead.
const VALUE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8, uint8: 1, uint16: 2, float16: 2 };
const DTYPES = ['float32', 'int32', 'bool', 'string', 'complex64'];
const QUANTIZED = ['uint8', 'uint16', 'float16'];
const BYTES_OF_STRING_LENGTH = 4;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkEntry(entry: unknown, where: string, bad: (what: string) => ModelFileError): WeightEntry {
  if (!isObject(entry)) throw bad(`${where} is ${describe(entry)}; expected {name, shape, dtype}`);
  const { name, shape, dtype, quantization } = entry;
  if (typeof name !== 'string' || name === '') throw bad(`${where}.name is ${describe(name)}; expected the weight's name`);
  const named = `${where} ('${name}')`;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw bad(`${named} has shape ${JSON.stringify(shape)}; expected a list of whole numbers >= 0`);
  }
  if (typeof dtype !== 'string' || !DTYPES.includes(dtype)) {
    throw bad(`${named} has dtype ${describe(dtype)}, which tfjs cannot read (it reads ${DTYPES.join(', ')})`);
  }
  if (quantization !== undefined) {
    const q = quantization;
    if (!isObject(q) || typeof q.dtype !== 'string' || !QUANTIZED.includes(q.dtype)) {
      throw bad(`${named} has quantization ${JSON.stringify(q)}; tfjs reads quantization dtypes ${QUANTIZED.join(', ')}`);
    }
    if (q.dtype !== 'float16' && !(Number.isFinite(q.min) && Number.isFinite(q.scale))) {
      throw bad(`${named} is quantized to ${q.dtype} without numeric min and scale`);
    }
  }
  return entry as unknown as WeightEntry;
}

/** The manifest's groups, or a named error saying which part is not the expected shape. */
export function checkManifest(manifest: unknown, file: string): ManifestGroup[] {
  const bad = (what: string) =>
    new ModelFileError(`${file}: weightsManifest${what}. The model.json is damaged or was not written by tfjs; re-download or re-export the model.`);
  if (!Array.isArray(manifest)) throw bad(` is ${describe(manifest)}; expected a list of {paths, weights} groups`);
  return manifest.map((group: unknown, g) => {
    const at = `[${g}]`;
    if (!isObject(group)) throw bad(`${at} is ${describe(group)}; expected {paths, weights}`);
    const { paths, weights } = group;
    if (!Array.isArray(paths)) throw bad(`${at}.paths is ${describe(paths)}; expected a list of weight file names such as ["group1-shard1of1.bin"]`);
    paths.forEach((p: unknown, i) => {
      if (typeof p !== 'string' || p === '' || p.includes('\0')) throw bad(`${at}.paths[${i}] is ${describe(p)}; expected a weight file name`);
    });
    if (!Array.isArray(weights)) throw bad(`${at}.weights is ${describe(weights)}; expected a list of {name, shape, dtype}`);
    return { paths: paths as string[], weights: weights.map((w: unknown, i) => checkEntry(w, `${at}.weights[${i}]`, bad)) };
  });
}

/**
 * Bytes a group's weights take in its files. Strings are a 4-byte length then the bytes, so
 * their size is known only from `data`; without it (or past its end) `bytes` is a lower bound
 * and `exact` is false.
 */
export function groupByteLength(weights: WeightEntry[], data?: Uint8Array): { bytes: number; exact: boolean } {
  let bytes = 0;
  for (const w of weights) {
    const n = w.shape.reduce((a, b) => a * b, 1);
    if (w.quantization) bytes += n * VALUE_BYTES[w.quantization.dtype];
    else if (w.dtype !== 'string') bytes += n * VALUE_BYTES[w.dtype];
    else {
      for (let i = 0; i < n; i++) {
        if (!data || bytes + BYTES_OF_STRING_LENGTH > data.byteLength) return { bytes: bytes + BYTES_OF_STRING_LENGTH * (n - i), exact: false };
        // tfjs reads the length as a platform (little-endian) uint32.
        bytes += BYTES_OF_STRING_LENGTH + new DataView(data.buffer, data.byteOffset + bytes, BYTES_OF_STRING_LENGTH).getUint32(0, true);
      }
    }
  }
  return { bytes, exact: true };
}

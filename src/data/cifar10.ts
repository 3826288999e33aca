/**
 * Reader for the official CIFAR-10 *binary version* (cifar-10-batches-bin/).
 *
 * Each record is 3,073 bytes: a label byte (0-9), then 1,024 red, 1,024 green and 1,024 blue
 * bytes, each plane row-major 32x32. We read whole files into one Uint8Array and interleave the
 * planes into HWC order once, because every consumer (tensors, canvas, PNG) wants NHWC.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CLASS_NAMES, NUM_CLASSES } from './cifar10-classes';

export const IMAGE_SIZE = 32;
export const CHANNELS = 3;
export const PIXELS = IMAGE_SIZE * IMAGE_SIZE;
export const IMAGE_BYTES = PIXELS * CHANNELS;
export const RECORD_BYTES = 1 + IMAGE_BYTES;
export { CLASS_NAMES, NUM_CLASSES };

export const TRAIN_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'];
export const TEST_FILES = ['test_batch.bin'];
/** Records in each official batch file, training and test alike. */
export const RECORDS_PER_FILE = 10000;

/** A set of images in HWC byte order: image i occupies images[i*3072 .. (i+1)*3072). */
export interface ImageSet {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export class CorruptDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorruptDataError';
  }
}

/** Parses the records of one batch file's bytes; `source` names the file in error messages. */
export function parseBatch(bytes: Uint8Array, source = 'CIFAR-10 batch'): ImageSet {
  if (bytes.length === 0 || bytes.length % RECORD_BYTES !== 0) {
    throw new CorruptDataError(
      `${source} is ${bytes.length} bytes, not a positive multiple of the ${RECORD_BYTES}-byte CIFAR-10 record: ` +
        'the file is truncated or not the binary version. Delete it and download cifar-10-binary.tar.gz again.',
    );
  }
  const count = bytes.length / RECORD_BYTES;
  const images = new Uint8Array(count * IMAGE_BYTES);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const record = i * RECORD_BYTES;
    const label = bytes[record];
    if (label >= NUM_CLASSES) {
      throw new CorruptDataError(
        `${source}, record ${i}: label ${label} is not a class index 0-9; the file is corrupt or not CIFAR-10 (CIFAR-100 has two label bytes).`,
      );
    }
    labels[i] = label;
    const planes = record + 1;
    const out = i * IMAGE_BYTES;
    for (let p = 0; p < PIXELS; p++) {
      images[out + p * 3] = bytes[planes + p];
      images[out + p * 3 + 1] = bytes[planes + PIXELS + p];
      images[out + p * 3 + 2] = bytes[planes + 2 * PIXELS + p];
    }
  }
  return { images, labels, count };
}

/**
 * Reads one batch file. With `expectedRecords`, a file cut at a record boundary (a whole number of
 * records, but fewer) is refused too: it parses cleanly, so without the count it would be used silently.
 */
export function readBatchFile(file: string, expectedRecords?: number): ImageSet {
  if (!fs.existsSync(file)) {
    throw new CorruptDataError(`${file} is missing from the CIFAR-10 folder; download the data set again (gradcam info shows where it is looked for).`);
  }
  const set = parseBatch(fs.readFileSync(file), file);
  if (expectedRecords !== undefined && set.count !== expectedRecords) {
    throw new CorruptDataError(
      `${file} holds ${set.count} records, but a CIFAR-10 batch file holds ${expectedRecords} (${expectedRecords * RECORD_BYTES} bytes): ` +
        'the file is truncated or not the official one. Replace the folder with a fresh copy of cifar-10-binary.tar.gz (use --limit N to read fewer images).',
    );
  }
  return set;
}

export function concatSets(sets: ImageSet[]): ImageSet {
  const count = sets.reduce((n, s) => n + s.count, 0);
  const images = new Uint8Array(count * IMAGE_BYTES);
  const labels = new Uint8Array(count);
  let at = 0;
  for (const s of sets) {
    images.set(s.images, at * IMAGE_BYTES);
    labels.set(s.labels, at);
    at += s.count;
  }
  return { images, labels, count };
}

export type Split = 'train' | 'test';

/** Reads the training (50,000) or test (10,000) split from a cifar-10-batches-bin folder; each file must be whole. */
export function readSplit(dir: string, split: Split): ImageSet {
  const files = split === 'train' ? TRAIN_FILES : TEST_FILES;
  return concatSets(files.map((f) => readBatchFile(path.join(dir, f), RECORDS_PER_FILE)));
}

/** Class names from batches.meta.txt when present (a user's relabelled copy), else the official ones. */
export function readClassNames(dir: string): string[] {
  const meta = path.join(dir, 'batches.meta.txt');
  if (!fs.existsSync(meta)) return [...CLASS_NAMES];
  const names = fs.readFileSync(meta, 'utf8').split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
  return names.length === NUM_CLASSES ? names : [...CLASS_NAMES];
}

/** One image of a set (a view, not a copy). */
export function imageAt(set: ImageSet, index: number): Uint8Array {
  if (!Number.isInteger(index) || index < 0 || index >= set.count) {
    throw new RangeError(`image index ${index} is outside 0..${set.count - 1}`);
  }
  return set.images.subarray(index * IMAGE_BYTES, (index + 1) * IMAGE_BYTES);
}

/** Encodes images back into the official record format (used to write small test files). */
export function encodeBatch(set: ImageSet): Uint8Array {
  const bytes = new Uint8Array(set.count * RECORD_BYTES);
  for (let i = 0; i < set.count; i++) {
    const record = i * RECORD_BYTES;
    bytes[record] = set.labels[i];
    const src = i * IMAGE_BYTES;
    for (let p = 0; p < PIXELS; p++) {
      bytes[record + 1 + p] = set.images[src + p * 3];
      bytes[record + 1 + PIXELS + p] = set.images[src + p * 3 + 1];
      bytes[record + 1 + 2 * PIXELS + p] = set.images[src + p * 3 + 2];
    }
  }
  return bytes;
}

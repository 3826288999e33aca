/**
 * The example images shipped with the package: a few CIFAR-10 test images stored as 32x32 PNGs
 * with their test-set indices (examples/cifar10/index.json), so the demo and the notebooks explain
 * real images before any 160 MB download. The PNGs are lossless, so they are the test set's bytes.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ImageSet, imageAt, IMAGE_SIZE } from '../data/cifar10';
import { writeFileAtomic } from '../util/atomic-write';
import { toRgbImage } from './image';
import { decodeImage, writePng } from './png';

export const EXAMPLES_DIR = path.resolve(__dirname, '../../examples/cifar10');

/** Why an image is in the set: the figure it belongs to. */
export type ExampleRole = 'deer' | 'ship' | 'misclassified' | 'gallery';

export interface ExampleEntry {
  /** Index in the official CIFAR-10 test set (test_batch.bin). */
  testIndex: number;
  /** True class index and name. */
  label: number;
  className: string;
  role: ExampleRole;
  file: string;
}

export interface Example extends ExampleEntry {
  /** HWC RGB bytes, 32x32x3. */
  pixels: Uint8Array;
}

export async function readExamples(dir = EXAMPLES_DIR): Promise<Example[]> {
  const indexFile = path.join(dir, 'index.json');
  if (!fs.existsSync(indexFile)) {
    throw new Error(`No example images at ${indexFile}; reinstall gradcam-ts or pass images explicitly.`);
  }
  const entries = JSON.parse(fs.readFileSync(indexFile, 'utf8')) as ExampleEntry[];
  return Promise.all(
    entries.map(async (e) => {
      const img = await decodeImage(path.join(dir, e.file));
      if (img.width !== IMAGE_SIZE || img.height !== IMAGE_SIZE) {
        throw new Error(`${e.file} is ${img.width}x${img.height}, expected a ${IMAGE_SIZE}x${IMAGE_SIZE} CIFAR-10 image.`);
      }
      return { ...e, pixels: Uint8Array.from(img.data) };
    }),
  );
}

/** Writes the chosen test images as PNGs plus index.json (each file atomically). */
export function writeExamples(
  test: ImageSet,
  picks: { testIndex: number; role: ExampleRole }[],
  classNames: readonly string[],
  dir = EXAMPLES_DIR,
): ExampleEntry[] {
  const entries = picks.map(({ testIndex, role }) => {
    const label = test.labels[testIndex];
    const file = `test-${String(testIndex).padStart(5, '0')}-${classNames[label]}.png`;
    writePng(path.join(dir, file), toRgbImage(imageAt(test, testIndex), IMAGE_SIZE, IMAGE_SIZE));
    return { testIndex, label, className: classNames[label], role, file };
  });
  writeFileAtomic(path.join(dir, 'index.json'), `${JSON.stringify(entries, null, 1)}\n`);
  return entries;
}

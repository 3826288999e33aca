import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  CorruptDataError, encodeBatch, IMAGE_BYTES, imageAt, parseBatch, readBatchFile, readClassNames, readSplit, RECORD_BYTES,
} from '../../src/data/cifar10';
import { cropAndFlip, gatherBatch, makeRandom, shuffledIndices } from '../../src/data/augment';
import { SHARED_CIFAR10 } from '../support/setup';
import { tinyBatch } from '../support/cifar10-fixture';

/** One record built by hand: label, then the R, G, B planes. Pixel (y,x) of plane p = f(p,y,x). */
function handRecord(label: number, f: (plane: number, y: number, x: number) => number): Uint8Array {
  const r = new Uint8Array(RECORD_BYTES);
  r[0] = label;
  for (let p = 0; p < 3; p++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) r[1 + p * 1024 + y * 32 + x] = f(p, y, x);
  return r;
}

describe('CIFAR-10 binary reader', () => {
  it('interleaves the R, G, B planes into HWC order and keeps labels', () => {
    const a = handRecord(4, (p, y, x) => (p * 80 + y + x) & 255);
    const b = handRecord(8, (p, y, x) => (p === 2 ? 200 : y * 7 + x) & 255);
    const set = parseBatch(new Uint8Array([...a, ...b]));
    expect(set.count).to.equal(2);
    expect(Array.from(set.labels)).to.deep.equal([4, 8]);
    const img = imageAt(set, 0);
    // pixel (y=3, x=5): R = 8, G = 88, B = 168
    expect(Array.from(img.subarray((3 * 32 + 5) * 3, (3 * 32 + 5) * 3 + 3))).to.deep.equal([8, 88, 168]);
    expect(imageAt(set, 1)[(31 * 32 + 31) * 3 + 2]).to.equal(200);
  });

  it('round-trips through the official record format', () => {
    const random = makeRandom(7);
    const images = Uint8Array.from({ length: 3 * IMAGE_BYTES }, () => Math.floor(random() * 256));
    const set = { images, labels: Uint8Array.from([0, 9, 3]), count: 3 };
    const again = parseBatch(encodeBatch(set));
    expect(Buffer.from(again.images).equals(Buffer.from(images))).to.equal(true);
    expect(Array.from(again.labels)).to.deep.equal([0, 9, 3]);
  });

  it('rejects a truncated file with a named error that says what to do', () => {
    const bytes = new Uint8Array(RECORD_BYTES * 2 - 5);
    expect(() => parseBatch(bytes, 'data_batch_1.bin')).to.throw(CorruptDataError, /data_batch_1\.bin is 6141 bytes.*3073.*download/);
  });

  it('rejects a label above 9', () => {
    const r = handRecord(12, () => 0);
    expect(() => parseBatch(r, 'x.bin')).to.throw(CorruptDataError, /record 0: label 12/);
  });

  it('reports a missing batch file by name', () => {
    expect(() => readBatchFile('/nonexistent/test_batch.bin')).to.throw(CorruptDataError, /test_batch\.bin is missing/);
  });

  it('names a test batch cut at a record boundary: its record count against the 10,000 of a CIFAR-10 file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cifar-short-'));
    try {
      const file = path.join(dir, 'test_batch.bin');
      // Three whole records: it parses cleanly, so only the count can tell.
      fs.writeFileSync(file, tinyBatch(5, 3));
      expect(() => readSplit(dir, 'test')).to.throw(CorruptDataError, /test_batch\.bin holds 3 records, but a CIFAR-10 batch file holds 10000 \(30730000 bytes\).*fresh copy/);
      // Cut inside a record: named with its size.
      fs.writeFileSync(file, tinyBatch(5, 3).subarray(0, 3 * RECORD_BYTES - 1));
      expect(() => readSplit(dir, 'test')).to.throw(CorruptDataError, /test_batch\.bin is 9218 bytes, not a positive multiple of the 3073-byte/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads class names from batches.meta.txt, falling back to the official list', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cifar-meta-'));
    expect(readClassNames(dir)[4]).to.equal('deer');
    fs.writeFileSync(path.join(dir, 'batches.meta.txt'), 'a\nb\nc\nd\nDEER\nf\ng\nh\ni\nj\n\n');
    expect(readClassNames(dir)[4]).to.equal('DEER');
    fs.rmSync(dir, { recursive: true });
  });

  it('reads the real test split: 10,000 images, 1,000 per class', function () {
    if (!fs.existsSync(path.join(SHARED_CIFAR10, 'test_batch.bin'))) {
      console.log(`      (skipped: real CIFAR-10 not found at ${SHARED_CIFAR10})`);
      this.skip();
    }
    const test = readSplit(SHARED_CIFAR10, 'test');
    expect(test.count).to.equal(10000);
    const perClass = new Array(10).fill(0);
    test.labels.forEach((l) => perClass[l]++);
    expect(perClass).to.deep.equal(new Array(10).fill(1000));
    // The first test image of the official set is a cat (label 3).
    expect(test.labels[0]).to.equal(3);
  });
});

describe('augmentation', () => {
  const src = Uint8Array.from({ length: IMAGE_BYTES }, (_, i) => (i * 31) & 255);
  const at = (img: Uint8Array, y: number, x: number, c: number) => img[(y * 32 + x) * 3 + c];

  it('a shift moves pixels and fills the padding with zeros', () => {
    const dst = new Uint8Array(IMAGE_BYTES);
    cropAndFlip(src, dst, 2, -3, false);
    expect(at(dst, 5, 10, 1)).to.equal(at(src, 7, 7, 1));
    expect(at(dst, 31, 10, 0)).to.equal(0); // row 33 of the source is padding
    expect(at(dst, 4, 1, 2)).to.equal(0); // column -2 is padding
  });

  it('a flip mirrors columns', () => {
    const dst = new Uint8Array(IMAGE_BYTES);
    cropAndFlip(src, dst, 0, 0, true);
    expect(at(dst, 6, 0, 2)).to.equal(at(src, 6, 31, 2));
    expect(at(dst, 6, 31, 0)).to.equal(at(src, 6, 0, 0));
  });

  it('a shuffle is a permutation and reproducible from its seed', () => {
    const a = shuffledIndices(1000, makeRandom(3));
    expect(Array.from(a).sort((x, y) => x - y)).to.deep.equal(Array.from({ length: 1000 }, (_, i) => i));
    expect(Array.from(shuffledIndices(1000, makeRandom(3)))).to.deep.equal(Array.from(a));
  });

  it('gathers an unaugmented batch as float copies of the bytes', () => {
    const images = new Uint8Array([...src, ...src.map((v) => 255 - v)]);
    const batch = gatherBatch(images, [1, 0], undefined);
    expect(batch[0]).to.equal(255 - src[0]);
    expect(batch[IMAGE_BYTES + 100]).to.equal(src[100]);
  });
});

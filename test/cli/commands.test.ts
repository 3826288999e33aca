import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../../src/cli/main';
import { parsePicks } from '../../src/cli/export-examples';
import { imageAt, readSplit } from '../../src/data/cifar10';
import { decodeImage } from '../../src/render';
import { readExamples } from '../../src/render/examples';
import { SHARED_CIFAR10, rejection } from '../support/setup';
import { readModelMetadata } from '../../src/model/io';
import { SHIPPED_MODEL_DIR } from '../../src/model/shipped';

describe('gradcam CLI', function () {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'gradcam-cli-'));
  after(() => fs.rmSync(out, { recursive: true, force: true }));

  it('shipped example PNGs are the CIFAR-10 test images they name', async function () {
    const examples = await readExamples();
    expect(examples.map((e) => e.role)).to.include.members(['deer', 'ship', 'misclassified']);
    if (!fs.existsSync(path.join(SHARED_CIFAR10, 'test_batch.bin'))) {
      console.log(`      (pixel check skipped: real CIFAR-10 not found at ${SHARED_CIFAR10})`);
      this.skip();
    }
    const test = readSplit(SHARED_CIFAR10, 'test');
    for (const e of examples) {
      expect(test.labels[e.testIndex], `label of test #${e.testIndex}`).to.equal(e.label);
      expect(Buffer.from(e.pixels).equals(Buffer.from(imageAt(test, e.testIndex))), `pixels of test #${e.testIndex}`).to.equal(true);
    }
  });

  it('`figures` writes the deer, ship and misclassified figures from the shipped model, no data needed', async () => {
    const saved = process.env.GRADCAM_CIFAR10_DIR;
    process.env.GRADCAM_CIFAR10_DIR = '/nonexistent'; // proves no data set is read
    try {
      expect(await main(['figures', '--out', out])).to.equal(0);
    } finally {
      if (saved === undefined) delete process.env.GRADCAM_CIFAR10_DIR;
      else process.env.GRADCAM_CIFAR10_DIR = saved;
    }
    const examples = await readExamples();
    for (const name of ['deer', 'ship', 'misclassified']) {
      const img = await decodeImage(path.join(out, `${name}.png`));
      // Five panels of 128 px (32 px input upscaled 4x) side by side.
      expect(img.width, `${name}.png width`).to.be.above(5 * 128);
      // One row per deer / ship; two mistakes, each with a row per class (predicted, true).
      const rows = name === 'misclassified' ? 2 : examples.filter((e) => e.role === name).length;
      expect(img.height, `${name}.png height`).to.be.above(rows * 128);
    }
  });

  it('`demo` draws the figures and, without the data, reports the shipped model\'s recorded accuracy (at least the 85% goal)', async () => {
    const saved = { dir: process.env.GRADCAM_CIFAR10_DIR, log: console.log };
    const printed: string[] = [];
    process.env.GRADCAM_CIFAR10_DIR = '/nonexistent';
    console.log = (...args: unknown[]) => printed.push(args.join(' '));
    const demoOut = path.join(out, 'demo');
    let code: number;
    try {
      code = await main(['demo', '--out', demoOut]);
    } finally {
      console.log = saved.log;
      if (saved.dir === undefined) delete process.env.GRADCAM_CIFAR10_DIR;
      else process.env.GRADCAM_CIFAR10_DIR = saved.dir;
    }
    expect(code).to.equal(0);
    const meta = readModelMetadata(SHIPPED_MODEL_DIR) as { testAccuracy: number };
    expect(meta.testAccuracy).to.be.at.least(0.85);
    const text = printed.join('\n');
    expect(text).to.include(`Shipped model: ${(100 * meta.testAccuracy).toFixed(2)}% test accuracy`);
    expect(text).to.match(/evaluation here skipped: CIFAR-10 is not downloaded yet/);
    for (const name of ['deer', 'ship', 'misclassified']) expect(fs.existsSync(path.join(demoOut, `${name}.png`)), name).to.equal(true);
  });

  it('`explain` explains an image file into a figure', async () => {
    const file = path.join(out, 'explained.png');
    const examples = await readExamples();
    const ship = examples.find((e) => e.role === 'ship');
    expect(await main(['explain', path.join(__dirname, '../../examples/cifar10', ship!.file), '--class', 'all', '--out', file])).to.equal(0);
    const img = await decodeImage(file);
    expect(img.height).to.be.above(10 * 128); // one row per class
  });

  it('rejects a bad class, method or option with a message that says what is allowed', async () => {
    const img = path.join(__dirname, '../../examples/cifar10', (await readExamples())[0].file);
    expect((await rejection(main(['explain', img, '--class', 'unicorn', '--out', path.join(out, 'x.png')]))).message).to.match(/'unicorn' is not a class.*deer/);
    expect((await rejection(main(['explain', img, '--method', 'lime', '--out', path.join(out, 'x.png')]))).message).to.match(/'lime' is unknown.*scorecam/);
    expect((await rejection(main(['explain', img, '--bogus', '1']))).message).to.match(/unknown option --bogus/);
    expect((await rejection(main(['explain', img]))).message).to.match(/--out FILE\.png is required/);
    expect(fs.existsSync(path.join(out, 'x.png'))).to.equal(false);
  });

  it('parses example picks', () => {
    expect(parsePicks('deer=5,7;ship=9')).to.deep.equal([
      { testIndex: 5, role: 'deer' }, { testIndex: 7, role: 'deer' }, { testIndex: 9, role: 'ship' },
    ]);
    expect(() => parsePicks('cow=1')).to.throw(/roles: deer, ship/);
  });
});

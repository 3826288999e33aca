/**
 * The CLI given what it cannot use (issue 19): words that are Object.prototype keys, limits below 1,
 * models of the wrong kind and a CIFAR-10 file cut short. Each gets a sentence that names the
 * problem, never NaN, a raw library message or a stack trace.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { main } from '../../src/cli/main';
import { CorruptDataError } from '../../src/data/cifar10';
import { evaluateModel } from '../../src/model/evaluate';
import { saveModel } from '../../src/model/io';
import { readExamples } from '../../src/render/examples';
import { BATCH_NAMES, tinyBatch } from '../support/cifar10-fixture';
import { runCli } from '../support/cli-child';
import { rejection } from '../support/setup';

describe('gradcam CLI: input it cannot use', function () {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gradcam-bad-input-'));
  const models = { dense20: path.join(tmp, 'dense20'), flatDense: path.join(tmp, 'flat-dense'), classes1000: path.join(tmp, 'classes1000') };
  let image: string;
  before(async () => {
    await initBackend({ quiet: true });
    // Dense-only on a 20-vector; dense-only on images (Flatten); a conv net with 1000 class scores.
    const dense20 = tf.sequential({ layers: [tf.layers.dense({ inputShape: [20], units: 10 })] });
    const flatDense = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [32, 32, 3] }), tf.layers.dense({ units: 10 })] });
    const classes1000 = tf.sequential({
      layers: [tf.layers.conv2d({ inputShape: [32, 32, 3], filters: 2, kernelSize: 3 }), tf.layers.globalAveragePooling2d({}), tf.layers.dense({ units: 1000 })],
    });
    await saveModel(dense20, models.dense20);
    await saveModel(flatDense, models.flatDense);
    await saveModel(classes1000, models.classes1000);
    [dense20, flatDense, classes1000].forEach((m) => m.dispose());
    image = path.join(__dirname, '../../examples/cifar10', (await readExamples())[0].file);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('`gradcam __proto__`, `constructor` and `toString` are unknown commands', async () => {
    for (const word of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      const r = await runCli([word]);
      expect(r.code, word).to.equal(2);
      expect(r.stderr, word).to.match(new RegExp(`^gradcam: unknown command '${word}'\\nusage: gradcam`));
    }
  });

  it('trust --methods constructor is an unknown method', async () => {
    const err = await rejection(main(['trust', '--methods', 'gradcam,constructor', '--out', path.join(tmp, 'trust')]));
    expect(err.message).to.match(/--methods: unknown method 'constructor'; use a comma-separated list of gradcam/);
  });

  it('evaluate refuses a --limit below 1 or not whole, before reading anything', async () => {
    for (const value of ['0', '-3', '2.5']) {
      const err = await rejection(main(['evaluate', `--limit=${value}`, '--data', '/nonexistent']));
      expect(err.message, value).to.equal(`--limit must be a whole number of at least 1; got '${value}'.`);
    }
  });

  it('evaluate refuses a model whose output count is not the data\'s 10 classes, or whose input is not a CIFAR-10 image', async () => {
    const err = await rejection(main(['evaluate', '--model', models.classes1000, '--data', '/nonexistent']));
    expect(err.message).to.equal(
      `The model in ${models.classes1000} has 1000 outputs (shape [null,1000]), but the CIFAR-10 data has 10 classes; evaluate a model with 10 class scores, one per CIFAR-10 label.`,
    );
    expect((await rejection(main(['evaluate', '--model', models.dense20, '--data', '/nonexistent']))).message).to.match(
      /takes input \[null,20\], but CIFAR-10 images are \[N,32,32,3\]/,
    );
  });

  it('evaluateModel itself refuses a limit below 1 and a 1000-class model (it returned NaN)', () => {
    const set = { images: new Uint8Array(3072), labels: new Uint8Array(1), count: 1 };
    const model = tf.sequential({ layers: [tf.layers.globalAveragePooling2d({ inputShape: [32, 32, 3] }), tf.layers.dense({ units: 1000 })] });
    expect(() => evaluateModel(model, set)).to.throw(/has 1000 outputs .* 10 classes/);
    model.dispose();
    const ten = tf.sequential({ layers: [tf.layers.globalAveragePooling2d({ inputShape: [32, 32, 3] }), tf.layers.dense({ units: 10 })] });
    expect(() => evaluateModel(ten, set, { limit: 0 })).to.throw(/limit must be a whole number of at least 1; got 0/);
    expect(() => evaluateModel(ten, set, { limit: -3 })).to.throw(/got -3/);
    ten.dispose();
  });

  it('evaluate names a test batch cut at a record boundary, even with --limit', async () => {
    const data = path.join(tmp, 'cifar-10-batches-bin');
    fs.mkdirSync(data);
    BATCH_NAMES.forEach((name, i) => fs.writeFileSync(path.join(data, name), tinyBatch(i, 4)));
    for (const extra of [[], ['--limit', '2']]) {
      const err = await rejection(main(['evaluate', '--data', data, ...extra]));
      expect(err).to.be.instanceOf(CorruptDataError);
      expect(err.message).to.include(`${path.join(data, 'test_batch.bin')} holds 4 records, but a CIFAR-10 batch file holds 10000`);
    }
  });

  it('explain on a dense-only model with a vector input says it is not an image model (was "undefinedx20 input ... NaN")', async () => {
    const err = await rejection(main(['explain', image, '--model', models.dense20, '--out', path.join(tmp, 'x.png')]));
    expect(err.message).to.equal(
      `The model in ${models.dense20} takes input [N,20], not images [N,H,W,C] of a fixed size. Grad-CAM explains an image model ` +
        'through a layer with a spatial map [N,h,w,K] (a convolution); this model has none to explain. Give an image model.',
    );
    expect(fs.existsSync(path.join(tmp, 'x.png'))).to.equal(false);
  });

  it('explain on a dense-only image model (Flatten + Dense) says Grad-CAM needs a spatial map and lists the layers', async () => {
    const err = await rejection(main(['explain', image, '--model', models.flatDense, '--out', path.join(tmp, 'x.png')]));
    expect(err.message).to.match(/has no convolutional layer \(no layer with a 4-D output \[N,h,w,K\]\).*Grad-CAM needs a feature map.*\(Flatten\).*\(Dense\)/);
    expect(err.message).not.to.match(/undefined|NaN/);
  });
});

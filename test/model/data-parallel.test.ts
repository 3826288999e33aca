import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { IMAGE_BYTES } from '../../src/data/cifar10';
import { DataParallelStepper, defaultTrainingThreads } from '../../src/model/data-parallel';
import { ArchitectureSpec, CIFAR10_ARCHITECTURE, disposeNetwork, initNetwork, namedVariables, trainableVariables } from '../../src/model/network';
import { gradientStep, train } from '../../src/model/train';

const TINY: ArchitectureSpec = { convs: [{ filters: 4, poolAfter: true }, { filters: 6, poolAfter: false }], classes: 10 };

function batch(n: number, seed: number): { pixels: Float32Array; labels: Int32Array } {
  const pixels = Float32Array.from({ length: n * IMAGE_BYTES }, (_, i) => ((i * 2654435761 + seed) >>> 24) % 256);
  return { pixels, labels: Int32Array.from({ length: n }, (_, i) => (i * 7 + seed) % 10) };
}

describe('training threads by default (gradcam train without --threads, bench/peers.ts)', () => {
  it('is a data-parallel worker per core on wasm and cpu, and this thread alone on tfjs-node (its ops already use every core)', () => {
    expect(defaultTrainingThreads('wasm', 2)).to.equal(2);
    expect(defaultTrainingThreads('cpu', 4)).to.equal(4);
    expect(defaultTrainingThreads('tensorflow', 2)).to.equal(1);
    expect(defaultTrainingThreads('wasm', 0), 'os.cpus() can be empty').to.equal(1);
  });
});

describe('data-parallel training over worker threads', function () {
  this.timeout(120000);
  let stepper: DataParallelStepper;
  before(async () => {
    await initBackend({ quiet: true });
    stepper = await DataParallelStepper.create(TINY, 2);
  });
  after(async () => stepper?.close());

  it('gives the size-weighted mean of the shards\' gradients, computed on another thread', async () => {
    const params = initNetwork(TINY, 3);
    const all = namedVariables(params);
    const start = all.map((v) => v.dataSync().slice());
    const restore = () => tf.tidy(() => all.forEach((v, i) => v.assign(tf.tensor(start[i], v.shape))));
    const { pixels, labels } = batch(7, 1); // shards of 4 and 3 images
    const weights = trainableVariables(params);
    const a = gradientStep(params, weights, pixels.subarray(0, 4 * IMAGE_BYTES), labels.subarray(0, 4));
    restore();
    const b = gradientStep(params, weights, pixels.subarray(4 * IMAGE_BYTES), labels.subarray(4));
    restore();
    const parallel = await stepper.step(params, pixels, labels);
    weights.forEach((w) => {
      const expected = tf.tidy(() => tf.div(tf.add(tf.mul(a.grads[w.name], 4), tf.mul(b.grads[w.name], 3)), 7));
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(parallel.grads[w.name], expected))).dataSync()[0]);
      const scale = tf.tidy(() => tf.max(tf.abs(expected)).dataSync()[0]);
      expect(diff, w.name).to.be.below(1e-5 * Math.max(1, scale));
      expected.dispose();
    });
    expect(parallel.loss).to.be.closeTo((a.loss * 4 + b.loss * 3) / 7, 1e-5);
    expect(parallel.hits).to.equal(a.hits + b.hits);
    tf.dispose([...Object.values(a.grads), ...Object.values(b.grads), ...Object.values(parallel.grads)]);
    disposeNetwork(params);
  });

  it('trains through train() and leaks no tensors', async () => {
    const n = 96;
    const images = new Uint8Array(n * IMAGE_BYTES);
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = i % 3;
      for (let p = 0; p < 1024; p++) images[i * IMAGE_BYTES + p * 3 + labels[i]] = 220;
    }
    const set = { images, labels, count: n };
    const full = await DataParallelStepper.create(CIFAR10_ARCHITECTURE, 2);
    const before = tf.memory().numTensors;
    const r = await train(set, set, { epochs: 2, batchSize: 16, parallel: full, peakLearningRate: 0.05 });
    await full.close();
    expect(r.state.history[1].testAccuracy).to.be.above(0.9);
    disposeNetwork(r.params);
    expect(tf.memory().numTensors).to.equal(before);
  });
});

import { expect } from 'chai';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { evaluateModel, formatEvaluation } from '../../src/model/evaluate';
import { trainingReport } from '../../src/model/report';
import { CLASS_NAMES, IMAGE_BYTES, readSplit } from '../../src/data/cifar10';
import { loadModel, readModelMetadata } from '../../src/model/io';
import { SHIPPED_MODEL_DIR } from '../../src/model/shipped';
import { SHARED_CIFAR10 } from '../support/setup';

/** logits = [mean R, mean G, mean B, 0, ...]: the class is the brightest channel of the image. */
function brightestChannelModel(): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.globalAveragePooling2d({ inputShape: [32, 32, 3] }));
  const dense = tf.layers.dense({ units: 10 });
  model.add(dense);
  const kernel = tf.tidy(() => tf.concat([tf.eye(3), tf.zeros([3, 7])], 1));
  const bias = tf.zeros([10]);
  dense.setWeights([kernel, bias]);
  tf.dispose([kernel, bias]);
  return model;
}

function solid(rgb: [number, number, number]): Uint8Array {
  const img = new Uint8Array(IMAGE_BYTES);
  for (let p = 0; p < 1024; p++) img.set(rgb, p * 3);
  return img;
}

describe('evaluateModel', () => {
  before(async () => {
    await initBackend({ quiet: true });
  });

  it('counts accuracy, per-class accuracy and the confusion matrix against hand-known predictions', () => {
    const model = brightestChannelModel();
    // Predictions: 0, 1, 2, 0, 2 ; labels: 0, 1, 1, 3, 2
    const colours: [number, number, number][] = [[200, 0, 0], [0, 200, 0], [0, 0, 200], [90, 10, 10], [0, 40, 250]];
    const images = new Uint8Array(colours.length * IMAGE_BYTES);
    colours.forEach((c, i) => images.set(solid(c), i * IMAGE_BYTES));
    const labels = Uint8Array.from([0, 1, 1, 3, 2]);
    const e = evaluateModel(model, { images, labels, count: 5 }, { batchSize: 2 });
    expect(Array.from(e.predictions)).to.deep.equal([0, 1, 2, 0, 2]);
    expect(e.accuracy).to.equal(3 / 5);
    expect(e.confusion[1][2]).to.equal(1);
    expect(e.confusion[3][0]).to.equal(1);
    expect(e.perClassAccuracy.slice(0, 4)).to.deep.equal([1, 0.5, 1, 0]);
    expect(Number.isNaN(e.perClassAccuracy[9])).to.equal(true); // no image of class 9
    // Confidence = softmax of the logits: for pure red, e^200 dominates.
    expect(e.confidence[0]).to.be.closeTo(1, 1e-6);
    expect(formatEvaluation(e, CLASS_NAMES)).to.match(/accuracy 60\.00% on 5 test images/);
    model.dispose();
  });
});

describe('training report', () => {
  it('states progress, the latest and best accuracy, wall time and the command', () => {
    const h = (epoch: number, acc: number) => ({ epoch, trainLoss: 1, trainAccuracy: 0.5, testAccuracy: acc, seconds: 600, imagesPerSecond: 83 });
    const md = trainingReport({ epoch: 2, totalEpochs: 30, batchSize: 64, peakLearningRate: 0.05, seed: 1, backend: 'wasm', history: [h(1, 0.8), h(2, 0.7)] }, 'gradcam train --epochs 30');
    expect(md).to.match(/in progress, 2 of 30 epochs done/);
    expect(md).to.match(/80\.00%, the best epoch so far \(1\); the latest, epoch 2, reached 70\.00%/);
    expect(md).to.match(/20 min on the `wasm` backend/);
    expect(md).to.include('`gradcam train --epochs 30`');
    expect(md.split('\n').filter((l) => /^\| \d/.test(l))).to.have.length(2);
  });
});

describe('the shipped model on the real CIFAR-10 test set', function () {
  this.timeout(300000);

  it('reaches the accuracy its metadata records (and the 85% goal) on all 10,000 test images', async function () {
    if (!fs.existsSync(path.join(SHARED_CIFAR10, 'test_batch.bin'))) {
      console.log(`      (skipped: real CIFAR-10 not found at ${SHARED_CIFAR10})`);
      this.skip();
    }
    await initBackend({ quiet: true });
    const model = await loadModel(SHIPPED_MODEL_DIR);
    const recorded = (readModelMetadata(SHIPPED_MODEL_DIR) as { testAccuracy: number }).testAccuracy;
    const e = evaluateModel(model, readSplit(SHARED_CIFAR10, 'test'));
    model.dispose();
    expect(e.accuracy).to.be.at.least(0.85);
    // Training measured the BN network; the export folds BN into the convolutions: same maths, float rounding apart.
    expect(Math.abs(e.accuracy - recorded)).to.be.below(0.001);
  });
});

import { expect } from 'chai';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { imageAt, readSplit } from '../../src/data/cifar10';
import { loadModel } from '../../src/model/io';
import { explain, GradCAM, splitModel } from '../../src/cam';
import { CamNet, camNet, camNetActivations, maxAbs, randomArray, seeded } from '../support/cam-fixtures';
import { REPO_ROOT, SHARED_CIFAR10 } from '../support/setup';

describe('cam: Grad-CAM family maths', () => {
  before(async () => {
    await initBackend({ quiet: true });
  });

  describe('Grad-CAM equals CAM on a conv -> GAP -> dense net (paper Sec. 3.1)', () => {
    // Built in a hook, after the backend is chosen (describe bodies run before `before`).
    let net: CamNet;
    let image: Float32Array;
    let A: Float32Array;
    const Z = 25;
    before(() => {
      net = camNet(11);
      image = randomArray(net.size * net.size * net.inChannels, seeded(5), 2);
      A = camNetActivations(net, image);
    });

    for (let c = 0; c < 4; c++) {
      it(`class ${c}: alphas are w_k^c / Z and the map is CAM / Z`, () => {
        const e = explain(net.model, [image], { target: c });
        const got = e.images[0].classes[0];
        const expectedAlphas = Array.from({ length: net.K }, (_, k) => net.dense[k * net.classes + c] / Z);
        expect(maxAbs(got.weights, expectedAlphas)).to.be.below(1e-6);
        const cam = new Float32Array(Z).map((_, p) => {
          let s = 0;
          for (let k = 0; k < net.K; k++) s += net.dense[k * net.classes + c] * A[p * net.K + k];
          return Math.max(0, s);
        });
        // Equal up to the positive scale 1/Z.
        expect(maxAbs(got.map, cam.map((v) => v / Z))).to.be.below(1e-5);
        expect(maxAbs(e.images[0].activations, A)).to.be.below(1e-5);
      });
    }

    it('heatmap is the bilinearly upsampled map scaled to max 1 (here the input size equals the layer size)', () => {
      const got = explain(net.model, [image], { target: 'predicted' }).images[0].classes[0];
      const max = Math.max(...got.map);
      expect(max).to.be.above(0);
      expect(maxAbs(got.heatmap, got.map.map((v) => v / max))).to.be.below(1e-5);
    });
  });

  it('alphas match central finite differences of y^c w.r.t. A on a small random net (rel. err < 1e-3)', () => {
    const rand = seeded(3);
    const model = tf.sequential();
    model.add(tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c1' }));
    model.add(tf.layers.maxPooling2d({ poolSize: 2, name: 'p1' }));
    model.add(tf.layers.conv2d({ filters: 5, kernelSize: 3, padding: 'same', activation: 'relu', name: 'target' }));
    model.add(tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c3' }));
    model.add(tf.layers.flatten());
    model.add(tf.layers.dense({ units: 3, activation: 'relu', name: 'd1' }));
    model.add(tf.layers.dense({ units: 3, name: 'out' }));
    tf.tidy(() => model.setWeights(model.getWeights().map((w) => tf.tensor(randomArray(w.size, rand, 0.6), w.shape))));
    const image = randomArray(8 * 8 * 3, rand, 1);
    const split = splitModel(model, 'target');
    const [h, w, K] = split.layerShape;
    for (const c of [0, 1, 2]) {
      const alphas = explain(model, [image], { target: c, layer: 'target' }).images[0].classes[0].weights;
      // d/d eps of y^c(A + eps * 1_k) = sum_ij dy^c/dA^k_ij = h*w*alpha_k: one difference per channel.
      const fd = tf.tidy(() => {
        const trunk = split.trunk(tf.tensor4d(image, [1, 8, 8, 3]));
        const eps = 1e-3;
        return Array.from({ length: K }, (_, k) => {
          const bump = tf.mul(tf.oneHot([k], K).reshape([1, 1, 1, K]), eps);
          const up = split.head({ activations: tf.add(trunk.activations, bump) as tf.Tensor4D, side: [] }).dataSync()[c];
          const down = split.head({ activations: tf.sub(trunk.activations, bump) as tf.Tensor4D, side: [] }).dataSync()[c];
          return (up - down) / (2 * eps) / (h * w);
        });
      });
      const norm = Math.hypot(...alphas);
      expect(norm).to.be.above(1e-3);
      const err = Math.hypot(...fd.map((v, k) => v - alphas[k])) / norm;
      expect(err, `class ${c}: alphas ${Array.from(alphas)} vs ${fd}`).to.be.below(1e-3);
    }
    model.dispose();
  });

  it('the split head reproduces model.predict', () => {
    const net = camNet(21);
    const image = randomArray(net.size * net.size * net.inChannels, seeded(8), 2);
    const split = splitModel(net.model);
    const [fromSplit, fromPredict] = tf.tidy(() => {
      const x = tf.tensor4d(image, [1, net.size, net.size, net.inChannels]);
      return [split.head(split.trunk(x)).dataSync(), (net.model.predict(x) as tf.Tensor).dataSync()];
    });
    expect(maxAbs(fromSplit, fromPredict)).to.be.below(1e-5);
  });

  it('Grad-CAM++ weights follow the closed form; counterfactual weights are minus Grad-CAM', () => {
    const net = camNet(31);
    const image = randomArray(net.size * net.size * net.inChannels, seeded(9), 2);
    const A = camNetActivations(net, image);
    const Z = net.size * net.size;
    const c = 2;
    const pp = explain(net.model, [image], { target: c, method: 'gradcam++' }).images[0].classes[0].weights;
    // Gradients are constant per channel here: g_k = w_k^c / Z; S_k = sum_ij A^k_ij.
    const expected = Array.from({ length: net.K }, (_, k) => {
      const g = net.dense[k * net.classes + c] / Z;
      let S = 0;
      for (let p = 0; p < Z; p++) S += A[p * net.K + k];
      return Z * ((g * g) / (2 * g * g + S * g * g * g + 1e-7)) * Math.max(0, g);
    });
    expect(maxAbs(pp, expected)).to.be.below(1e-6);
    const gc = explain(net.model, [image], { target: c }).images[0].classes[0].weights;
    const cf = explain(net.model, [image], { target: c, method: 'counterfactual' }).images[0].classes[0];
    expect(maxAbs(cf.weights, gc.map((v) => -v))).to.be.below(1e-7);
    expect(cf.map.every((v) => v >= 0)).to.equal(true);
  });

  it('Score-CAM weights are the softmax over channels of the scores of channel-masked inputs', () => {
    const net = camNet(41);
    const image = randomArray(net.size * net.size * net.inChannels, seeded(4), 2);
    const A = camNetActivations(net, image);
    const Z = net.size * net.size;
    const c = 1;
    const got = explain(net.model, [image], { target: c, method: 'scorecam' }).images[0].classes[0].weights;
    const scores = Array.from({ length: net.K }, (_, k) => {
      const ch = Array.from({ length: Z }, (_, p) => A[p * net.K + k]);
      const lo = Math.min(...ch);
      const hi = Math.max(...ch);
      const masked = image.map((v, i) => v * ((ch[Math.floor(i / net.inChannels)] - lo) / (hi - lo + 1e-7)));
      return tf.tidy(() => (net.model.predict(tf.tensor4d(masked, [1, net.size, net.size, net.inChannels])) as tf.Tensor).dataSync()[c]);
    });
    const m = Math.max(...scores);
    const sum = scores.reduce((s, v) => s + Math.exp(v - m), 0);
    expect(maxAbs(got, scores.map((v) => Math.exp(v - m) / sum))).to.be.below(1e-5);
  });

  it('a softmax-ended model gives the same maps as its logits twin and says it removed the softmax', () => {
    const twins = (['linear', 'softmax', 'softmax-layer'] as const).map((f) => camNet(51, f));
    const image = randomArray(5 * 5 * 2, seeded(6), 2);
    const [ref, fused, layer] = twins.map((t) => explain(t.model, [image], { target: 'all' }));
    expect(ref.scoreSource).to.equal('logits');
    expect(fused.scoreSource).to.equal('pre-softmax (removed final softmax)');
    expect(layer.scoreSource).to.equal('pre-softmax (removed final softmax)');
    for (const other of [fused, layer]) {
      expect(maxAbs(other.images[0].logits, ref.images[0].logits)).to.be.below(1e-6);
      ref.images[0].classes.forEach((cl, c) => {
        expect(maxAbs(other.images[0].classes[c].map, cl.map)).to.be.below(1e-6);
        expect(maxAbs(other.images[0].classes[c].weights, cl.weights)).to.be.below(1e-7);
      });
    }
    // The probabilities are the softmax model's own output.
    const predicted = tf.tidy(() => (twins[1].model.predict(tf.tensor4d(image, [1, 5, 5, 2])) as tf.Tensor).dataSync());
    expect(maxAbs(fused.images[0].probabilities, predicted)).to.be.below(1e-6);
  });

  describe('targets', () => {
    let net: CamNet;
    const images = [1, 2, 3].map((s) => randomArray(5 * 5 * 2, seeded(s), 2));
    before(() => {
      net = camNet(61);
    });

    it("'predicted' explains each image's argmax; 'all' gives every class in order", () => {
      const predicted = tf.tidy(() => (net.model.predict(tf.tensor4d(Float32Array.from(images.flatMap((i) => Array.from(i))), [3, 5, 5, 2])) as tf.Tensor).argMax(1).dataSync());
      const e = explain(net.model, images);
      expect(e.images.map((i) => i.classes[0].classIndex)).to.deep.equal(Array.from(predicted));
      expect(e.images.map((i) => i.predicted)).to.deep.equal(Array.from(predicted));
      const all = explain(net.model, images, { target: 'all' });
      all.images.forEach((im, i) => {
        expect(im.classes.map((c) => c.classIndex)).to.deep.equal([0, 1, 2, 3]);
        const single = explain(net.model, [images[i]], { target: 2 }).images[0].classes[0];
        expect(maxAbs(im.classes[2].map, single.map)).to.be.below(1e-6);
      });
    });

    it('one target per image, by index or by name', () => {
      const named = explain(net.model, images, { target: ['b', 0, '3'], classNames: ['a', 'b', 'c', 'd'] });
      expect(named.images.map((i) => i.classes[0].classIndex)).to.deep.equal([1, 0, 3]);
      expect(named.images[0].classes[0].className).to.equal('b');
    });

    it('a 4-D tensor batch gives the same result as an array of images', () => {
      const fromArray = explain(net.model, images, { target: 1 });
      const t = tf.tensor4d(Float32Array.from(images.flatMap((i) => Array.from(i))), [3, 5, 5, 2]);
      const fromTensor = explain(net.model, t, { target: 1 });
      t.dispose();
      fromArray.images.forEach((im, i) => expect(maxAbs(fromTensor.images[i].classes[0].map, im.classes[0].map)).to.equal(0));
    });
  });

  describe('the shipped CIFAR-10 model', () => {
    const modelDir = path.join(REPO_ROOT, 'models/cifar10');
    it('explains test images: conv6 by default, logits equal model.predict, heatmaps in [0,1] peaking at 1', async function () {
      if (!fs.existsSync(path.join(modelDir, 'model.json')) || !fs.existsSync(SHARED_CIFAR10)) {
        console.log('      (skipped: needs models/cifar10 and ../shared/cifar-10-batches-bin)');
        this.skip();
      }
      const model = await loadModel(modelDir);
      const test = readSplit(SHARED_CIFAR10, 'test');
      const images = [0, 1, 2, 3].map((i) => imageAt(test, i));
      const e = new GradCAM(model).explain(images, { target: 'all' });
      expect(e.layer).to.equal('conv6');
      expect(e.layerShape).to.deep.equal([8, 8, 128]);
      const logits = tf.tidy(() => (model.predict(tf.tensor4d(Float32Array.from(images.flatMap((i) => Array.from(i))), [4, 32, 32, 3])) as tf.Tensor).dataSync());
      e.images.forEach((im, i) => {
        expect(maxAbs(im.logits, logits.slice(i * 10, i * 10 + 10))).to.be.below(1e-4);
        expect(im.classes).to.have.length(10);
        for (const c of im.classes) {
          expect(c.heatmap).to.have.length(32 * 32);
          const max = Math.max(...c.heatmap);
          expect(Math.min(...c.heatmap)).to.be.at.least(0);
          expect(max === 0 || Math.abs(max - 1) < 1e-4).to.equal(true);
        }
      });
      model.dispose();
    });
  });
});

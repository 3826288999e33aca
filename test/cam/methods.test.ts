import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { BaseCAM, CamMethodName, createCam, explain, RandomCAM } from '../../src/cam';
import { camNet, camNetActivations, CamNet, maxAbs, randomArray, seeded } from '../support/cam-fixtures';

/**
 * conv 3x3 'same' + ReLU -> flatten -> dense: y^c = sum_{p,k} W[p*K+k, c] A[p,k] + b_c, so
 * dy^c/dA[p,k] = W[p*K+k, c] varies over positions (unlike the GAP net, where it is constant)
 * and every method has a closed form in A and W.
 */
interface FlatNet extends CamNet {
  flatDense: Float32Array; // [Z*K, classes]
}

function flatNet(seed: number): FlatNet {
  const base = camNet(seed); // reuse its conv weights; A is computed by camNetActivations
  const rand = seeded(seed + 1000);
  const { size, inChannels, K, classes } = base;
  const Z = size * size;
  const model = tf.sequential({ name: `flatnet_${seed}` });
  model.add(tf.layers.conv2d({ inputShape: [size, size, inChannels], filters: K, kernelSize: 3, padding: 'same', activation: 'relu', name: 'features' }));
  model.add(tf.layers.flatten({ name: 'flat' }));
  model.add(tf.layers.dense({ units: classes, name: 'scores' }));
  const flatDense = randomArray(Z * K * classes, rand, 0.5);
  tf.tidy(() => model.setWeights([
    tf.tensor4d(base.kernel, [3, 3, inChannels, K]), tf.tensor1d(base.convBias),
    tf.tensor2d(flatDense, [Z * K, classes]), tf.tensor1d(base.denseBias),
  ]));
  base.model.dispose();
  return { ...base, model, flatDense };
}

/** Float64 power iteration on the covariance (an algorithm independent of the library's Jacobi). */
function topDirection(x: ArrayLike<number>, n: number, K: number): { projection: number[]; value: number } {
  const xc = Array.from({ length: n }, (_, i) => Array.from({ length: K }, (_, k) => x[i * K + k]));
  for (let k = 0; k < K; k++) {
    const mean = xc.reduce((s, row) => s + row[k], 0) / n;
    xc.forEach((row) => (row[k] -= mean));
  }
  let v = Array.from({ length: K }, (_, k) => 1 + k / K);
  let value = 0;
  for (let it = 0; it < 20000; it++) {
    const xv = xc.map((row) => row.reduce((s, a, k) => s + a * v[k], 0));
    const next = v.map((_, k) => xc.reduce((s, row, i) => s + row[k] * xv[i], 0));
    value = Math.hypot(...next);
    v = next.map((a) => a / value);
  }
  const projection = xc.map((row) => row.reduce((s, a, k) => s + a * v[k], 0));
  const lo = Math.min(...projection);
  const hi = Math.max(...projection);
  return { projection: -lo > hi ? projection.map((p) => -p) : projection, value };
}

describe('cam: HiResCAM, XGrad-CAM, LayerCAM, EigenCAM, Ablation-CAM, RandomCAM, smoothing', () => {
  let net: FlatNet;
  let image: Float32Array;
  let A: Float32Array;
  const c = 2;
  let Z: number;
  before(async () => {
    await initBackend({ quiet: true });
    net = flatNet(17);
    image = randomArray(net.size * net.size * net.inChannels, seeded(23), 2);
    A = camNetActivations(net, image);
    Z = net.size * net.size;
  });
  after(() => net.model.dispose());

  const W = (p: number, k: number): number => net.flatDense[(p * net.K + k) * net.classes + c];
  const score = (a: Float32Array): number => {
    let s = net.denseBias[c];
    for (let p = 0; p < Z; p++) for (let k = 0; k < net.K; k++) s += W(p, k) * a[p * net.K + k];
    return s;
  };

  it('HiResCAM: map = ReLU(sum_k dy/dA^k (.) A^k) with position-varying gradients, unlike Grad-CAM', () => {
    const got = explain(net.model, [image], { target: c, method: 'hirescam' }).images[0].classes[0];
    const expected = Array.from({ length: Z }, (_, p) => Math.max(0, Array.from({ length: net.K }, (_, k) => W(p, k) * A[p * net.K + k]).reduce((a, b) => a + b)));
    expect(maxAbs(got.map, expected)).to.be.below(1e-5);
    // Summed over positions the unclipped map is y^c - b_c: HiResCAM is exact for a linear head.
    const gc = explain(net.model, [image], { target: c }).images[0].classes[0];
    expect(maxAbs(got.weights, gc.weights)).to.be.below(1e-7);
    expect(maxAbs(got.map, gc.map)).to.be.above(1e-3);
  });

  it('LayerCAM: map = ReLU(sum_k ReLU(dy/dA^k) (.) A^k)', () => {
    const got = explain(net.model, [image], { target: c, method: 'layercam' }).images[0].classes[0];
    const expected = Array.from({ length: Z }, (_, p) => Array.from({ length: net.K }, (_, k) => Math.max(0, W(p, k)) * A[p * net.K + k]).reduce((a, b) => a + b));
    expect(maxAbs(got.map, expected)).to.be.below(1e-5);
    const meanRelu = Array.from({ length: net.K }, (_, k) => Array.from({ length: Z }, (_, p) => Math.max(0, W(p, k))).reduce((a, b) => a + b) / Z);
    expect(maxAbs(got.weights, meanRelu)).to.be.below(1e-6);
  });

  it('XGrad-CAM: alpha_k = sum_p A^k_p dy/dA^k_p / sum_p A^k_p', () => {
    const got = explain(net.model, [image], { target: c, method: 'xgradcam' }).images[0].classes[0];
    const alphas = Array.from({ length: net.K }, (_, k) => {
      let num = 0;
      let den = 0;
      for (let p = 0; p < Z; p++) {
        num += A[p * net.K + k] * W(p, k);
        den += A[p * net.K + k];
      }
      return num / (den + 1e-7);
    });
    expect(maxAbs(got.weights, alphas)).to.be.below(1e-5);
    const map = Array.from({ length: Z }, (_, p) => Math.max(0, alphas.reduce((s, a, k) => s + a * A[p * net.K + k], 0)));
    expect(maxAbs(got.map, map)).to.be.below(1e-5);
  });

  it('Ablation-CAM: alpha_k = (y^c - y^c with channel k zeroed) / y^c, from the network itself', () => {
    const got = explain(net.model, [image], { target: c, method: 'ablationcam' }).images[0].classes[0];
    const y = score(A);
    const alphas = Array.from({ length: net.K }, (_, k) => (y - score(A.map((v, i) => (i % net.K === k ? 0 : v)))) / y);
    expect(maxAbs(got.weights, alphas)).to.be.below(1e-4);
    expect(got.score).to.be.closeTo(y, 1e-4);
  });

  it('EigenCAM: map = ReLU(projection of centred A on its first principal direction), as float64 power iteration finds it', () => {
    const got = explain(net.model, [image], { target: c, method: 'eigencam' }).images[0].classes[0];
    const { projection } = topDirection(A, Z, net.K);
    expect(maxAbs(got.map, projection.map((v) => Math.max(0, v)))).to.be.below(1e-4);
    expect(Math.hypot(...got.weights)).to.be.closeTo(1, 1e-5);
    // Class-agnostic: every class gets the same map.
    const all = explain(net.model, [image], { target: 'all', method: 'eigencam' }).images[0].classes;
    all.forEach((cl) => expect(maxAbs(cl.map, got.map)).to.be.below(1e-6));
  });

  it('eigenSmooth: Grad-CAM map becomes the first component of the weighted activations w_k A^k', () => {
    const plain = explain(net.model, [image], { target: c }).images[0].classes[0];
    const smooth = explain(net.model, [image], { target: c, eigenSmooth: true }).images[0].classes[0];
    const weighted = A.map((v, i) => v * plain.weights[i % net.K]);
    const { projection } = topDirection(weighted, Z, net.K);
    expect(maxAbs(smooth.map, projection.map((v) => Math.max(0, v)))).to.be.below(1e-4);
  });

  it('RandomCAM: weights uniform in [-1,1], repeatable with a seed, new on each call', () => {
    const cam = new RandomCAM(net.model, { seed: 5 });
    const a = cam.explain([image], { target: 'all' }).images[0].classes.map((cl) => Array.from(cl.weights));
    const b = cam.explain([image], { target: 'all' }).images[0].classes.map((cl) => Array.from(cl.weights));
    const again = new RandomCAM(net.model, { seed: 5 }).explain([image], { target: 'all' }).images[0].classes.map((cl) => Array.from(cl.weights));
    expect(again).to.deep.equal(a);
    expect(b).to.not.deep.equal(a);
    expect(a.flat().every((v) => v >= -1 && v <= 1)).to.equal(true);
    expect(new Set(a.flat()).size).to.equal(a.flat().length);
  });

  for (const method of ['scorecam', 'ablationcam'] as const) {
    it(`${method}: target 'all' (shared passes) gives each class exactly its single-target result`, () => {
      const images = [image, randomArray(image.length, seeded(99), 2)];
      const all = explain(net.model, images, { target: 'all', method });
      all.images.forEach((im, i) => im.classes.forEach((cl) => {
        const single = explain(net.model, [images[i]], { target: cl.classIndex, method }).images[0].classes[0];
        expect(maxAbs(cl.weights, single.weights)).to.be.below(1e-6);
        expect(maxAbs(cl.map, single.map)).to.be.below(1e-6);
      }));
    });
  }

  it('augSmooth: the mean over flips x brightness 0.9/1/1.1 of each map mapped back, rescaled to peak 1', () => {
    const target = c;
    const got = explain(net.model, [image], { target, augSmooth: true, guided: true }).images[0].classes[0];
    const { size, inChannels } = net;
    const flipBack = (a: Float32Array, ch: number): Float32Array => tf.tidy(() => tf.reverse(tf.tensor3d(a, [size, size, ch]), 1).dataSync() as Float32Array);
    const heat = new Float32Array(Z);
    const map = new Float32Array(Z);
    for (const flip of [false, true]) {
      for (const factor of [0.9, 1, 1.1]) {
        const x = tf.tidy(() => {
          const t = tf.mul(tf.tensor3d(image, [size, size, inChannels]), factor);
          return (flip ? tf.reverse(t, 1) : t).dataSync() as Float32Array;
        });
        const cl = explain(net.model, [x], { target }).images[0].classes[0];
        (flip ? flipBack(cl.heatmap, 1) : cl.heatmap).forEach((v, i) => (heat[i] += v / 6));
        (flip ? flipBack(cl.map, 1) : cl.map).forEach((v, i) => (map[i] += v / 6));
      }
    }
    const peak = Math.max(...heat);
    expect(maxAbs(got.heatmap, heat.map((v) => v / peak))).to.be.below(1e-5);
    expect(maxAbs(got.map, map)).to.be.below(1e-5);
    expect(got.guided).to.have.length(Z * inChannels);
  });

  it('explainTogether: every method from one trunk pass equals its own explain (and leaks no tensors)', () => {
    const methods: CamMethodName[] = ['gradcam', 'gradcam++', 'counterfactual', 'hirescam', 'xgradcam', 'layercam', 'eigencam', 'ablationcam', 'scorecam'];
    const cams = methods.map((method) => createCam(net.model, { method }));
    const images = [image, randomArray(image.length, seeded(9), 2)];
    for (const options of [{ target: 'all' as const }, { target: 'predicted' as const, guided: true }]) {
      const together = BaseCAM.explainTogether(cams, images, options);
      const before = tf.memory().numTensors;
      BaseCAM.explainTogether(cams, images, options);
      expect(tf.memory().numTensors).to.equal(before);
      cams.forEach((cam, m) => {
        const alone = cam.explain(images, options);
        expect(together[m].method).to.equal(methods[m]);
        alone.images.forEach((im, i) => im.classes.forEach((cl, k) => {
          const got = together[m].images[i].classes[k];
          expect(got.classIndex).to.equal(cl.classIndex);
          expect(maxAbs(got.heatmap, cl.heatmap), `${methods[m]} image ${i} class ${cl.classIndex}`).to.be.below(1e-6);
          expect(maxAbs(got.weights, cl.weights)).to.be.below(1e-6);
          if (cl.guidedGradCam) expect(maxAbs(got.guidedGradCam as Float32Array, cl.guidedGradCam)).to.be.below(1e-6);
        }));
      });
    }
    const stranger = flatNet(3);
    expect(() => BaseCAM.explainTogether([cams[0], createCam(stranger.model)], images)).to.throw(/every method must explain the same model at the same layer/);
    stranger.model.dispose();
  });

  it('every new method, smoothing and target: tf.memory().numTensors unchanged over 60 explanations', () => {
    const methods: CamMethodName[] = ['hirescam', 'xgradcam', 'layercam', 'eigencam', 'ablationcam', 'randomcam', 'scorecam'];
    const cams = methods.map((method) => createCam(net.model, { method }));
    const images = [image, randomArray(image.length, seeded(7), 2)];
    cams.forEach((cam) => cam.explain(images, { augSmooth: true, eigenSmooth: true, guided: true }));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 60; i++) {
      cams[i % cams.length].explain(images, { target: i % 2 ? 'all' : 'predicted', eigenSmooth: i % 3 === 0, augSmooth: i % 5 === 0, guided: i % 4 === 0 });
    }
    expect(tf.memory().numTensors).to.equal(before);
  });
});

/**
 * Convolution chains (conv / depthwise conv, batch norm, ReLU / ReLU6) run as one fused op when a
 * layers model is split for explanation (src/cam/fused-layers.ts). The truths: a closed form for
 * one folded pixel, and the same model run layer by layer (fusion off) for scores, Grad-CAM at the
 * last and at an inner layer (whose chain must then stop there), and guided backprop.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { DEPTHWISE_GATED_INPUT_GRADIENT, initBackend, setNativeKernelsEnabled } from '../../src/backend';
import { createCam } from '../../src/cam';
import { planFusedChains, setLayerFusion } from '../../src/cam/fused-layers';
import { randomArray, seeded } from '../support/cam-fixtures';
import { expectSameExplanations, maxRelativeError as relative } from '../support/compare';

type ST = tf.SymbolicTensor;

/** Random batch-norm statistics and affine weights, so a fold that is wrong anywhere shows. */
function randomiseBatchNorms(model: tf.LayersModel, seed: number): void {
  const rand = seeded(seed);
  for (const layer of model.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
    const weights = layer.getWeights().map((w, i, all) => {
      const n = w.size;
      const isVariance = i === all.length - 1;
      const values = isVariance ? Float32Array.from(randomArray(n, rand), (v) => 0.5 + Math.abs(v)) : randomArray(n, rand, 0.7);
      return tf.tensor(values, w.shape);
    });
    layer.setWeights(weights);
    tf.dispose(weights);
  }
}

/** MobileNet- and ResNet-like chains: conv+BN+ReLU6, depthwise (multiplier 2)+BN(scale=False)+ReLU,
 * conv with a fused ReLU, conv+BN into an Add (no activation), Activation('relu'), a softmax head. */
const init = (seed: number) => tf.initializers.glorotUniform({ seed });

function chainsModel(): tf.LayersModel {
  const input = tf.input({ shape: [12, 12, 3] });
  let x = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false, name: 'c1', kernelInitializer: init(1) }).apply(input) as ST;
  x = tf.layers.batchNormalization({ name: 'bn1', epsilon: 1e-3 }).apply(x) as ST;
  x = tf.layers.reLU({ maxValue: 6, name: 'relu1' }).apply(x) as ST;
  let y = tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', name: 'dw2', depthwiseInitializer: init(2) }).apply(x) as ST;
  y = tf.layers.batchNormalization({ scale: false, name: 'bn2' }).apply(y) as ST;
  y = tf.layers.reLU({ name: 'relu2' }).apply(y) as ST;
  y = tf.layers.conv2d({ filters: 8, kernelSize: 1, activation: 'relu', name: 'c3', kernelInitializer: init(3), biasInitializer: tf.initializers.randomNormal({ seed: 4 }) }).apply(y) as ST;
  let z = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'valid', name: 'c4', kernelInitializer: init(5) }).apply(y) as ST;
  z = tf.layers.batchNormalization({ name: 'bn4' }).apply(z) as ST;
  const skip = tf.layers.cropping2D({ cropping: 1, name: 'crop' }).apply(x) as ST;
  let sum = tf.layers.add({ name: 'add' }).apply([z, skip]) as ST;
  sum = tf.layers.activation({ activation: 'relu', name: 'out_relu' }).apply(sum) as ST;
  const gap = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(sum) as ST;
  const out = tf.layers.dense({ units: 4, activation: 'softmax', name: 'predictions', kernelInitializer: init(6) }).apply(gap) as ST;
  const model = tf.model({ inputs: input, outputs: out });
  randomiseBatchNorms(model, 7);
  return model;
}

describe('cam: convolution chains fused for explanation', function () {
  this.timeout(60000);
  before(async () => {
    await initBackend({ quiet: true });
  });
  afterEach(() => setLayerFusion(true));

  it('folds a batch norm into a 1x1 convolution exactly as the closed form says (one pixel, ReLU6)', () => {
    const input = tf.input({ shape: [1, 1, 2] });
    const conv = tf.layers.conv2d({ filters: 2, kernelSize: 1, name: 'conv' }).apply(input) as ST;
    const bn = tf.layers.batchNormalization({ name: 'bn', epsilon: 0.01 }).apply(conv) as ST;
    const act = tf.layers.reLU({ maxValue: 6, name: 'act' }).apply(bn) as ST;
    const gap = tf.layers.globalAveragePooling2d({}).apply(act) as ST;
    const model = tf.model({ inputs: input, outputs: gap });
    const W = [[1.5, -2], [0.5, 3]]; // [cin][cout]
    const b = [0.25, -1];
    const [gamma, beta, mean, variance] = [[2, 0.5], [1, 5], [0.5, 2], [3.99, 0.24]];
    const set = [tf.tensor4d(W.flat(), [1, 1, 2, 2]), tf.tensor1d(b), ...[gamma, beta, mean, variance].map((v) => tf.tensor1d(v))];
    model.getLayer('conv').setWeights(set.slice(0, 2));
    model.getLayer('bn').setWeights(set.slice(2));
    tf.dispose(set);
    const x = [2, 1];
    const expected = [0, 1].map((o) => {
      const z = x[0] * W[0][o] + x[1] * W[1][o] + b[o];
      return Math.min(6, Math.max(0, ((z - mean[o]) * gamma[o]) / Math.sqrt(variance[o] + 0.01) + beta[o]));
    });
    expect(expected).to.deep.equal([4.25, 1]); // inside (0, 6): the fold itself is checked, not a clip
    const cam = createCam(model, { layer: 'act' });
    const e = cam.explain(tf.tensor4d(x, [1, 1, 1, 2]) as tf.Tensor4D, { target: 'all' });
    // The scores are GAP of the (1x1) activations: the fused op's outputs, one per channel.
    const scores = e.images[0].classes.map((c) => c.score);
    expect(relative(scores, expected)).to.be.below(1e-6);
    model.dispose();
  });

  it('plans the chains it should, and stops a chain at a layer the explanation reads', () => {
    const model = chainsModel();
    const linear = new Set([model.getLayer('predictions')]);
    const ends = (visible: string[]): string[] => {
      const ids = new Set(visible.map((n) => (model.getLayer(n).output as ST).id));
      const plan = planFusedChains(model.outputs, ids, linear);
      return model.layers.filter((l) => plan.has((l.output as ST).id)).map((l) => l.name).sort();
    };
    // Each chain is planned at every tensor it could end in; the runner starts from the last one read.
    expect(ends(['out_relu'])).to.include.members(['relu1', 'relu2', 'c3', 'bn4']);
    // With bn1's output read (an inner target layer), the chain ending at relu1 cannot pass it.
    expect(ends(['out_relu', 'bn1'])).to.not.include('relu1');
    expect(ends(['out_relu', 'bn1'])).to.include('bn1');
    setLayerFusion(false);
    expect(ends(['out_relu'])).to.deep.equal([]);
    model.dispose();
  });

  it('folds again after a weight changes (never a stale cached fold)', () => {
    const model = chainsModel();
    const x = tf.randomUniform([2, 12, 12, 3], -1, 1, 'float32', 4) as tf.Tensor4D;
    const scores = (fused: boolean) => {
      setLayerFusion(fused);
      return createCam(model).explain(x, { target: 'all' }).images.flatMap((im) => im.classes.map((c) => c.score));
    };
    const first = scores(true);
    randomiseBatchNorms(model, 99); // new statistics in bn1, bn2, bn4
    const conv = model.getLayer('c1');
    const [kernel] = conv.getWeights();
    const scaled = tf.mul(kernel, 1.5);
    conv.setWeights([scaled]);
    scaled.dispose();
    const fused = scores(true);
    const truth = scores(false);
    expect(relative(fused, truth)).to.be.below(1e-5);
    expect(relative(fused, first)).to.be.above(1e-2); // the change mattered
    x.dispose();
    model.dispose();
  });

  for (const layer of ['out_relu', 'bn1', 'relu2']) {
    it(`explains as layer by layer does, within float rounding: scores, Grad-CAM of every class and guided backprop at '${layer}'`, () => {
      const model = chainsModel();
      const x = tf.randomUniform([3, 12, 12, 3], -1, 1, 'float32', 3) as tf.Tensor4D;
      const run = (fused: boolean) => {
        setLayerFusion(fused);
        return createCam(model, { layer }).explain(x, { target: 'all', guided: true });
      };
      const before = tf.memory().numTensors;
      const slow = run(false);
      const fast = run(true);
      expect(tf.memory().numTensors).to.equal(before);
      expectSameExplanations(fast, slow);
      x.dispose();
      model.dispose();
    });
  }

  it("passes a MobileNet block's depthwise input gradient back through the expand ReLU6 in one kernel, and explains as layer by layer does", async () => {
    // expand 1x1 conv + BN + ReLU6 -> ZeroPadding2D + stride-2 depthwise + BN + ReLU6 -> project 1x1 + BN (linear).
    const input = tf.input({ shape: [11, 11, 3] });
    let x = tf.layers.conv2d({ filters: 12, kernelSize: 1, useBias: false, name: 'expand', kernelInitializer: init(21) }).apply(input) as ST;
    x = tf.layers.batchNormalization({ name: 'expand_bn' }).apply(x) as ST;
    x = tf.layers.reLU({ maxValue: 6, name: 'expand_relu' }).apply(x) as ST;
    x = tf.layers.zeroPadding2d({ padding: [[0, 1], [0, 1]], name: 'pad' }).apply(x) as ST;
    x = tf.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'valid', useBias: false, name: 'dw', depthwiseInitializer: init(22) }).apply(x) as ST;
    x = tf.layers.batchNormalization({ name: 'dw_bn' }).apply(x) as ST;
    x = tf.layers.reLU({ maxValue: 6, name: 'dw_relu' }).apply(x) as ST;
    x = tf.layers.conv2d({ filters: 6, kernelSize: 1, useBias: false, name: 'project', kernelInitializer: init(23) }).apply(x) as ST;
    x = tf.layers.batchNormalization({ name: 'project_bn' }).apply(x) as ST;
    const gap = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as ST;
    const out = tf.layers.dense({ units: 3, name: 'logits', kernelInitializer: init(24) }).apply(gap) as ST;
    const model = tf.model({ inputs: input, outputs: out });
    randomiseBatchNorms(model, 25);
    const plan = planFusedChains(model.outputs, new Set([(model.getLayer('project_bn').output as ST).id]), new Set());
    expect(plan.get((model.getLayer('dw_relu').output as ST).id)?.gate).to.equal('relu6');
    expect(plan.get((model.getLayer('expand_relu').output as ST).id)?.gate).to.equal(undefined);

    const images = tf.randomUniform([2, 11, 11, 3], -1, 1, 'float32', 26) as tf.Tensor4D;
    const run = (fused: boolean) => {
      setLayerFusion(fused);
      return createCam(model, { layer: 'project_bn' }).explain(images, { target: 'all', guided: true });
    };
    const before = tf.memory().numTensors;
    const slow = run(false);
    const fast = run(true);
    expect(tf.memory().numTensors).to.equal(before);
    expectSameExplanations(fast, slow);
    if (tf.getKernel(DEPTHWISE_GATED_INPUT_GRADIENT, tf.getBackend())) {
      // The expand chain left its activation to the depthwise kernel: one activation pass, not two.
      const kernels = (await tf.profile(() => void run(true))).kernels.map((k) => k.name);
      expect(kernels.filter((k) => k === DEPTHWISE_GATED_INPUT_GRADIENT)).to.have.length(1);
      expect(kernels.filter((k) => k === 'GradcamActivationGradient')).to.have.length(1);
    }
    images.dispose();
    model.dispose();
  });

  it("takes a ZeroPadding2D into the 'valid' convolution after it (MobileNet's, ResNet's stems) and explains as layer by layer does", () => {
    const input = tf.input({ shape: [13, 13, 3] });
    let x = tf.layers.zeroPadding2d({ padding: [[0, 1], [0, 1]], name: 'pad1' }).apply(input) as ST;
    x = tf.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'valid', depthMultiplier: 4, useBias: false, name: 'dw1', depthwiseInitializer: init(11) }).apply(x) as ST;
    x = tf.layers.batchNormalization({ name: 'bn1' }).apply(x) as ST;
    x = tf.layers.reLU({ maxValue: 6, name: 'relu1' }).apply(x) as ST;
    x = tf.layers.zeroPadding2d({ padding: 2, name: 'pad2' }).apply(x) as ST;
    x = tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'valid', activation: 'relu', name: 'c2', kernelInitializer: init(12) }).apply(x) as ST;
    const gap = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as ST;
    const out = tf.layers.dense({ units: 3, name: 'logits', kernelInitializer: init(13) }).apply(gap) as ST;
    const model = tf.model({ inputs: input, outputs: out });
    randomiseBatchNorms(model, 5);
    const plan = planFusedChains(model.outputs, new Set([(model.getLayer('c2').output as ST).id]), new Set());
    const stem = plan.get((model.getLayer('relu1').output as ST).id);
    expect(stem?.padding).to.deep.equal([[0, 1], [0, 1]]);
    expect(stem?.input.id).to.equal((input as ST).id); // the padded copy is not made
    expect(plan.get((model.getLayer('c2').output as ST).id)?.padding).to.deep.equal([[2, 2], [2, 2]]);

    const images = tf.randomUniform([2, 13, 13, 3], -1, 1, 'float32', 7) as tf.Tensor4D;
    const run = (fused: boolean) => {
      setLayerFusion(fused);
      return createCam(model, { layer: 'c2' }).explain(images, { target: 'all', guided: true });
    };
    // Native kernels off too: on tfjs-node TensorFlow's input gradients then take the explicit
    // padding through src/backend/tfjs-node-explicit-padding.ts.
    for (const native of [true, false]) {
      setNativeKernelsEnabled(native);
      try {
        const before = tf.memory().numTensors;
        const slow = run(false);
        const fast = run(true);
        expect(tf.memory().numTensors).to.equal(before);
        expectSameExplanations(fast, slow);
      } finally {
        setNativeKernelsEnabled(true);
      }
    }
    images.dispose();
    model.dispose();
  });
});

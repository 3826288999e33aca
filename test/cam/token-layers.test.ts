/**
 * Token layers of a layers model (issue 21, part 4): a sequence [N,T,D] on the path to the scores
 * is read on its sqrt(T) x sqrt(T) grid, as pytorch-grad-cam's reshape_transform does. Checked in
 * closed form: with mean pooling over the tokens and a Dense head, dy^c/dA^k_ij = W_kc / T, so
 * alpha_k = W_kc / T and the map is ReLU(sum_k alpha_k A^k) of the tokens themselves.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { explain } from '../../src/cam';
import { maxAbs } from '../support/cam-fixtures';

/** 32x32x3 -> tokens [64,D] -> Dense 'mixer' (ReLU) -> mean over tokens -> Dense softmax. */
function tokenModel(withConv: boolean): tf.LayersModel {
  const input = tf.input({ shape: [32, 32, 3] });
  let x: tf.SymbolicTensor;
  if (withConv) {
    x = tf.layers.conv2d({ filters: 16, kernelSize: 4, strides: 4, name: 'patch' }).apply(input) as tf.SymbolicTensor;
    x = tf.layers.reshape({ targetShape: [64, 16], name: 'tokens' }).apply(x) as tf.SymbolicTensor;
  } else {
    // The pixels cut into 64 tokens of 48 values: a sequence without any conv map on the path.
    x = tf.layers.reshape({ targetShape: [64, 48], name: 'tokens' }).apply(input) as tf.SymbolicTensor;
  }
  x = tf.layers.dense({ units: 12, activation: 'relu', name: 'mixer' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling1d({ name: 'pool' }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 3, activation: 'softmax', name: 'probs' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

describe('cam: token layers of a layers model, read on their grid', () => {
  const image = new Uint8Array(32 * 32 * 3).map((_, i) => (i * 37 + 11) % 256);
  before(() => initBackend({ quiet: true }));

  for (const withConv of [true, false]) {
    it(`${withConv ? "a named token layer (the default stays the patch conv)" : 'the default when no conv map is on the path'}: alpha_k = W_kc / T, map = ReLU(sum alpha A) of the tokens`, () => {
      const model = tokenModel(withConv);
      const before = tf.memory().numTensors;
      const e = explain(model, [image], { layer: withConv ? 'mixer' : undefined, target: 'all' });
      expect(e.layer).to.equal('mixer');
      expect(e.layerShape).to.deep.equal([8, 8, 12]);
      const tokens = tf.tidy(() => {
        const probe = tf.model({ inputs: model.inputs, outputs: model.getLayer('mixer').output as tf.SymbolicTensor });
        return probe.predict(tf.tensor4d(Float32Array.from(image), [1, 32, 32, 3])) as tf.Tensor;
      });
      const A = tokens.dataSync() as Float32Array; // [64, 12] = [8, 8, 12] row-major
      tokens.dispose();
      const W = model.getLayer('probs').getWeights()[0].dataSync();
      for (let c = 0; c < 3; c++) {
        const alpha = Array.from({ length: 12 }, (_, k) => W[k * 3 + c] / 64);
        const cl = e.images[0].classes[c];
        expect(maxAbs(cl.weights, alpha), `class ${c} alphas`).to.be.below(1e-6);
        const map = Float32Array.from({ length: 64 }, (_, p) => Math.max(0, alpha.reduce((s, a, k) => s + a * A[p * 12 + k], 0)));
        expect(maxAbs(cl.map, map), `class ${c} map`).to.be.below(1e-5);
      }
      expect(tf.memory().numTensors).to.equal(before);
      if (withConv) expect(explain(model, [image]).layer, 'default').to.equal('patch');
      model.dispose();
    });
  }

  it('refuses a sequence that lies on no grid, saying how to give one', () => {
    const input = tf.input({ shape: [32, 32, 3] });
    const seq = tf.layers.reshape({ targetShape: [96, 32], name: 'odd' }).apply(input) as tf.SymbolicTensor;
    const d = tf.layers.dense({ units: 4, name: 'mix' }).apply(seq) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 2, activation: 'softmax', name: 'p' }).apply(tf.layers.flatten().apply(d) as tf.SymbolicTensor) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    expect(() => explain(model, [image], { layer: 'mix' })).to.throw(/token sequence \[N,T,D\] is read on a grid when T is a square plus up to 4 extra tokens; otherwise give its grid as options\.tokens/);
    const e = explain(model, [image], { layer: 'mix', tokens: { extra: 0, height: 12, width: 8 } });
    expect(e.layerShape).to.deep.equal([12, 8, 4]);
    model.dispose();
  });
});

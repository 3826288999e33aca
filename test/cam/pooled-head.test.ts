/**
 * The pooled head (forward-pass.ts): when A's one reader is a GlobalAveragePooling2D, the head is
 * differentiated on the pooled rows and dy/dA = dy/dp / hw at every position. Checked against the
 * generic path (per-row A, the head's own gradient maps) for Grad-CAM and for methods that read the
 * maps themselves, and against the closed form of a GAP + Dense head (alpha_k^c = W_kc / hw).
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { createCam, splitAt } from '../../src/cam';
import { setLayerFusion } from '../../src/cam/fused-layers';
import { expectSameExplanations } from '../support/compare';

type ST = tf.SymbolicTensor;
const init = (seed: number) => tf.initializers.glorotUniform({ seed });

/** conv -> ReLU -> [GAP -> dense(5) -> dense(3)] or, with `skip`, a head that also reads the conv's input. */
function gapModel(skip = false): tf.LayersModel {
  const input = tf.input({ shape: [9, 9, 2] });
  const a = tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv', kernelInitializer: init(1) }).apply(input) as ST;
  let p = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(a) as ST;
  if (skip) p = tf.layers.concatenate({ name: 'cat' }).apply([p, tf.layers.globalAveragePooling2d({ name: 'gap_in' }).apply(input) as ST]) as ST;
  const hidden = tf.layers.dense({ units: 5, activation: 'tanh', name: 'hidden', kernelInitializer: init(2) }).apply(p) as ST;
  const out = tf.layers.dense({ units: 3, name: 'logits', kernelInitializer: init(3) }).apply(hidden) as ST;
  return tf.model({ inputs: input, outputs: out });
}

describe('cam: the pooled head (A read only by a GlobalAveragePooling2D)', () => {
  afterEach(() => setLayerFusion(true));

  it('is offered only when the pool is A\'s one reader and nothing skips over A', () => {
    const plain = gapModel();
    const skipped = gapModel(true);
    expect(splitAt(plain, 'conv').pooled).to.not.equal(undefined);
    expect(splitAt(skipped, 'conv').pooled).to.equal(undefined);
    setLayerFusion(false); // the shortcuts' switch, for comparing against the generic path
    expect(splitAt(plain, 'conv').pooled).to.equal(undefined);
    plain.dispose();
    skipped.dispose();
  });

  for (const method of ['gradcam', 'gradcam++', 'layercam', 'hirescam', 'xgradcam'] as const) {
    it(`${method} of every class, with guided backprop, equals the generic path's, leaking no tensor`, () => {
      const model = gapModel();
      const x = tf.randomUniform([3, 9, 9, 2], -1, 1, 'float32', 5) as tf.Tensor4D;
      const run = (shortcuts: boolean) => {
        setLayerFusion(shortcuts);
        return createCam(model, { layer: 'conv', method }).explain(x, { target: 'all', guided: true });
      };
      const before = tf.memory().numTensors;
      const generic = run(false);
      const pooled = run(true);
      expect(tf.memory().numTensors).to.equal(before);
      expectSameExplanations(pooled, generic);
      x.dispose();
      model.dispose();
    });
  }

  it('gives alpha_k^c = W_kc / hw for a GAP + Dense head (the closed form)', () => {
    const input = tf.input({ shape: [4, 5, 1] });
    const a = tf.layers.conv2d({ filters: 3, kernelSize: 1, activation: 'relu', name: 'conv', kernelInitializer: init(7) }).apply(input) as ST;
    const p = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(a) as ST;
    const out = tf.layers.dense({ units: 2, name: 'logits', kernelInitializer: init(8) }).apply(p) as ST;
    const model = tf.model({ inputs: input, outputs: out });
    const W = model.getLayer('logits').getWeights()[0].arraySync() as number[][];
    const explained = createCam(model, { layer: 'conv' }).explain(tf.ones([1, 4, 5, 1]) as tf.Tensor4D, { target: 'all' });
    for (const [c, cls] of explained.images[0].classes.entries()) {
      cls.weights.forEach((alpha, k) => expect(alpha).to.be.closeTo(W[k][c] / 20, 1e-6));
    }
    model.dispose();
  });
});

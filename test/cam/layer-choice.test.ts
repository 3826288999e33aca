import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { candidateLayers, explain } from '../../src/cam';

type ST = tf.SymbolicTensor;

/**
 * The head of the Keras applications with a pooled top: conv features 'out_relu' (4x4), then an
 * AveragePooling2D down to 1x1 and a Flatten, then a softmax Dense. Plus a side branch 'aux'
 * that does not feed the scores (a second output).
 */
function pooledHead(): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3], name: 'image' });
  const stem = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'stem' }).apply(input) as ST;
  const down = tf.layers.maxPooling2d({ poolSize: 2, name: 'down' }).apply(stem) as ST;
  const conv = tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', name: 'last_conv' }).apply(down) as ST;
  const relu = tf.layers.reLU({ name: 'out_relu' }).apply(conv) as ST;
  const pool = tf.layers.averagePooling2d({ poolSize: 4, name: 'avg_pool' }).apply(relu) as ST;
  const flat = tf.layers.flatten({ name: 'flatten' }).apply(pool) as ST;
  const scores = tf.layers.dense({ units: 3, activation: 'softmax', name: 'predictions' }).apply(flat) as ST;
  const aux = tf.layers.conv2d({ filters: 2, kernelSize: 1, name: 'aux' }).apply(relu) as ST;
  return tf.model({ inputs: input, outputs: [scores, aux], name: 'pooled_head' });
}

describe('cam: the default target layer', () => {
  before(() => initBackend({ quiet: true }));

  it('is the last feature map with h*w > 1 that feeds the scores, not the 1x1 pooling after it', () => {
    const model = pooledHead();
    // Spatial maps latest first, then the 1x1 pooling output (a last resort).
    expect(candidateLayers(model).map((l) => l.name)).to.deep.equal(['out_relu', 'last_conv', 'down', 'stem', 'avg_pool']);
    const e = explain(model, [new Float32Array(8 * 8 * 3).fill(1)]);
    expect(e.layer).to.equal('out_relu');
    expect(e.layerShape).to.deep.equal([4, 4, 6]);
    model.dispose();
  });

  it('errors for a wrong layer list the candidates with their shapes, best first', () => {
    const model = pooledHead();
    const image = new Float32Array(8 * 8 * 3);
    expect(() => explain(model, [image], { layer: 'nope' })).to.throw(
      /no layer named 'nope'.*best first\): 'out_relu' \[4x4x6\], 'last_conv' \[4x4x6\], 'down' \[4x4x4\], 'stem' \[8x8x4\], 'avg_pool' \[1x1x6\]\./,
    );
    expect(() => explain(model, [image], { layer: 'aux' })).to.throw(/'aux' does not feed the model's output/);
    model.dispose();
  });

  it('falls back to a 1x1 map only when the model has no spatial one', () => {
    const model = tf.sequential({ name: 'tiny' });
    model.add(tf.layers.conv2d({ inputShape: [2, 2, 1], filters: 2, kernelSize: 2, name: 'conv' }));
    model.add(tf.layers.flatten({ name: 'flat' }));
    model.add(tf.layers.dense({ units: 2, name: 'fc' }));
    const e = explain(model, [new Float32Array([1, 2, 3, 4])]);
    expect([e.layer, ...e.layerShape]).to.deep.equal(['conv', 1, 1, 2]);
    model.dispose();
  });

  it('is the nested model itself when the features come from one (Keras base model + new head)', () => {
    const base = tf.sequential({ name: 'base' });
    base.add(tf.layers.conv2d({ inputShape: [6, 6, 3], filters: 3, kernelSize: 3, padding: 'same', activation: 'relu', name: 'base_conv' }));
    const input = tf.input({ shape: [6, 6, 3] });
    const features = base.apply(input) as ST;
    const gap = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(features) as ST;
    const out = tf.layers.dense({ units: 2, name: 'fc' }).apply(gap) as ST;
    const model = tf.model({ inputs: input, outputs: out });
    expect(candidateLayers(model).map((l) => l.name)).to.deep.equal(['base']);
    expect(explain(model, [new Float32Array(6 * 6 * 3).fill(1)]).layerShape).to.deep.equal([6, 6, 3]);
    model.dispose();
  });
});

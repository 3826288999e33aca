/**
 * Graph models whose input is not [N,H,W,C] with a fixed size: channels-first, a dynamic size, and
 * a second input. The reference is the same network as a layers model fed channels-last images.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { candidateNodes, DEFAULT_DYNAMIC_SIZE, explain, guidedBackprop } from '../../src/cam';
import { initBackend } from '../../src/backend';
import { camNet, CamNet, maxAbs, randomArray, seeded } from '../support/cam-fixtures';
import { tinyGraphModel, TinyGraphWeights } from '../support/tiny-graph';

describe('cam: graph model inputs (channels-first, dynamic size, several inputs)', () => {
  let net: CamNet;
  let weights: TinyGraphWeights;
  const S = 5;
  const image = randomArray(S * S * 2, seeded(5), 2); // HWC, the CAM net's 5x5x2
  before(async () => {
    await initBackend({ quiet: true });
    net = camNet(21, 'softmax');
    weights = { kernel: net.kernel, convBias: net.convBias, dense: net.dense, denseBias: net.denseBias, inChannels: net.inChannels, K: net.K, classes: net.classes };
  });
  after(() => net.model.dispose());

  it('a channels-first input [N,C,H,W] takes channels-last images and explains them as the layers model does, guided backprop included', async () => {
    const graph = await tinyGraphModel(weights, { inputShape: [-1, net.inChannels, S, S], channelsFirst: true });
    const before = tf.memory().numTensors;
    const ours = explain(graph, [image], { target: 'all', guided: true, layer: 'features' });
    const ref = explain(net.model, [image], { target: 'all', guided: true });
    expect(ours.inputShape).to.deep.equal([S, S, net.inChannels]);
    ours.images[0].classes.forEach((cl, c) => {
      const r = ref.images[0].classes[c];
      expect(maxAbs(cl.weights, r.weights), `class ${c} alpha`).to.be.below(1e-5);
      expect(maxAbs(cl.heatmap, r.heatmap), `class ${c} map`).to.be.below(1e-5);
      expect(maxAbs(cl.guided as Float32Array, r.guided as Float32Array), `class ${c} guided`).to.be.below(1e-5);
    });
    const g = guidedBackprop(graph, [image]);
    expect(g.inputShape).to.deep.equal([S, S, net.inChannels]);
    expect(tf.memory().numTensors).to.equal(before);
    graph.dispose();
  });

  it('a dynamic size [-1,-1,-1,C] is explained at DEFAULT_DYNAMIC_SIZE, or at inputSize when given', async () => {
    const graph = await tinyGraphModel(weights, { inputShape: [-1, -1, -1, net.inChannels] });
    const big = randomArray(DEFAULT_DYNAMIC_SIZE * DEFAULT_DYNAMIC_SIZE * net.inChannels, seeded(6));
    const e = explain(graph, [big], { layer: 'features' });
    expect(e.inputShape).to.deep.equal([DEFAULT_DYNAMIC_SIZE, DEFAULT_DYNAMIC_SIZE, net.inChannels]);
    const small = explain(graph, [image], { inputSize: [S, S], layer: 'features', target: 'all' });
    const ref = explain(net.model, [image], { target: 'all' });
    expect(maxAbs(small.images[0].classes[2].weights, ref.images[0].classes[2].weights)).to.be.below(1e-5);
    expect(candidateNodes(graph, { inputSize: [S, S] })[0].name).to.equal('features');
    graph.dispose();
  });

  it('a model with two inputs is refused with their names and shapes, and what to do', async () => {
    const graph = await tinyGraphModel(weights, { inputShape: [-1, S, S, net.inChannels], secondInput: true });
    expect(() => explain(graph, [image])).to.throw(/has 2 inputs \('image' \[-1,5,5,2\], 'scale' \[-1,1\]\); gradcam-ts explains models that take one image\. Export the image branch alone/);
    graph.dispose();
  });
});

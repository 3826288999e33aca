/**
 * TF.js graph models: target nodes, errors, and the scoped guided gradient. (The numbers are
 * checked against Keras in cam-keras-fixtures.test.ts.)
 */
import { expect } from 'chai';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { CAM_METHODS, CamMethodName, candidateNodes, explain } from '../../src/cam';
import { toModelInput } from '../../src/cam/input';
import { loadGraphModelFromDir, modelFormatOf } from '../../src/model/graph-model-io';
import { loadModel } from '../../src/model/io';
import { KERAS_FIXTURES, readKerasReference, relativeError } from '../support/keras-fixture';

describe('cam: TF.js graph models', function () {
  this.timeout(300000);
  const ref = readKerasReference('mobilenet_v2');
  let model: tf.GraphModel;
  let x: tf.Tensor4D;
  before(async () => {
    await initBackend({ quiet: true });
    model = await loadGraphModelFromDir(path.join(ref.dir, 'graph'));
    x = toModelInput([ref.pixels], ref.inputShape, '-1..1');
  });
  after(() => {
    model?.dispose();
    x?.dispose();
  });

  it('tells the formats apart by model.json', () => {
    expect(modelFormatOf(path.join(KERAS_FIXTURES, 'mobilenet_v2', 'graph'))).to.equal('graph-model');
    expect(modelFormatOf(path.join(KERAS_FIXTURES, 'mobilenet_v2', 'layers'))).to.equal('layers-model');
  });

  it('ranks the nodes: spatial maps that feed the scores, deepest first, 1x1 maps last', () => {
    const nodes = candidateNodes(model);
    expect(nodes[0].name).to.match(/\/out_relu\/Relu6$/);
    expect(nodes[0].shape).to.deep.equal([1, 3, 3, 1280]);
    const spatial = nodes.filter((n) => n.shape[1] * n.shape[2] > 1);
    expect(nodes.slice(0, spatial.length)).to.deep.equal(spatial);
    for (let i = 1; i < spatial.length; i++) expect(spatial[i].depth).to.be.at.most(spatial[i - 1].depth);
    expect(nodes.some((n) => /Softmax|MatMul|Mean/.test(n.name))).to.equal(false);
  });

  it('explains a named intermediate node, and lists the candidates for a wrong name', () => {
    const node = candidateNodes(model).find((n) => /block_16_project_BN/.test(n.name));
    expect(node, 'a projection node').to.not.equal(undefined);
    const e = explain(model, x, { layer: node?.name });
    expect(e.layer).to.equal(node?.name);
    expect(e.layerShape).to.deep.equal([3, 3, (node?.shape ?? [])[3]]);
    expect(e.scoreSource).to.equal('pre-softmax (removed final softmax)');
    expect(() => explain(model, x, { layer: 'out_relu' })).to.throw(/Node 'out_relu' is not a node of this graph\. Candidate nodes .*best first\): '[^']*out_relu\/Relu6' \[3x3x1280\]/);
    expect(() => explain(model, x, { layer: 'StatefulPartitionedCall/mobilenetv2_0.10_96/predictions/MatMul' })).to.throw(/is not a 4-D feature map that feeds the scores/);
  });

  it('every CAM method gives the same maps on the graph model as on the layers model (ResNet50)', async () => {
    const resnet = readKerasReference('resnet50');
    const graph = await loadGraphModelFromDir(path.join(resnet.dir, 'graph'));
    const layers = await loadModel(path.join(resnet.dir, 'layers'));
    const input = toModelInput([resnet.pixels], resnet.inputShape, 'caffe');
    const before = tf.memory().numTensors;
    const worst: Partial<Record<CamMethodName, number>> = {};
    try {
      for (const method of Object.keys(CAM_METHODS) as CamMethodName[]) {
        if (method === 'randomcam') continue; // random weights by design
        const [g, l] = [graph, layers].map((m) => explain(m, input, { method, target: 'all' }));
        g.images[0].classes.forEach((cl, c) => {
          worst[method] = Math.max(worst[method] ?? 0, relativeError(cl.map, l.images[0].classes[c].map));
        });
      }
      // The formats differ only in float rounding (the graph has batch norm folded into its convs).
      // Score-CAM weights channels by a softmax over K masked passes, which magnifies it (measured 1.3e-3).
      for (const [method, err] of Object.entries(worst)) expect(err, method).to.be.below(method === 'scorecam' ? 5e-3 : 2e-4);
      expect(tf.memory().numTensors).to.equal(before);
    } finally {
      input.dispose();
      graph.dispose();
      layers.dispose();
    }
  });

  it("guided backprop swaps the ReLU gradients only during its own pass", () => {
    const relu = tf.getGradient('Relu');
    const relu6 = tf.getGradient('Relu6');
    explain(model, x, { guided: true });
    expect(tf.getGradient('Relu')).to.equal(relu);
    expect(tf.getGradient('Relu6')).to.equal(relu6);
    // An ordinary gradient afterwards is the plain one: d relu(x)/dx * dy with dy < 0 stays negative.
    const g = tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.relu(t), -1)))(tf.tensor1d([1, 2])).arraySync());
    expect(g).to.deep.equal([-1, -1]);
  });
});

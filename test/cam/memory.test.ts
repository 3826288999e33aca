import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { CamMethodName, createCam, guidedBackprop } from '../../src/cam';
import { camNet, CamNet, maxAbs, randomArray, seeded } from '../support/cam-fixtures';

describe('cam: resources and the user model', () => {
  let net: CamNet;
  before(async () => {
    await initBackend({ quiet: true });
    net = camNet(71);
  });

  it('200 explanations (every method, guided, all classes) leave tf.memory().numTensors unchanged', () => {
    const methods: CamMethodName[] = ['gradcam', 'gradcam++', 'scorecam', 'counterfactual'];
    const cams = methods.map((method) => createCam(net.model, { method }));
    const images = [1, 2].map((s) => randomArray(5 * 5 * 2, seeded(s), 2));
    cams.forEach((cam) => cam.explain(images, { guided: true })); // any one-off allocations happen here
    const before = tf.memory().numTensors;
    for (let i = 0; i < 200; i++) {
      const cam = cams[i % cams.length];
      cam.explain(images, { target: i % 3 === 0 ? 'all' : 'predicted', guided: i % 2 === 0 });
      if (i % 50 === 0) guidedBackprop(net.model, images, { target: 1 });
    }
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('does not change the model: weights, layers, graph and predictions are the same afterwards', () => {
    const x = tf.tensor4d(randomArray(5 * 5 * 2, seeded(9), 2), [1, 5, 5, 2]);
    const predict = () => tf.tidy(() => (net.model.predict(x) as tf.Tensor).dataSync() as Float32Array);
    const weights = () => net.model.getWeights().map((w) => Array.from(w.dataSync()));
    const nodes = () => net.model.layers.map((l) => l.inboundNodes.length + l.outboundNodes.length);
    const [p0, w0, n0, count0] = [predict(), weights(), nodes(), net.model.layers.length];
    createCam(net.model, { method: 'gradcam' }).explain(x, { target: 'all', guided: true });
    guidedBackprop(net.model, x);
    expect(maxAbs(predict(), p0)).to.equal(0);
    expect(weights()).to.deep.equal(w0);
    expect(nodes()).to.deep.equal(n0);
    expect(net.model.layers.length).to.equal(count0);
    x.dispose();
  });
});

import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { explain, guidedBackprop } from '../../src/cam';

/** The reference shape: input [32,32,3] -> conv 'conv1' -> GAP 'gap' -> dense 'logits' (10). */
function cifarShaped(): tf.LayersModel {
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ inputShape: [32, 32, 3], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv1' }));
  model.add(tf.layers.globalAveragePooling2d({ name: 'gap' }));
  model.add(tf.layers.dense({ units: 10, name: 'logits' }));
  return model;
}

describe('cam: errors name the problem and the fix', () => {
  let model: tf.LayersModel;
  const image = new Float32Array(32 * 32 * 3).fill(100);
  before(async () => {
    await initBackend({ quiet: true });
    model = cifarShaped();
  });
  after(() => model.dispose());

  it('wrong image shape says the expected [N,32,32,3]', () => {
    const wrong = tf.zeros([2, 28, 28, 3]) as tf.Tensor4D;
    expect(() => explain(model, wrong)).to.throw(/\[2,28,28,3\].*expected \[N,32,32,3\]/);
    wrong.dispose();
    expect(() => explain(model, [new Float32Array(10)])).to.throw(/Image 0 has 10 values; expected 32\*32\*3 = 3072/);
    expect(() => explain(model, [])).to.throw(/No images given/);
  });

  it('unknown class name lists the class names', () => {
    expect(() => explain(model, [image], { target: 'unicorn' })).to.throw(/Unknown class 'unicorn'.*airplane, automobile, bird/);
    expect(() => explain(model, [image], { target: 'unicorn', classNames: undefined })).to.throw(/one of: airplane/);
  });

  it('class index out of range says the valid range', () => {
    expect(() => explain(model, [image], { target: 10 })).to.throw(RangeError, /Class index 10 is out of range: the model has 10 classes \(0\.\.9\)/);
    expect(() => explain(model, [image], { target: -1 })).to.throw(RangeError);
    expect(() => explain(model, [image, image], { target: [1] })).to.throw(/1 targets for 2 images/);
  });

  it('a non-4-D layer or an unknown layer lists the candidate layers', () => {
    expect(() => explain(model, [image], { layer: 'gap' })).to.throw(/Layer 'gap' outputs shape \[null,4\], not a 4-D feature map.*'conv1'/);
    expect(() => explain(model, [image], { layer: 'conv9' })).to.throw(/no layer named 'conv9'.*Candidate layers .*best first\): 'conv1' \[32x32x4\]/);
  });

  it('a model without a conv layer says Grad-CAM needs a feature map', () => {
    const flat = tf.sequential();
    flat.add(tf.layers.flatten({ inputShape: [32, 32, 3], name: 'flat' }));
    flat.add(tf.layers.dense({ units: 10, name: 'fc' }));
    expect(() => explain(flat, [image])).to.throw(/no convolutional layer.*'flat' \(Flatten\), 'fc' \(Dense\)/);
    expect(() => guidedBackprop(flat, [image])).to.throw(/no convolutional layer/);
    flat.dispose();
  });

  it('an unknown method lists the methods', () => {
    expect(() => explain(model, [image], { method: 'lime' as 'gradcam' })).to.throw(/Unknown method 'lime'; use one of gradcam, gradcam\+\+, scorecam, counterfactual/);
  });

  it('errors leave no tensors behind', () => {
    const before = tf.memory().numTensors;
    for (const target of [10, 'unicorn', 'predicted'] as const) {
      try {
        explain(model, target === 'predicted' ? [new Float32Array(5)] : [image], { target });
      } catch {
        // expected
      }
    }
    expect(tf.memory().numTensors).to.equal(before);
  });
});

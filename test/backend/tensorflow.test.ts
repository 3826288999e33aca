/**
 * Whatever the backend, the same explanations: the shipped model's maps on the native TensorFlow
 * backend (tfjs-node) against the wasm backend (with the native addon's kernels where built).
 * tfjs-node cannot download libtensorflow on our machines; .ci/tfjs-node builds it from registry
 * packages into an overlay, used as NODE_PATH="$(.ci/tfjs-node)":node_modules. Without it this
 * skips and says so; with GRADCAM_EXPECT_TENSORFLOW=1 (CI's tensorflow pass) its absence fails.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, registerNativeKernels, registerWasmConvGradients } from '../../src/backend';
import { CamMethodName, explain, Explanation } from '../../src/cam';
import { IMAGE_BYTES, readBatchFile } from '../../src/data/cifar10';
import { loadModel } from '../../src/model/io';
import { SHIPPED_MODEL_DIR } from '../../src/model/shipped';
import { SHARED_CIFAR10 } from '../support/setup';
import { maxRelativeError as relativeError } from '../support/compare';
import { tensorflowOrSkip } from '../support/tensorflow-fixture';

const COUNT = 6;

function images(): Float32Array {
  const file = path.join(SHARED_CIFAR10, 'test_batch.bin');
  if (fs.existsSync(file)) return Float32Array.from(readBatchFile(file).images.subarray(0, COUNT * IMAGE_BYTES));
  return Float32Array.from({ length: COUNT * IMAGE_BYTES }, (_, i) => ((i * 2654435761) >>> 24) % 256);
}

async function explainOn(backend: string, method: CamMethodName, pixels: Float32Array): Promise<Explanation> {
  expect(await tf.setBackend(backend), `tf.setBackend('${backend}')`).to.equal(true);
  const model = await loadModel(SHIPPED_MODEL_DIR);
  const x = tf.tensor4d(pixels, [COUNT, 32, 32, 3]);
  try {
    return explain(model, x, { method, target: 'all', guided: method === 'gradcam' });
  } finally {
    tf.dispose([x]);
    model.dispose();
  }
}

describe('the tensorflow and wasm backends give the same explanations of the shipped model', function () {
  this.timeout(300000);
  let previous: string;
  before(async function () {
    tensorflowOrSkip(this);
    previous = (await initBackend({ quiet: true })).name;
    require('@tensorflow/tfjs-backend-wasm');
    await tf.setBackend('wasm');
    registerWasmConvGradients();
    registerNativeKernels();
  });
  after(async () => {
    if (previous) await tf.setBackend(previous);
  });

  for (const method of ['gradcam', 'gradcam++', 'scorecam'] as CamMethodName[]) {
    it(`${method}${method === 'gradcam' ? ' and guided backprop' : ''}, all 10 classes: relative error < 1e-4`, async () => {
      const pixels = images();
      const ours = await explainOn('tensorflow', method, pixels);
      const reference = await explainOn('wasm', method, pixels);
      let worst = 0;
      ours.images.forEach((image, i) => {
        const ref = reference.images[i];
        expect(image.predicted).to.equal(ref.predicted);
        worst = Math.max(worst, relativeError(image.logits, ref.logits), relativeError(image.activations, ref.activations));
        // Maps are compared at the scale of the image's strongest class map: a class whose map is
        // ReLU'd to nearly nothing has no scale of its own to be relative to.
        const scale = Math.max(...ref.classes.map((c) => Math.max(...c.map)));
        image.classes.forEach((c, k) => {
          const r = ref.classes[k];
          worst = Math.max(worst, relativeError(c.weights, r.weights), relativeError(c.map.map((v) => v / scale), r.map.map((v) => v / scale)));
          if (Math.max(...r.map) > 1e-2 * scale) worst = Math.max(worst, relativeError(c.heatmap, r.heatmap));
          if (r.guided && c.guided) worst = Math.max(worst, relativeError(c.guided, r.guided));
        });
      });
      expect(worst).to.be.below(1e-4);
    });
  }
});

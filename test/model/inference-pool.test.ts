import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { IMAGE_BYTES } from '../../src/data/cifar10';
import { InferencePool, MIN_SHARD } from '../../src/model/inference-pool';
import { loadModel } from '../../src/model/io';
import { SHIPPED_MODEL_DIR } from '../../src/model/shipped';

function images(n: number): Float32Array {
  return Float32Array.from({ length: n * IMAGE_BYTES }, (_, i) => ((i * 2654435761) >>> 24) % 256);
}

describe('batch inference over worker threads', function () {
  this.timeout(120000);
  let pool: InferencePool;
  let reference: tf.LayersModel;
  before(async () => {
    await initBackend({ quiet: true });
    pool = await InferencePool.create(SHIPPED_MODEL_DIR, 2);
    reference = await loadModel(SHIPPED_MODEL_DIR);
  });
  after(async () => {
    await pool?.close();
    reference?.dispose();
  });

  // Uneven shards (9 = 5 + 4), a batch too small to split, and one image.
  for (const n of [9, MIN_SHARD + 1, 1]) {
    it(`gives model.predict's logits, in order, for ${n} image(s)`, async () => {
      const pixels = images(n);
      const before = tf.memory().numTensors;
      const got = await pool.predict(pixels, n);
      expect(tf.memory().numTensors).to.equal(before);
      const want = tf.tidy(() => (reference.predict(tf.tensor4d(pixels, [n, 32, 32, 3])) as tf.Tensor).dataSync());
      expect(got.length).to.equal(n * 10);
      let worst = 0;
      got.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - want[i]) / Math.max(1, Math.abs(want[i])))));
      expect(worst).to.be.below(1e-5);
    });
  }

  it('rejects pixels that are not whole images', async () => {
    let error: Error | undefined;
    await pool.predict(new Float32Array(100), 1).catch((e: Error) => (error = e));
    expect(error?.message).to.match(/not 1 images of 32x32x3/);
  });
});

import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { CamMethodName, createCam, Explanation, ExplainOptions } from '../../src/cam';
import { ExplainPool } from '../../src/workers/explain-pool';
import { IMAGE_BYTES } from '../../src/data/cifar10';
import { loadModel } from '../../src/model/io';
import { SHIPPED_MODEL_DIR } from '../../src/model/shipped';

const N = 5; // shards of 3 and 2 images

function images(): Float32Array {
  return Float32Array.from({ length: N * IMAGE_BYTES }, (_, i) => ((i * 2654435761) >>> 24) % 256);
}

function maxRelative(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 1e-12;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

// A worker's share rounds differently from the whole batch: SGEMM blocks a different number of rows,
// and Winograd's transforms (native/src/winograd.c) scale such rounding up to ~1e-5 of a map's peak.
const ROUNDING = 5e-5;

function expectSame(got: Explanation, want: Explanation): void {
  expect(got.images.length).to.equal(want.images.length);
  expect(got.layer).to.equal(want.layer);
  got.images.forEach((image, i) => {
    const ref = want.images[i];
    expect(image.predicted, `image ${i}`).to.equal(ref.predicted);
    expect(maxRelative(image.logits, ref.logits)).to.be.below(ROUNDING);
    expect(image.classes.map((c) => c.classIndex)).to.deep.equal(ref.classes.map((c) => c.classIndex));
    image.classes.forEach((c, k) => {
      const r = ref.classes[k];
      expect(maxRelative(c.weights, r.weights), `image ${i} class ${c.classIndex} weights`).to.be.below(ROUNDING);
      expect(maxRelative(c.map, r.map), `image ${i} class ${c.classIndex} map`).to.be.below(ROUNDING);
      if (r.guided) expect(maxRelative(c.guided as Float32Array, r.guided), `image ${i} guided`).to.be.below(ROUNDING);
    });
  });
}

describe('cam: explanations split over worker threads', function () {
  this.timeout(300000);
  let model: tf.LayersModel;
  before(async () => {
    await initBackend({ quiet: true });
    model = await loadModel(SHIPPED_MODEL_DIR);
  });
  after(() => model?.dispose());

  const cases: [CamMethodName, ExplainOptions][] = [
    ['gradcam', { target: 'all', guided: true }],
    ['gradcam', { target: [3, 'ship', 'predicted', 0, 9] }],
    ['gradcam++', {}],
    ['scorecam', { target: 2 }],
  ];
  for (const [method, options] of cases) {
    it(`${method} ${JSON.stringify(options)}: the same as one call on this thread, image by image`, async () => {
      const pixels = images();
      const x = tf.tensor4d(pixels, [N, 32, 32, 3]);
      const want = createCam(model, { method }).explain(x, options);
      x.dispose();
      const pool = await ExplainPool.create(SHIPPED_MODEL_DIR, 2, { method });
      try {
        const before = tf.memory().numTensors;
        const got = await pool.explain(pixels, N, options);
        expect(tf.memory().numTensors).to.equal(before);
        expectSame(got, want);
      } finally {
        await pool.close();
      }
    });
  }

  it('rejects a per-image target list of the wrong length and stays usable', async () => {
    const pool = await ExplainPool.create(SHIPPED_MODEL_DIR, 2);
    try {
      let error: Error | undefined;
      await pool.explain(images(), N, { target: [1, 2] }).catch((e: Error) => (error = e));
      expect(error?.message).to.match(/2 targets for 5 images/);
      expect((await pool.explain(images(), N)).images).to.have.length(N);
    } finally {
      await pool.close();
    }
  });
});

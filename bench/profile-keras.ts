/**
 * Where an explanation of an ImageNet-size Keras model spends its time, kernel by kernel (tf.profile):
 * Grad-CAM of the predicted class, of every class, and Guided Grad-CAM, batch 1, on the models
 * bench/keras-models.ts makes (bench/out/keras-models/NAME/layers). The profile behind issue 23's
 * second pass (AvgPoolGrad, MaxPoolGrad, PadV2/Slice). Proportions hold under load better than times.
 *   npx tsx bench/profile-keras.ts [mobilenet_v2|resnet50|inception_v3]   (GRADCAM_BACKEND picks the backend)
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { describeBackend, initBackend } from '../src/backend';
import { createCam } from '../src/cam';
import { loadModel } from '../src/model/io';
import { LoadWatch } from './timing';

const watch = LoadWatch.start();

(async () => {
  const name = process.argv[2] ?? 'inception_v3';
  const dir = path.resolve(__dirname, `out/keras-models/${name}/layers`);
  if (!fs.existsSync(path.join(dir, 'model.json'))) {
    console.error(`No ${dir}/model.json: run npx tsx bench/keras-models.ts --models ${name} once to make it.`);
    process.exit(1);
  }
  console.log(`${watch.header()}\n${describeBackend(await initBackend({ quiet: true }))}`);
  const model = (await loadModel(dir)) as tf.LayersModel;
  const [, H, W, C] = model.inputs[0].shape as number[];
  const x = tf.randomUniform([1, H, W, C], 0, 255, 'float32', 1) as tf.Tensor4D;
  const cam = createCam(model);
  const cases = [['Grad-CAM, predicted class', {}], ['Grad-CAM, every class', { target: 'all' }], ['Guided Grad-CAM', { guided: true }]] as const;
  for (const [label, options] of cases) {
    for (let i = 0; i < 2; i++) cam.explain(x, options); // warm: kernels compiled, folds cached
    const t0 = performance.now();
    const info = await tf.profile(() => void cam.explain(x, options));
    const wall = performance.now() - t0;
    const byKernel = new Map<string, { ms: number; calls: number }>();
    // Op scopes (lower-case names) wrap kernels: count kernels only.
    for (const k of info.kernels.filter((k) => !/^[a-z]/.test(k.name))) {
      const e = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
      e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      e.calls += 1;
      byKernel.set(k.name, e);
    }
    const total = [...byKernel.values()].reduce((s, e) => s + e.ms, 0);
    console.log(`\n${name}, ${label}: ${wall.toFixed(1)} ms wall (profiled), ${total.toFixed(1)} ms in kernels`);
    for (const [kernel, e] of [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 12)) {
      console.log(`  ${kernel.padEnd(36)} ${e.ms.toFixed(1).padStart(8)} ms ${((100 * e.ms) / total).toFixed(1).padStart(5)}%  ${e.calls} calls`);
    }
  }
  x.dispose();
  model.dispose();
  console.log(`\n${watch.footer()}`);
})();

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
import { printKernelProfile } from './kernel-profile';
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
  for (const [label, options] of cases) await printKernelProfile(`${name}, ${label}`, () => void cam.explain(x, options), 12);
  x.dispose();
  model.dispose();
  console.log(`\n${watch.footer()}`);
})();

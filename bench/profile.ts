/**
 * Where a forward pass and an explanation spend their time, kernel by kernel (tf.profile), on the
 * shipped model: the profile behind the speed work. Run: npx tsx bench/profile.ts [--batch 64]
 * (GRADCAM_BACKEND picks the backend). Kernel times are wall-clock per kernel on this thread.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { describeBackend, initBackend } from '../src/backend';
import { createCam } from '../src/cam';
import { loadModel } from '../src/model/io';
import { printKernelProfile } from './kernel-profile';
import { LoadWatch } from './timing';

const watch = LoadWatch.start();

const i = process.argv.indexOf('--batch');
const batch = i > 0 ? Number(process.argv[i + 1]) : 64;

(async () => {
  console.log(`${watch.header()}\n(proportions hold under load better than times; times are provisional when the load is >= 1)`);
  console.log(describeBackend(await initBackend({ quiet: true })));
  const model = await loadModel(path.resolve(__dirname, '../models/cifar10'));
  const x = tf.randomUniform([batch, 32, 32, 3], 0, 255, 'float32', 1) as tf.Tensor4D;
  await printKernelProfile(`forward, batch ${batch}`, () => tf.tidy(() => void (model.predict(x) as tf.Tensor).dataSync()));
  const cam = createCam(model);
  await printKernelProfile(`Grad-CAM of the predicted class, batch ${batch}`, () => void cam.explain(x));
  await printKernelProfile(`Grad-CAM of all 10 classes, batch ${batch}`, () => void cam.explain(x, { target: 'all' }));
  await printKernelProfile(`Guided Grad-CAM, batch ${batch}`, () => void cam.explain(x, { guided: true }));
  // Score-CAM runs K masked copies of each image through the model: 4 images are enough to see its mix.
  const few = tf.slice(x, [0, 0, 0, 0], [Math.min(4, batch), -1, -1, -1]);
  await printKernelProfile(`Score-CAM, batch ${few.shape[0]}`, () => void createCam(model, { method: 'scorecam' }).explain(few));
  few.dispose();
  x.dispose();
  model.dispose();
  console.log(`\n${watch.footer()}`);
})();

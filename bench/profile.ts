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
import { LoadWatch } from './timing';

const watch = LoadWatch.start();

const i = process.argv.indexOf('--batch');
const batch = i > 0 ? Number(process.argv[i + 1]) : 64;

async function profile(label: string, fn: () => void): Promise<void> {
  fn();
  fn(); // warm: kernels compiled, wasm memory grown
  const t0 = performance.now();
  const info = await tf.profile(fn);
  const wall = performance.now() - t0;
  const byKernel = new Map<string, { ms: number; calls: number }>();
  // Op scopes (fusedConv2d__op, a custom gradient's 'forward') wrap kernels: count kernels only.
  for (const k of info.kernels.filter((k) => !/^[a-z]/.test(k.name))) {
    const e = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    e.calls += 1;
    byKernel.set(k.name, e);
  }
  const kernelTotal = [...byKernel.values()].reduce((s, e) => s + e.ms, 0);
  console.log(`\n${label}: ${wall.toFixed(1)} ms wall (profiled), ${kernelTotal.toFixed(1)} ms in kernels, ${(wall - kernelTotal).toFixed(1)} ms outside them`);
  for (const [name, e] of [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms)) {
    console.log(`  ${name.padEnd(28)} ${e.ms.toFixed(2).padStart(8)} ms ${((100 * e.ms) / kernelTotal).toFixed(1).padStart(5)}%  ${e.calls} calls`);
  }
}

(async () => {
  console.log(`${watch.header()}\n(proportions hold under load better than times; times are provisional when the load is >= 1)`);
  console.log(describeBackend(await initBackend({ quiet: true })));
  const model = await loadModel(path.resolve(__dirname, '../models/cifar10'));
  const x = tf.randomUniform([batch, 32, 32, 3], 0, 255, 'float32', 1) as tf.Tensor4D;
  await profile(`forward, batch ${batch}`, () => tf.tidy(() => void (model.predict(x) as tf.Tensor).dataSync()));
  const cam = createCam(model);
  await profile(`Grad-CAM of the predicted class, batch ${batch}`, () => void cam.explain(x));
  await profile(`Grad-CAM of all 10 classes, batch ${batch}`, () => void cam.explain(x, { target: 'all' }));
  await profile(`Guided Grad-CAM, batch ${batch}`, () => void cam.explain(x, { guided: true }));
  x.dispose();
  model.dispose();
  console.log(`\n${watch.footer()}`);
})();

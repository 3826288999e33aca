/**
 * Explanation cost against a plain forward pass of the same model, measured in the same run:
 * Grad-CAM for one class, all 10 classes, Guided Grad-CAM, at batch 1 and 64.
 * Uses models/cifar10 when present, else the same architecture with random weights.
 * Run: npx tsx bench/cam.ts   (GRADCAM_BACKEND=cpu|wasm to pick a backend)
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend';
import { GradCAM } from '../src/cam';
import { foldToLayersModel } from '../src/model/fold';
import { loadModel } from '../src/model/io';
import { disposeNetwork, initNetwork } from '../src/model/network';
import { LoadWatch, time } from './timing';

const MODEL_DIR = path.resolve(__dirname, '../models/cifar10');

/** Median ms of `fn` after warm-up runs. */
function medianMs(fn: () => void, repeats: number): number {
  return time(fn, repeats)[0];
}

async function main(): Promise<void> {
  const watch = LoadWatch.start();
  console.log(watch.header());
  const info = await initBackend({ quiet: true });
  let model: tf.LayersModel;
  let source: string;
  if (fs.existsSync(path.join(MODEL_DIR, 'model.json'))) {
    model = await loadModel(MODEL_DIR);
    source = 'models/cifar10';
  } else {
    const params = initNetwork();
    model = foldToLayersModel(params);
    disposeNetwork(params);
    source = 'reference architecture, random weights';
  }
  console.log(`backend: ${info.name} · model: ${source}`);
  const cam = new GradCAM(model);
  for (const batch of [1, 64]) {
    const repeats = batch === 1 ? 15 : 3;
    const x = tf.randomUniform([batch, 32, 32, 3], 0, 255, 'float32', 1) as tf.Tensor4D;
    const forward = medianMs(() => tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync()), repeats);
    const rows: [string, number][] = [
      ['Grad-CAM, predicted class', medianMs(() => cam.explain(x), repeats)],
      ['Grad-CAM, all 10 classes', medianMs(() => cam.explain(x, { target: 'all' }), repeats)],
      ['Guided Grad-CAM, predicted class', medianMs(() => cam.explain(x, { guided: true }), repeats)],
    ];
    console.log(`\nbatch ${batch}: plain forward ${forward.toFixed(1)} ms (${((1000 * batch) / forward).toFixed(0)} img/s)`);
    for (const [label, ms] of rows) {
      console.log(`  ${label.padEnd(34)} ${ms.toFixed(1).padStart(8)} ms  ${watch.ratio(ms / forward)}x forward  ${((1000 * batch) / ms).toFixed(0).padStart(6)} explanations/s`);
    }
    x.dispose();
    watch.sample();
  }
  console.log(`\n${watch.footer()}`);
  model.dispose();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

/**
 * A Keras-converted ImageNet-size model: a 224x224 MobileNetV2 (random weights, 5 classes) made and
 * converted by python/keras_bench.py, timed here on our backend and there in TensorFlow, in the
 * same run: forward at batch 1, Grad-CAM of all 5 classes, Guided Grad-CAM of the predicted class.
 * Prints times and ratios (goal: Grad-CAM of all classes <= 2x a forward pass).
 * Needs the Keras environment: python/venv keras.   Run: npx tsx bench/keras-models.ts
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend';
import { explain } from '../src/cam';
import { loadModel } from '../src/model/io';
import { KERAS_PYTHON, withKerasMobileNet } from './keras-mobilenet';
import { time } from './timing';

interface KerasTimes {
  tensorflow: string;
  forward_ms: [number, number];
  gradcam_all_ms: [number, number];
}

async function main(): Promise<void> {
  if (!fs.existsSync(KERAS_PYTHON)) {
    console.log(`skipped: ${KERAS_PYTHON} is missing; make it with \`python/venv keras\``);
    return;
  }
  console.log('building, converting and timing a 224x224 MobileNetV2 in TensorFlow ...');
  await withKerasMobileNet(async (dir, tensorflowTimes) => {
    const keras = JSON.parse(tensorflowTimes) as KerasTimes;
    const info = await initBackend({ quiet: true });
    const model = await loadModel(path.join(dir, 'layers'));
    const x = tf.randomUniform([1, 224, 224, 3], -1, 1) as tf.Tensor4D;
    const pixels = [x.squeeze([0]) as tf.Tensor3D];
    const forward = time(() => tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync()), 10);
    const all = time(() => void explain(model, pixels, { target: 'all' }), 10);
    const guided = time(() => void explain(model, pixels, { target: 'predicted', guided: true }), 10);
    const row = (name: string, ours: [number, number], theirs?: [number, number]): string =>
      `| ${name} | ${ours[0].toFixed(1)} (min ${ours[1].toFixed(1)}) | ${(ours[0] / forward[0]).toFixed(2)}x | ` +
      (theirs ? `${theirs[0].toFixed(1)} (min ${theirs[1].toFixed(1)}) | ${(theirs[0] / ours[0]).toFixed(2)} |` : '| |');
    console.log(`\nMobileNetV2 224x224, 5 classes, batch 1; ours on ${info.name}${info.nativeConvolutions?.active ? ' + native' : ''}, TensorFlow ${keras.tensorflow} (2 threads)`);
    console.log('| | ours, ms (median) | / our forward | TensorFlow, ms | speed ratio ours/TF |');
    console.log('|---|---|---|---|---|');
    console.log(row('forward', forward, keras.forward_ms));
    console.log(row('Grad-CAM, all 5 classes', all, keras.gradcam_all_ms));
    console.log(row('Guided Grad-CAM, predicted class', guided));
    console.log(`\nGrad-CAM of all classes = ${(all[0] / forward[0]).toFixed(2)}x a forward pass (goal <= 2x)`);
    tf.dispose([x, ...pixels]);
    model.dispose();
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

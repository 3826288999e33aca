/** `gradcam info`: backend, versions, and where the data and the model are found. */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { describeBackend, initBackend } from '../backend';
import { readModelMetadata } from '../model/io';
import { SHIPPED_MODEL_DIR } from '../model/shipped';
import { ParsedArgs, rejectUnknown } from './args';
import { describeDataLocation } from './data-dir';

export async function infoCommand(args: ParsedArgs): Promise<number> {
  rejectUnknown(args, [], 'info');
  const backend = await initBackend({ quiet: true });
  const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8')) as { version: string };
  console.log(`gradcam-ts ${pkg.version}, Node ${process.version}, TensorFlow.js ${tf.version.tfjs}`);
  console.log(describeBackend(backend).replace(/^gradcam-ts: /, 'backend: '));
  console.log(`data: ${await describeDataLocation()}`);
  const hasModel = fs.existsSync(path.join(SHIPPED_MODEL_DIR, 'model.json'));
  const meta = hasModel ? readModelMetadata(SHIPPED_MODEL_DIR) : {};
  console.log(`shipped model: ${hasModel ? `${SHIPPED_MODEL_DIR} (test accuracy ${((meta.testAccuracy as number) * 100).toFixed(2)}% after ${meta.epochs} epochs)` : 'missing'}`);
  return 0;
}

/**
 * A worker thread of inference-pool.ts: its own wasm instance (so it runs on another core) and its
 * own copy of the model, loaded from the same folder; takes a shard of images, returns its outputs.
 */
import { parentPort } from 'worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend';
import { loadModel } from './io';

export interface InferenceRequest {
  pixels: Float32Array;
  /** [n, H, W, C] of the shard. */
  shape: [number, number, number, number];
}

export interface InferenceReply {
  outputs: Float32Array;
}

if (parentPort) {
  const port = parentPort;
  let model: tf.LayersModel | undefined;
  port.on('message', async (msg: { modelDir: string } | InferenceRequest) => {
    try {
      if ('modelDir' in msg) {
        await initBackend({ quiet: true });
        model = await loadModel(msg.modelDir);
        port.postMessage({ ready: true });
        return;
      }
      const m = model as tf.LayersModel;
      // One predict call for the shard (LayersModel.predict would otherwise split it into 32s).
      const outputs = tf.tidy(() => (m.predict(tf.tensor4d(msg.pixels, msg.shape), { batchSize: msg.shape[0] }) as tf.Tensor).dataSync() as Float32Array);
      port.postMessage({ outputs } satisfies InferenceReply, [outputs.buffer as ArrayBuffer]);
    } catch (err) {
      port.postMessage({ error: (err as Error).message });
    }
  });
}

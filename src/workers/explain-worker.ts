/**
 * A worker thread of explain-pool.ts: its own backend instance (so it runs on another core) and its
 * own copy of the model and the method; explains a shard of images, returns the plain-array result.
 */
import { parentPort } from 'worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend';
import { loadModel } from '../model/io';
import type { BaseCAM, CamOptions, ExplainOptions } from '../cam/base-cam';
import { createCam } from '../cam/explain';
import type { CamMethodName, Explanation } from '../cam/types';

export interface ExplainInit {
  modelDir: string;
  camOptions: CamOptions & { method?: CamMethodName };
}

export interface ExplainRequest {
  pixels: Float32Array;
  /** [n, H, W, C] of the shard. */
  shape: [number, number, number, number];
  options: ExplainOptions;
}

if (parentPort) {
  const port = parentPort;
  let cam: BaseCAM | undefined;
  port.on('message', async (msg: ExplainInit | ExplainRequest) => {
    try {
      if ('modelDir' in msg) {
        await initBackend({ quiet: true });
        cam = createCam(await loadModel(msg.modelDir), msg.camOptions);
        port.postMessage({ ready: true });
        return;
      }
      const x = tf.tensor4d(msg.pixels, msg.shape);
      let result: Explanation;
      try {
        result = (cam as BaseCAM).explain(x, msg.options);
      } finally {
        x.dispose();
      }
      port.postMessage(result);
    } catch (err) {
      port.postMessage({ error: (err as Error).message });
    }
  });
}

/**
 * Batch inference on several cores. tfjs keeps wasm single-threaded in Node, so, as data-parallel
 * training does, a batch is split into shards: this thread predicts the first while worker threads
 * (inference-worker.ts), each with its own wasm instance and copy of the model, predict the others.
 * Small batches stay on this thread: a shard must be worth a message round trip.
 */
import * as path from 'path';
import { Worker } from 'worker_threads';
import * as tf from '@tensorflow/tfjs';
import type { InferenceReply, InferenceRequest } from './inference-worker';
import { loadModel } from './io';

/** Below this many images per shard, splitting costs more than it saves (measured: bench/peers.ts). */
export const MIN_SHARD = 4;

function workerScript(): { file: string; execArgv: string[] } {
  const ts = __filename.endsWith('.ts');
  // Under tsx (tests, benches) the worker needs the same TypeScript loader.
  return { file: path.join(__dirname, `inference-worker.${ts ? 'ts' : 'js'}`), execArgv: ts ? ['--require', require.resolve('tsx/cjs')] : [] };
}

class PoolWorker {
  private pending?: { resolve: (r: Float32Array) => void; reject: (e: Error) => void };
  private constructor(private readonly worker: Worker) {}

  static async start(modelDir: string): Promise<PoolWorker> {
    const { file, execArgv } = workerScript();
    const pw = new PoolWorker(new Worker(file, { execArgv }));
    await new Promise<void>((resolve, reject) => {
      pw.worker.on('message', (m: InferenceReply) => {
        if ('ready' in m) return resolve();
        const p = pw.pending;
        pw.pending = undefined;
        if ('error' in m) {
          p ? p.reject(new Error(`inference worker: ${m.error}`)) : reject(new Error(`inference worker: ${m.error}`));
        } else p?.resolve(m.outputs);
      });
      pw.worker.on('error', (e) => {
        reject(e);
        pw.pending?.reject(e);
      });
      pw.worker.postMessage({ modelDir });
    });
    return pw;
  }

  predict(request: InferenceRequest): Promise<Float32Array> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(request, [request.pixels.buffer as ArrayBuffer]);
    });
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

export class InferencePool {
  private constructor(readonly model: tf.LayersModel, private readonly workers: PoolWorker[]) {}

  /** `threads` counts this one: 2 = this thread + one worker. The model is loaded once per thread. */
  static async create(modelDir: string, threads: number): Promise<InferencePool> {
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`an inference pool needs at least 1 thread, got ${threads}`);
    const [model, ...workers] = await Promise.all([loadModel(modelDir), ...Array.from({ length: threads - 1 }, () => PoolWorker.start(modelDir))]);
    return new InferencePool(model as tf.LayersModel, workers as PoolWorker[]);
  }

  /** The model's outputs for `n` images in `pixels` ([n,H,W,C] row-major), concatenated in order. */
  async predict(pixels: Float32Array, n: number): Promise<Float32Array> {
    const perImage = pixels.length / n;
    const [h, w, c] = this.model.inputs[0].shape.slice(1) as number[];
    if (!Number.isInteger(perImage) || perImage !== h * w * c) throw new Error(`predict: ${pixels.length} values are not ${n} images of ${h}x${w}x${c}`);
    const shards = Math.max(1, Math.min(this.workers.length + 1, Math.floor(n / MIN_SHARD)));
    const size = Math.ceil(n / shards);
    // Workers take shards 1.., each a copy transferred to it; this thread predicts shard 0 meanwhile.
    const pending = this.workers.slice(0, shards - 1).map((worker, k) => {
      const from = (k + 1) * size;
      const to = Math.min(n, from + size);
      return worker.predict({ pixels: pixels.slice(from * perImage, to * perImage), shape: [to - from, h, w, c] });
    });
    const first = Math.min(n, size);
    const own = tf.tidy(() => (this.model.predict(tf.tensor4d(pixels.subarray(0, first * perImage), [first, h, w, c])) as tf.Tensor).dataSync() as Float32Array);
    const parts = [own, ...(await Promise.all(pending))];
    const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
    let offset = 0;
    for (const p of parts) {
      out.set(p, offset);
      offset += p.length;
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.model.dispose();
  }
}

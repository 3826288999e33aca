/**
 * Batch inference on several cores. tfjs keeps wasm single-threaded in Node, so, as data-parallel
 * training does, a batch is split into shards: this thread predicts the first while worker threads
 * (inference-worker.ts), each with its own wasm instance and copy of the model, predict the others.
 * Small batches stay on this thread: a shard must be worth a message round trip.
 */
import * as tf from '@tensorflow/tfjs';
import { withNativeThreads } from '../backend/native';
import type { InferenceReply, InferenceRequest } from './inference-worker';
import { concatFloat32 } from '../util/typed-arrays';
import { loadModel } from './io';
import { RequestWorker, shardRanges, workerScript } from './request-worker';

/** Below this many images per shard, splitting costs more than it saves (measured: bench/peers.ts). */
export const MIN_SHARD = 4;

type Worker = RequestWorker<InferenceRequest, InferenceReply>;

export class InferencePool {
  private constructor(readonly model: tf.LayersModel, private readonly workers: Worker[]) {}

  /** `threads` counts this one: 2 = this thread + one worker. The model is loaded once per thread. */
  static async create(modelDir: string, threads: number): Promise<InferencePool> {
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`an inference pool needs at least 1 thread, got ${threads}`);
    const script = workerScript(__dirname, 'inference-worker', __filename);
    const [model, ...workers] = await Promise.all([
      loadModel(modelDir),
      ...Array.from({ length: threads - 1 }, () => RequestWorker.start<InferenceRequest, InferenceReply>(script, { modelDir }, 'inference worker')),
    ]);
    return new InferencePool(model as tf.LayersModel, workers as Worker[]);
  }

  /** The model's outputs for `n` images in `pixels` ([n,H,W,C] row-major), concatenated in order. */
  async predict(pixels: Float32Array, n: number): Promise<Float32Array> {
    const perImage = pixels.length / n;
    const [h, w, c] = this.model.inputs[0].shape.slice(1) as number[];
    if (!Number.isInteger(perImage) || perImage !== h * w * c) throw new Error(`predict: ${pixels.length} values are not ${n} images of ${h}x${w}x${c}`);
    const [[, first], ...rest] = shardRanges(n, this.workers.length + 1, MIN_SHARD);
    // Workers take shards 1.., each a copy transferred to it; this thread predicts shard 0 meanwhile.
    const pending = rest.map(([from, to], k) => {
      const shard = pixels.slice(from * perImage, to * perImage);
      return this.workers[k].request({ pixels: shard, shape: [to - from, h, w, c] }, [shard.buffer as ArrayBuffer]).then((r) => r.outputs);
    });
    const predictOwn = () => tf.tidy(() => (this.model.predict(tf.tensor4d(pixels.subarray(0, first * perImage), [first, h, w, c]), { batchSize: first }) as tf.Tensor).dataSync() as Float32Array);
    // With workers busy, this thread's shard takes one core (native kernels); alone, the default.
    const own = rest.length ? withNativeThreads(1, predictOwn) : predictOwn();
    return concatFloat32([own, ...(await Promise.all(pending))]);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.model.dispose();
  }
}

/**
 * Explanations of a batch on several cores: the batch is split into shards, this thread explains the
 * first while worker threads (explain-worker.ts), each with its own backend instance, model and method,
 * explain the others; the per-image results are concatenated in order. tfjs keeps wasm single-threaded
 * in Node, so this is how an explanation uses a second core, as training and inference do.
 * Every image's explanation is independent of the others', so the result equals one call's.
 */
import * as tf from '@tensorflow/tfjs';
import { withNativeThreads } from '../backend/native';
import { loadModel } from '../model/io';
import { RequestWorker, shardRanges, workerScript } from '../model/request-worker';
import type { BaseCAM, CamOptions, ExplainOptions } from '../cam/base-cam';
import { createCam } from '../cam/explain';
import type { ExplainInit, ExplainRequest } from './explain-worker';
import type { CamMethodName, Explanation } from '../cam/types';

/** Below this many images per shard a message round trip costs more than the shard. */
export const MIN_EXPLAIN_SHARD = 2;

type Worker = RequestWorker<ExplainRequest, Explanation>;

export class ExplainPool {
  private constructor(private readonly cam: BaseCAM, private readonly model: tf.LayersModel, private readonly workers: Worker[]) {}

  /** One method on the model saved in `modelDir`; `threads` counts this one (2 = this + one worker). */
  static async create(modelDir: string, threads: number, camOptions: CamOptions & { method?: CamMethodName } = {}): Promise<ExplainPool> {
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`an explain pool needs at least 1 thread, got ${threads}`);
    const script = workerScript(__dirname, 'explain-worker', __filename);
    const init: ExplainInit = { modelDir, camOptions };
    const [model, ...workers] = await Promise.all([
      loadModel(modelDir),
      ...Array.from({ length: threads - 1 }, () => RequestWorker.start<ExplainRequest, Explanation>(script, init, 'explain worker')),
    ]);
    const m = model as tf.LayersModel;
    return new ExplainPool(createCam(m, camOptions), m, workers as Worker[]);
  }

  /** Explains `n` images in `pixels` ([n,H,W,C] row-major, raw values as the model expects them). */
  async explain(pixels: Float32Array, n: number, options: ExplainOptions = {}): Promise<Explanation> {
    const [h, w, c] = this.model.inputs[0].shape.slice(1) as number[];
    const perImage = h * w * c;
    if (pixels.length !== n * perImage) throw new Error(`explain: ${pixels.length} values are not ${n} images of ${h}x${w}x${c}`);
    const { target } = options;
    if (Array.isArray(target) && target.length !== n) throw new Error(`explain: ${target.length} targets for ${n} images`);
    const shardOptions = (from: number, to: number): ExplainOptions => (Array.isArray(target) ? { ...options, target: target.slice(from, to) } : options);
    const [[, first], ...rest] = shardRanges(n, this.workers.length + 1, MIN_EXPLAIN_SHARD);
    const pending = rest.map(([from, to], k) => {
      const shard = pixels.slice(from * perImage, to * perImage);
      return this.workers[k].request({ pixels: shard, shape: [to - from, h, w, c], options: shardOptions(from, to) }, [shard.buffer as ArrayBuffer]);
    });
    const x = tf.tensor4d(pixels.subarray(0, first * perImage), [first, h, w, c]);
    let own: Explanation;
    try {
      // With workers busy, this thread's shard takes one core (native kernels); alone, the default.
      own = rest.length ? withNativeThreads(1, () => this.cam.explain(x, shardOptions(0, first))) : this.cam.explain(x, shardOptions(0, first));
    } catch (err) {
      await Promise.allSettled(pending); // the workers must be free for the next call
      throw err;
    } finally {
      x.dispose();
    }
    const others = await Promise.all(pending);
    return { ...own, images: [own, ...others].flatMap((e) => e.images) };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.model.dispose();
  }
}

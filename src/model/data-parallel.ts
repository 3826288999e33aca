/**
 * Data-parallel training on several cores: each batch is split into shards; this thread computes
 * the first while worker threads (gradient-worker.ts) compute the others on their own wasm
 * instances, then the mean-loss gradients and BN running statistics are averaged. tfjs runs wasm
 * single-threaded in Node, so this is how training uses a second core. Batch norm normalises
 * within each shard, as multi-GPU training without synchronised BN does.
 */
import * as path from 'path';
import { Worker } from 'worker_threads';
import * as tf from '@tensorflow/tfjs';
import { withNativeThreads } from '../backend/native';
import type { ShardRequest, ShardResult } from './gradient-worker';
import { statisticsVariables } from './gradient-worker';
import { ArchitectureSpec, namedVariables, NetworkParams, trainableVariables } from './network';
import { gradientStep, ParallelStepper, StepResult } from './train';

/**
 * Training threads when the user names none: wasm runs single-threaded in Node, so one data-parallel
 * worker thread per core; on tfjs-node each op already spreads over the cores (TensorFlow's own, and
 * the addon's kernels, the filter gradient included), so training stays on this thread.
 */
export function defaultTrainingThreads(backendName: string, cores: number): number {
  return backendName === 'tensorflow' ? 1 : Math.max(1, cores);
}

function workerScript(): { file: string; execArgv: string[] } {
  const ts = __filename.endsWith('.ts');
  const file = path.join(__dirname, `gradient-worker.${ts ? 'ts' : 'js'}`);
  // Under tsx (tests, benches) the worker needs the same TypeScript loader.
  return { file, execArgv: ts ? ['--require', require.resolve('tsx/cjs')] : [] };
}

class ShardWorker {
  private readonly worker: Worker;
  private pending?: { resolve: (r: ShardResult) => void; reject: (e: Error) => void };

  constructor(readonly ready: Promise<void>, worker: Worker) {
    this.worker = worker;
  }

  static async start(spec: ArchitectureSpec): Promise<ShardWorker> {
    const { file, execArgv } = workerScript();
    const worker = new Worker(file, { execArgv });
    let onReady: () => void = () => {};
    let onFail: (e: Error) => void = () => {};
    const ready = new Promise<void>((resolve, reject) => {
      onReady = resolve;
      onFail = reject;
    });
    const shard = new ShardWorker(ready, worker);
    worker.on('message', (m: ShardResult | { ready: true } | { error: string }) => {
      if ('ready' in m) return onReady();
      const p = shard.pending;
      shard.pending = undefined;
      if ('error' in m) p?.reject(new Error(`gradient worker: ${m.error}`));
      else p?.resolve(m);
    });
    worker.on('error', (e) => {
      onFail(e);
      shard.pending?.reject(e);
    });
    worker.postMessage({ spec });
    await ready;
    return shard;
  }

  compute(request: ShardRequest): Promise<ShardResult> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(request);
    });
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

export class DataParallelStepper implements ParallelStepper {
  private constructor(private readonly workers: ShardWorker[]) {}

  /** `threads` counts this one: 2 = this thread + one worker. */
  static async create(spec: ArchitectureSpec, threads: number): Promise<DataParallelStepper> {
    if (!Number.isInteger(threads) || threads < 2) throw new Error(`data-parallel training needs at least 2 threads, got ${threads}`);
    return new DataParallelStepper(await Promise.all(Array.from({ length: threads - 1 }, () => ShardWorker.start(spec))));
  }

  async step(params: NetworkParams, pixels: Float32Array, labels: Int32Array): Promise<StepResult> {
    const shards = this.workers.length + 1;
    const n = labels.length;
    const size = Math.ceil(n / shards);
    const perImage = pixels.length / n;
    const values = namedVariables(params).map((v) => v.dataSync() as Float32Array);
    const pending = this.workers.map((w, k) => {
      const from = (k + 1) * size;
      const to = Math.min(n, from + size);
      return w.compute({ values, pixels: pixels.slice(from * perImage, to * perImage), labels: labels.slice(from, to) });
    });
    const weights = trainableVariables(params);
    // One core for this thread's shard: the workers have the others.
    const own = withNativeThreads(1, () => gradientStep(params, weights, pixels.subarray(0, size * perImage), labels.subarray(0, size)));
    const others = await Promise.all(pending);
    // Weighted by shard size, so the result is the gradient of the whole batch's mean loss.
    const counts = [Math.min(size, n), ...this.workers.map((_, k) => Math.max(0, Math.min(n, (k + 2) * size) - (k + 1) * size))];
    const grads = tf.tidy(() => {
      const out: tf.NamedTensorMap = {};
      weights.forEach((w, i) => {
        let sum = tf.mul(own.grads[w.name], counts[0]);
        others.forEach((r, k) => (sum = tf.add(sum, tf.mul(tf.tensor(r.grads[i], w.shape), counts[k + 1]))));
        out[w.name] = tf.keep(tf.div(sum, n));
      });
      statisticsVariables(params).forEach((v, i) => {
        let sum = tf.mul(v, counts[0]);
        others.forEach((r, k) => (sum = tf.add(sum, tf.mul(tf.tensor(r.statistics[i], v.shape), counts[k + 1]))));
        v.assign(tf.div(sum, n));
      });
      return out;
    });
    tf.dispose(Object.values(own.grads));
    const loss = (own.loss * counts[0] + others.reduce((s, r, k) => s + r.loss * counts[k + 1], 0)) / n;
    return { grads, loss, hits: own.hits + others.reduce((s, r) => s + r.hits, 0) };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

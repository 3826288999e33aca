/**
 * A worker thread that computes one shard's gradients for data-parallel training: it holds its own
 * copy of the network (and its own wasm backend, so it runs on another core), takes the current
 * values of every variable with each shard, and returns gradients and updated BN statistics.
 */
import { parentPort } from 'worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend';
import { ArchitectureSpec, initNetwork, namedVariables, NetworkParams, trainableVariables } from './network';
import { gradientStep } from './train';

export interface ShardRequest {
  values: Float32Array[];
  pixels: Float32Array;
  labels: Int32Array;
}

export interface ShardResult {
  grads: Float32Array[];
  /** Running means and variances of every BN after this shard, in network order. */
  statistics: Float32Array[];
  loss: number;
  hits: number;
}

export function statisticsVariables(params: NetworkParams): tf.Variable[] {
  return params.convs.flatMap((c) => [c.movingMean, c.movingVariance]);
}

if (parentPort) {
  const port = parentPort;
  let params: NetworkParams | undefined;
  port.on('message', async (msg: { spec: ArchitectureSpec } | ShardRequest) => {
    try {
      if ('spec' in msg) {
        await initBackend({ quiet: true });
        params = initNetwork(msg.spec);
        port.postMessage({ ready: true });
        return;
      }
      const p = params as NetworkParams;
      const all = namedVariables(p);
      tf.tidy(() => all.forEach((v, i) => v.assign(tf.tensor(msg.values[i], v.shape))));
      const weights = trainableVariables(p);
      const step = gradientStep(p, weights, msg.pixels, msg.labels);
      const result: ShardResult = {
        grads: weights.map((w) => step.grads[w.name].dataSync() as Float32Array),
        statistics: statisticsVariables(p).map((v) => v.dataSync() as Float32Array),
        loss: step.loss,
        hits: step.hits,
      };
      tf.dispose(Object.values(step.grads));
      port.postMessage(result);
    } catch (err) {
      port.postMessage({ error: (err as Error).message });
    }
  });
}

/**
 * A worker thread spoken to one request at a time: the plumbing the batch-splitting pools share
 * (inference-pool.ts here, workers/explain-pool.ts). The worker script answers an init message with
 * { ready: true }, then each request with its reply, or anything with { error }.
 */
import * as path from 'path';
import { Worker } from 'worker_threads';

/** The worker file beside `dir`, as .ts under tsx (tests, benches: it needs the same loader), else .js. */
export function workerScript(dir: string, name: string, fromFile: string): { file: string; execArgv: string[] } {
  const ts = fromFile.endsWith('.ts');
  return { file: path.join(dir, `${name}.${ts ? 'ts' : 'js'}`), execArgv: ts ? ['--require', require.resolve('tsx/cjs')] : [] };
}

export class RequestWorker<Request, Reply> {
  private pending?: { resolve: (r: Reply) => void; reject: (e: Error) => void };
  private constructor(private readonly worker: Worker, private readonly label: string) {}

  static async start<Request, Reply>(script: { file: string; execArgv: string[] }, init: unknown, label: string): Promise<RequestWorker<Request, Reply>> {
    const rw = new RequestWorker<Request, Reply>(new Worker(script.file, { execArgv: script.execArgv }), label);
    await new Promise<void>((resolve, reject) => {
      rw.worker.on('message', (m: Reply | { ready: true } | { error: string }) => {
        if (typeof m === 'object' && m !== null && 'ready' in m) return resolve();
        const p = rw.pending;
        rw.pending = undefined;
        if (typeof m === 'object' && m !== null && 'error' in m) {
          const err = new Error(`${label}: ${(m as { error: string }).error}`);
          return p ? p.reject(err) : reject(err);
        }
        p?.resolve(m as Reply);
      });
      rw.worker.on('error', (e) => {
        reject(e);
        rw.pending?.reject(e);
      });
      rw.worker.postMessage(init);
    });
    return rw;
  }

  /** Sends one request (its `transfer` buffers move, not copy) and resolves with the reply. */
  request(message: Request, transfer: ArrayBuffer[] = []): Promise<Reply> {
    if (this.pending) return Promise.reject(new Error(`${this.label}: one request at a time`));
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(message, transfer);
    });
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

/** Splits n items into at most `parts` contiguous shards of at least `minShard` items: [from, to) each. */
export function shardRanges(n: number, parts: number, minShard: number): [number, number][] {
  const shards = Math.max(1, Math.min(parts, Math.floor(n / minShard)));
  const size = Math.ceil(n / shards);
  const ranges: [number, number][] = [];
  for (let from = 0; from < n; from += size) ranges.push([from, Math.min(n, from + size)]);
  return ranges;
}

/**
 * The PyTorch side of bench/peers.ts: bench/peers.py as a child process spoken to in JSON lines.
 * It stays alive for the whole bench so its warm-up holds, and idles while ours is measured.
 */
import { ChildProcessWithoutNullStreams, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as readline from 'readline';

/** PyTorch 2.13 from PyPI (python/venv peers), else Debian's 1.13 fallback (python/venv peers-debian). */
export const PEERS_PYTHON = [path.resolve(__dirname, '..', '.venv-peers', 'bin', 'python'), path.resolve(__dirname, '..', '.venv-peers-debian', 'bin', 'python')]
  .find((p) => fs.existsSync(p)) ?? path.resolve(__dirname, '..', '.venv-peers', 'bin', 'python');

export interface PeerInfo {
  torch: string;
  gradcam: string;
  threads: number;
  logits: number[];
}

type Reply = Record<string, unknown> & { error?: string };

export class PeerProcess {
  private readonly replies: ((r: Reply) => void)[] = [];
  private stderr = '';

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    readline.createInterface({ input: child.stdout }).on('line', (line) => this.replies.shift()?.(JSON.parse(line) as Reply));
    child.stderr.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    child.on('exit', (code) => {
      for (const r of this.replies.splice(0)) r({ error: `peer exited (${code}): ${this.stderr.trim().split('\n').pop() ?? ''}` });
    });
  }

  /** The running peer, or why it cannot start (the peers environment is missing). */
  static start(): PeerProcess | string {
    if (!fs.existsSync(PEERS_PYTHON)) return `no ${PEERS_PYTHON}: run python/venv peers (see python/README.md)`;
    return new PeerProcess(spawn(PEERS_PYTHON, [path.join(__dirname, 'peers.py')], { stdio: 'pipe' }));
  }

  request(message: Record<string, unknown>): Promise<Reply> {
    return new Promise((resolve) => {
      this.replies.push(resolve);
      this.child.stdin.write(`${JSON.stringify(message)}\n`);
    });
  }

  async load(modelDir: string, imagesFile: string, count: number, threads: number): Promise<PeerInfo> {
    const r = await this.request({ cmd: 'load', model: modelDir, images: imagesFile, count, threads });
    if (r.error) throw new Error(`PyTorch peer: ${r.error}`);
    return r as unknown as PeerInfo;
  }

  /** Per-call milliseconds of `figure`, or the peer's error. */
  /** `warmup` calls run first, the first time this figure and batch are asked for. */
  async time(figure: string, batch: number, repeats: number, warmup: number): Promise<number[] | string> {
    const r = await this.request({ cmd: 'time', figure, batch, repeats, warmup });
    return r.error ?? (r.ms as number[]);
  }

  async train(batch: number, seconds: number): Promise<number | string> {
    const r = await this.request({ cmd: 'train', batch, seconds });
    return r.error ?? (r.images_per_second as number);
  }

  close(): void {
    this.child.stdin.end();
  }
}

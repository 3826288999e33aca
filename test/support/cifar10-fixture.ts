/**
 * Test fixtures for the CIFAR-10 fetch path: tiny batch files in the official record format packed
 * by the system's GNU tar (an independent writer for our reader), and a local HTTP server whose
 * misbehaviour (cut connections, ignored Range) each test chooses.
 */
import { execFileSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { RECORD_BYTES } from '../../src/data/cifar10';

export const BATCH_NAMES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'];

export function tempDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `gradcam-${tag}-`));
}

export function sha1(bytes: Uint8Array): string {
  return crypto.createHash('sha1').update(bytes).digest('hex');
}

export function hasSystemTar(): boolean {
  try {
    execFileSync('tar', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** `records` records per file; labels cycle 0-9, pixels depend on file and record so every file differs. */
export function tinyBatch(fileIndex: number, records: number): Buffer {
  const bytes = Buffer.alloc(records * RECORD_BYTES);
  for (let r = 0; r < records; r++) {
    bytes[r * RECORD_BYTES] = (fileIndex + r) % 10;
    for (let i = 1; i < RECORD_BYTES; i++) bytes[r * RECORD_BYTES + i] = (i * 7 + r * 13 + fileIndex * 31) & 255;
  }
  return bytes;
}

export interface Fixture {
  /** The .tar.gz bytes, laid out like cifar-10-binary.tar.gz. */
  archive: Buffer;
  /** File name -> contents of what the archive holds under cifar-10-batches-bin/. */
  files: Record<string, Buffer>;
  sha1: Record<string, string>;
}

/** Builds the archive with `tar -czf` (format: gnu, pax or ustar). */
export function makeFixture(format = 'gnu'): Fixture {
  const root = tempDir('fixture');
  try {
    const dir = path.join(root, 'cifar-10-batches-bin');
    fs.mkdirSync(dir);
    const files: Record<string, Buffer> = {};
    BATCH_NAMES.forEach((name, i) => (files[name] = tinyBatch(i, 2 + i)));
    files['batches.meta.txt'] = Buffer.from('airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n');
    for (const [name, bytes] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), bytes);
    const archivePath = path.join(root, 'a.tar.gz');
    execFileSync('tar', [`--format=${format}`, '-czf', archivePath, '-C', root, 'cifar-10-batches-bin']);
    const sums: Record<string, string> = {};
    for (const name of BATCH_NAMES) sums[name] = sha1(files[name]);
    return { archive: fs.readFileSync(archivePath), files, sha1: sums };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

export interface SeenRequest {
  path: string;
  range: string | undefined;
}

export interface TestServer {
  url: string;
  requests: SeenRequest[];
  close(): Promise<void>;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, index: number) => void;

export async function startServer(handler: Handler): Promise<TestServer> {
  const requests: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ path: req.url ?? '', range: req.headers.range });
    handler(req, res, requests.length - 1);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface ServeOptions {
  /** Per request index: send only this many body bytes, then drop the connection. */
  cutAfter?: Record<number, number>;
  /** Answer every request with the whole file (200), as servers without Range support do. */
  ignoreRange?: boolean;
}

/** Serves `body` honouring `Range: bytes=N-` with 206 + Content-Range, unless told to misbehave. */
export function serveBytes(body: Buffer, opts: ServeOptions = {}): Handler {
  return (req, res, index) => {
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    let start = 0;
    if (m && !opts.ignoreRange) {
      start = Number(m[1]);
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` });
        res.end();
        return;
      }
      res.writeHead(206, { 'content-length': body.length - start, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` });
    } else {
      res.writeHead(200, { 'content-length': body.length });
    }
    const rest = body.subarray(start);
    const cut = opts.cutAfter?.[index];
    if (cut === undefined) {
      res.end(rest);
      return;
    }
    // A FIN (socket.end), not a reset: a reset may make the client's kernel discard bytes it already received.
    res.write(rest.subarray(0, cut), () => res.socket?.end());
  };
}

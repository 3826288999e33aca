/**
 * HTTP(S) download into `dest + '.part'`, resumed with a Range request when a .part exists, renamed
 * to `dest` only once every byte the server promised has arrived. Plain node http/https: no deps.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';

export interface DownloadProgress {
  url: string;
  /** Bytes in the .part file so far (including those from earlier, resumed attempts). */
  bytes: number;
  /** Size of the whole file, when the server says; undefined otherwise. */
  total: number | undefined;
  /** Bytes that were already on disk when this attempt started (0 for a fresh download). */
  resumedFrom: number;
}

export interface DownloadOptions {
  onProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
  /** Give up on a connection that sends nothing for this long (the .part stays for resume). */
  idleTimeoutMs?: number;
  maxRedirects?: number;
}

export interface DownloadResult {
  bytes: number;
  resumedFrom: number;
}

/** The connection ended before the promised bytes arrived; the .part file is kept so a rerun resumes. */
export class TruncatedDownloadError extends Error {
  constructor(
    readonly url: string,
    readonly partFile: string,
    readonly received: number,
    readonly expected: number | undefined,
    cause?: string,
  ) {
    super(
      `download of ${url} stopped at ${received} of ${expected ?? 'an unknown number of'} bytes` +
        `${cause ? ` (${cause})` : ''}; the partial file ${partFile} is kept: run the same command again to resume.`,
    );
    this.name = 'TruncatedDownloadError';
  }
}

export class HttpStatusError extends Error {
  constructor(readonly url: string, readonly status: number) {
    super(`GET ${url} answered HTTP ${status}; check the URL (or GRADCAM_CIFAR10_URL) and your network, then run again.`);
    this.name = 'HttpStatusError';
  }
}

export async function downloadFile(url: string, dest: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
  const part = `${dest}.part`;
  const maxRedirects = opts.maxRedirects ?? 10;
  let target = url;
  let redirects = 0;
  // Each restart (stale or mismatched .part) drops the .part, so the next attempt asks for no Range: 3 is plenty.
  for (let restarts = 0; restarts < 3; ) {
    const start = fs.existsSync(part) ? fs.statSync(part).size : 0;
    const res = await get(target, start, opts);
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      res.resume();
      if (++redirects > maxRedirects) throw new Error(`${url}: more than ${maxRedirects} redirects; check the URL.`);
      target = new URL(res.headers.location, target).toString();
      continue;
    }
    if (status === 416) {
      // Range not satisfiable: either the .part is already whole, or it is longer than the file (stale).
      res.resume();
      const total = parseTotal(res.headers['content-range']);
      if (total === start && start > 0) {
        fs.renameSync(part, dest);
        return { bytes: start, resumedFrom: start };
      }
      fs.rmSync(part, { force: true });
      restarts++;
      continue;
    }
    if (status !== 200 && status !== 206) {
      res.resume();
      throw new HttpStatusError(target, status);
    }
    let offset = 0;
    let total: number | undefined;
    const length = res.headers['content-length'] === undefined ? undefined : Number(res.headers['content-length']);
    if (status === 206) {
      const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers['content-range'] ?? '');
      if (!range || Number(range[1]) !== start) {
        // A range we did not ask for: safer to start over than to splice.
        res.destroy();
        fs.rmSync(part, { force: true });
        restarts++;
        continue;
      }
      offset = start;
      total = range[3] === '*' ? (length === undefined ? undefined : start + length) : Number(range[3]);
    } else {
      total = length; // 200: the server ignored Range (or none was sent); the body is the whole file
    }
    const bytes = await receive(res, part, offset, total, target, opts);
    fs.renameSync(part, dest);
    return { bytes, resumedFrom: offset };
  }
  throw new Error(`${url}: the server keeps refusing our Range requests; delete ${part} and run again.`);
}

function get(url: string, start: number, opts: DownloadOptions): Promise<http.IncomingMessage> {
  const parsed = new URL(url);
  const client = parsed.protocol === 'https:' ? https : parsed.protocol === 'http:' ? http : undefined;
  if (!client) throw new Error(`${url}: only http and https URLs can be downloaded.`);
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { 'user-agent': 'gradcam-ts' };
    if (start > 0) headers.range = `bytes=${start}-`;
    let response: http.IncomingMessage | undefined;
    const req = client.get(parsed, { headers, signal: opts.signal }, (res) => resolve((response = res)));
    const idleMs = opts.idleTimeoutMs ?? 60000;
    req.setTimeout(idleMs, () => {
      // Fail the response first so the reader reports the timeout rather than a bare "aborted".
      const err = new Error(`no data for ${idleMs / 1000} s`);
      response?.destroy(err);
      req.destroy(err);
    });
    req.on('error', reject);
  });
}

/**
 * Writes the body after `offset` bytes of the .part (truncating anything beyond). Listens at once in
 * flowing mode: a response destroyed by a dropped connection discards what it had buffered, and
 * with a read loop started after the file opens, a short body could be lost whole.
 */
async function receive(
  res: http.IncomingMessage, part: string, offset: number, total: number | undefined, url: string, opts: DownloadOptions,
): Promise<number> {
  const queue: Buffer[] = [];
  let ended = false;
  let failure: string | undefined;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  res.on('data', (chunk: Buffer) => {
    queue.push(chunk);
    if (queue.length > 64) res.pause(); // the disk is behind: let TCP hold the rest
    notify();
  });
  res.on('error', (err: Error) => {
    failure ??= err.message;
    notify();
  });
  res.on('end', () => {
    ended = true;
    notify();
  });
  res.on('close', () => {
    ended = true;
    notify();
  });

  const fh = await fs.promises.open(part, offset > 0 ? 'r+' : 'w');
  let bytes = offset;
  try {
    await fh.truncate(offset);
    opts.onProgress?.({ url, bytes, total, resumedFrom: offset });
    for (;;) {
      const chunk = queue.shift();
      if (chunk) {
        await fh.write(chunk, 0, chunk.length, bytes);
        bytes += chunk.length;
        opts.onProgress?.({ url, bytes, total, resumedFrom: offset });
        if (queue.length < 16 && res.isPaused()) res.resume();
      } else if (ended || failure !== undefined) {
        break;
      } else {
        await new Promise<void>((resolve) => (wake = resolve));
      }
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  if (opts.signal?.aborted) throw opts.signal.reason instanceof Error ? opts.signal.reason : new Error(`download of ${url} aborted`);
  if (failure !== undefined || (total !== undefined && bytes !== total) || !res.complete) {
    throw new TruncatedDownloadError(url, part, bytes, total, failure);
  }
  return bytes;
}

function parseTotal(contentRange: string | undefined): number | undefined {
  const m = /\/(\d+)$/.exec(contentRange ?? '');
  return m ? Number(m[1]) : undefined;
}

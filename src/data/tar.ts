/**
 * A minimal streaming tar reader (ustar, plus the GNU long-name and pax path records that GNU tar
 * writes for long names): enough for a data-set archive, small enough to read in one sitting.
 * Only regular files and folders are written; links, devices and the like are skipped.
 */
import * as fs from 'fs';
import * as path from 'path';

const BLOCK = 512;

export class ArchiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArchiveError';
  }
}

/** Pulls exact byte counts out of a stream of chunks of any size. */
class ChunkReader {
  private buf = Buffer.alloc(0);
  constructor(private readonly it: AsyncIterator<Buffer>) {}

  /** Exactly n bytes, or null at a clean end of stream; throws if the stream ends part-way. */
  async exact(n: number): Promise<Buffer | null> {
    while (this.buf.length < n) {
      const next = await this.it.next();
      if (next.done) {
        if (this.buf.length === 0) return null;
        throw new ArchiveError(`the archive ends in the middle of a record (${this.buf.length} of ${n} bytes): it is truncated.`);
      }
      this.buf = this.buf.length ? Buffer.concat([this.buf, next.value]) : next.value;
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Between 1 and max bytes, whatever is at hand, so file bodies stream without extra copies. */
  async some(max: number): Promise<Buffer> {
    if (this.buf.length === 0) {
      const next = await this.it.next();
      if (next.done) throw new ArchiveError('the archive ends in the middle of a file: it is truncated.');
      this.buf = next.value;
    }
    const out = this.buf.subarray(0, max);
    this.buf = this.buf.subarray(out.length);
    return out;
  }

  async skip(n: number): Promise<void> {
    while (n > 0) n -= (await this.some(n)).length;
  }
}

function field(header: Buffer, start: number, length: number): string {
  const raw = header.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? length : end).toString('utf8');
}

/** Octal, or GNU base-256 (high bit set) for sizes of 8 GiB and more. */
function numeric(header: Buffer, start: number, length: number): number {
  const raw = header.subarray(start, start + length);
  if (raw[0] & 0x80) {
    let n = raw[0] & 0x7f;
    for (let i = 1; i < length; i++) n = n * 256 + raw[i];
    return n;
  }
  const text = field(header, start, length).trim();
  return text ? parseInt(text, 8) : 0;
}

function checksumOk(header: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i];
  return sum === numeric(header, 148, 8);
}

/** The pax `path` record, if any ("<len> path=<value>\n" lines). */
function paxPath(body: Buffer): string | undefined {
  let at = 0;
  while (at < body.length) {
    const space = body.indexOf(0x20, at);
    const len = parseInt(body.subarray(at, space).toString('ascii'), 10);
    if (space < 0 || !(len > 0)) break;
    const record = body.subarray(space + 1, at + len - 1).toString('utf8');
    if (record.startsWith('path=')) return record.slice(5);
    at += len;
  }
  return undefined;
}

/** A member name made safe: relative, no `..`, so nothing is written outside destDir. */
function safeRelative(name: string): string {
  const normal = path.posix.normalize(name.replace(/\\/g, '/'));
  if (path.posix.isAbsolute(normal) || normal === '..' || normal.startsWith('../')) {
    throw new ArchiveError(`archive member "${name}" points outside the extraction folder; refusing to extract this archive.`);
  }
  return normal.replace(/\/+$/, '');
}

/**
 * Extracts a tar stream into destDir (which must exist) and returns the relative paths of the
 * regular files written, in archive order.
 */
export async function extractTar(source: AsyncIterable<Buffer>, destDir: string): Promise<string[]> {
  const reader = new ChunkReader(source[Symbol.asyncIterator]());
  const files: string[] = [];
  let longName: string | undefined;
  for (;;) {
    const header = await reader.exact(BLOCK);
    if (header === null || header.every((b) => b === 0)) break; // end-of-archive blocks (or a bare end)
    if (!checksumOk(header)) {
      throw new ArchiveError(`a tar header checksum is wrong after ${files.length} files: the archive is corrupt or not a tar file.`);
    }
    const size = numeric(header, 124, 12);
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    const type = String.fromCharCode(header[156] || 0x30);
    const prefix = field(header, 257, 6) === 'ustar' ? field(header, 345, 155) : '';
    const name = longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    longName = undefined;

    if (type === 'L' || type === 'x') {
      // The next member's real name: GNU long-name data, or a pax header's path record.
      const body = (await reader.exact(padded)) ?? Buffer.alloc(0);
      longName = type === 'L' ? field(body, 0, size) : paxPath(body.subarray(0, size));
      continue;
    }
    if (type === '0' || type === '7') {
      const rel = safeRelative(name);
      const file = path.join(destDir, rel);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const fh = await fs.promises.open(file, 'w');
      try {
        for (let left = size; left > 0; ) {
          const chunk = await reader.some(left);
          await fh.write(chunk);
          left -= chunk.length;
        }
      } finally {
        await fh.close();
      }
      await reader.skip(padded - size);
      files.push(rel);
    } else {
      if (type === '5') fs.mkdirSync(path.join(destDir, safeRelative(name)), { recursive: true });
      await reader.skip(padded);
    }
  }
  return files;
}

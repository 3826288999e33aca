/**
 * Finds the CIFAR-10 binary folder: an explicit folder (option, then GRADCAM_CIFAR10_DIR), else the
 * cache (GRADCAM_CACHE_DIR or ~/.cache/gradcam-ts), else downloads, verifies and caches it.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CorruptDataError, RECORD_BYTES } from './cifar10';
import { CIFAR10_SHA1 } from './checksums';
import { DownloadProgress, downloadFile } from './download';
import { CIFAR10_FOLDER, extractCifar10 } from './extract';
import { formatBytes, ProgressBar } from './progress';

export const CIFAR10_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
const ARCHIVE_NAME = 'cifar-10-binary.tar.gz';

export interface LocateOptions {
  /** A cifar-10-batches-bin folder to use as is; wins over everything else. */
  dir?: string;
  cacheDir?: string;
  /** false: never download, fail with DatasetNotFoundError instead. */
  download?: boolean;
  /** Download progress; by default a ProgressBar on stderr. */
  onProgress?: (p: DownloadProgress) => void;
  log?: (msg: string) => void;
  /** SHA-1 per file name; the official ones by default (tests pass their own small files' sums). */
  expectedSha1?: Record<string, string>;
}

export class DatasetNotFoundError extends Error {
  constructor(readonly looked: string, reason: string) {
    super(
      `CIFAR-10 not found: ${reason}. To get it, either run \`gradcam evaluate\` or \`gradcam train\` without --data so it downloads ` +
        `${CIFAR10_URL} into the cache (GRADCAM_CACHE_DIR, default ~/.cache/gradcam-ts), or download and unpack that archive ` +
        `yourself and point --data or the GRADCAM_CIFAR10_DIR environment variable at its ${CIFAR10_FOLDER} folder.`,
    );
    this.name = 'DatasetNotFoundError';
  }
}

/** Where downloads are cached: GRADCAM_CACHE_DIR, else ~/.cache/gradcam-ts. */
export function defaultCacheDir(): string {
  return process.env.GRADCAM_CACHE_DIR || path.join(os.homedir(), '.cache', 'gradcam-ts');
}

export async function locateCifar10(opts: LocateOptions = {}): Promise<string> {
  const expected = opts.expectedSha1 ?? CIFAR10_SHA1;
  const explicit = opts.dir ?? (process.env.GRADCAM_CIFAR10_DIR || undefined);
  if (explicit !== undefined) {
    const source = opts.dir !== undefined ? 'the folder you passed' : 'GRADCAM_CIFAR10_DIR';
    checkFolder(path.resolve(explicit), expected, source);
    return path.resolve(explicit);
  }
  const cacheDir = path.resolve(opts.cacheDir ?? defaultCacheDir());
  const cached = path.join(cacheDir, CIFAR10_FOLDER);
  // Only a verified extraction is ever renamed to this name, so presence and sizes are enough here.
  if (fs.existsSync(cached)) {
    checkFolder(cached, expected, `the cache (${cacheDir})`);
    return cached;
  }
  if (opts.download === false) {
    throw new DatasetNotFoundError(cached, `${cached} does not exist and downloading is turned off`);
  }
  const log = opts.log ?? ((msg: string) => process.stderr.write(`${msg}\n`));
  const url = process.env.GRADCAM_CIFAR10_URL || CIFAR10_URL;
  const archive = path.join(cacheDir, ARCHIVE_NAME);
  fs.mkdirSync(cacheDir, { recursive: true });
  if (!fs.existsSync(archive)) {
    log(`downloading ${url} to ${cacheDir}`);
    const bar = opts.onProgress ? undefined : lazyBar();
    const result = await downloadFile(url, archive, { onProgress: opts.onProgress ?? bar?.onProgress });
    bar?.finish();
    log(`downloaded ${formatBytes(result.bytes)}${result.resumedFrom ? ` (resumed at ${formatBytes(result.resumedFrom)})` : ''}`);
  }
  const dir = await extractCifar10(archive, cacheDir, { expectedSha1: expected, log });
  // The archive is only a means to the folder; 160 MB is worth giving back.
  fs.rmSync(archive, { force: true });
  log(`CIFAR-10 ready in ${dir}`);
  return dir;
}

/** Presence and record-multiple sizes of every expected file; cheap enough for every start-up. */
function checkFolder(dir: string, expected: Readonly<Record<string, string>>, source: string): void {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new DatasetNotFoundError(dir, `${dir} (${source}) is not a folder`);
  }
  for (const name of Object.keys(expected)) {
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) throw new DatasetNotFoundError(dir, `${file} is missing (${source})`);
    const size = fs.statSync(file).size;
    if (size === 0 || size % RECORD_BYTES !== 0) {
      throw new CorruptDataError(
        `${file} is ${size} bytes, not a positive multiple of the ${RECORD_BYTES}-byte CIFAR-10 record (${source}): ` +
          'it is truncated or not the binary version. Replace the folder with a fresh copy of cifar-10-binary.tar.gz.',
      );
    }
  }
}

/** A bar created on the first progress event, once the total size is known. */
function lazyBar(): { onProgress: (p: DownloadProgress) => void; finish: () => void } {
  let bar: ProgressBar | undefined;
  return {
    onProgress: (p) => {
      bar ??= new ProgressBar({ total: p.total, label: 'CIFAR-10', unit: 'B', initial: p.resumedFrom });
      bar.update(p.bytes);
    },
    finish: () => bar?.finish(),
  };
}

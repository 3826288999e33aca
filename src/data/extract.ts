/**
 * Unpacks cifar-10-binary.tar.gz into a temp folder beside the cache's final folder, checks every
 * data file's SHA-1, and only then renames it into place: the final name never holds a half-written
 * or unverified copy, even if the process dies mid-way.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { verifyChecksums } from './checksums';
import { ArchiveError, extractTar } from './tar';

/** The folder name the official archive unpacks to. */
export const CIFAR10_FOLDER = 'cifar-10-batches-bin';
/** Prefix of temp folders inside the cache dir; a crash may leave one, which a later run removes. */
export const EXTRACT_TEMP_PREFIX = '.extract-';

export interface ExtractOptions {
  /** SHA-1 per file name inside cifar-10-batches-bin/. */
  expectedSha1: Readonly<Record<string, string>>;
  log?: (msg: string) => void;
}

/** Extracts `archive` into `<cacheDir>/cifar-10-batches-bin` and returns that path. */
export async function extractCifar10(archive: string, cacheDir: string, opts: ExtractOptions): Promise<string> {
  const finalDir = path.join(cacheDir, CIFAR10_FOLDER);
  fs.mkdirSync(cacheDir, { recursive: true });
  removeStaleTemps(cacheDir);
  const temp = fs.mkdtempSync(path.join(cacheDir, EXTRACT_TEMP_PREFIX));
  try {
    opts.log?.(`extracting ${archive}`);
    await gunzipTar(archive, temp);
    const extracted = path.join(temp, CIFAR10_FOLDER);
    if (!fs.existsSync(extracted)) {
      throw new ArchiveError(`${archive} has no ${CIFAR10_FOLDER}/ folder: it is not the CIFAR-10 binary version. Delete it and run again.`);
    }
    opts.log?.('verifying SHA-1 checksums');
    await verifyChecksums(extracted, opts.expectedSha1, cacheDir);
    try {
      fs.renameSync(extracted, finalDir);
    } catch (err) {
      // Another process finished first: its copy went through the same checks, so use it.
      if (!fs.existsSync(finalDir)) throw err;
    }
    return finalDir;
  } finally {
    fs.rmSync(temp, { recursive: true, force: true });
  }
}

async function gunzipTar(archive: string, destDir: string): Promise<void> {
  const input = fs.createReadStream(archive);
  const gunzip = zlib.createGunzip();
  input.on('error', (err) => gunzip.destroy(err));
  input.pipe(gunzip);
  try {
    await extractTar(gunzip, destDir);
  } catch (err) {
    if (err instanceof ArchiveError) throw new ArchiveError(`${archive}: ${err.message} Delete it and run again.`);
    const reason = err instanceof Error ? err.message : String(err);
    throw new ArchiveError(`${archive} cannot be unpacked (${reason}): it is damaged or not a .tar.gz. Delete it and run again.`);
  } finally {
    input.destroy();
    gunzip.destroy();
  }
}

/** Temp folders left by a crash; an hour old at least, so a concurrent extraction is never pulled from under it. */
function removeStaleTemps(cacheDir: string): void {
  const hourAgo = Date.now() - 3600_000;
  for (const name of fs.readdirSync(cacheDir)) {
    const dir = path.join(cacheDir, name);
    if (name.startsWith(EXTRACT_TEMP_PREFIX) && fs.statSync(dir).mtimeMs < hourAgo) fs.rmSync(dir, { recursive: true, force: true });
  }
}

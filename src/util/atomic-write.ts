/**
 * Writing a file atomically (a temp file in the same folder, then a rename, so a reader never
 * sees half a file), never into a protected folder (read-only-folders.ts), and with a sentence instead of a
 * raw errno when the destination cannot be written. No temp file is left behind on failure.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { assertWritable } from './read-only-folders';

/** The destination cannot be written (a folder, no permission, a file where a folder should be...). */
export class OutputPathError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
    this.name = 'OutputPathError';
  }
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47];

function isPng(data: string | Uint8Array): boolean {
  return typeof data !== 'string' && PNG_SIGNATURE.every((b, i) => data[i] === b);
}

/** The nearest ancestor of `file` that exists but is not a folder, if any. */
function fileInTheWay(file: string): string | undefined {
  for (let at = path.dirname(path.resolve(file)); at !== path.dirname(at); at = path.dirname(at)) {
    try {
      if (!fs.statSync(at).isDirectory()) return at;
    } catch {
      // not there yet: it would be created
    }
  }
  return undefined;
}

/** The folder the write failed in: the nearest one of `file`'s ancestors that exists. */
function existingFolder(file: string): string {
  let at = path.dirname(path.resolve(file));
  while (!fs.existsSync(at) && at !== path.dirname(at)) at = path.dirname(at);
  return at;
}

/** A sentence for an errno from writing `file`; the fix is always another destination (--out). */
export function describeWriteError(err: unknown, file: string, data: string | Uint8Array = ''): Error {
  const code = (err as NodeJS.ErrnoException).code;
  const dir = path.dirname(file);
  const cannot = `Cannot write ${file}`;
  const say = (why: string) => new OutputPathError(`${cannot}: ${why}`, code);
  switch (code) {
    case 'EISDIR':
      return say(`it is a folder; give a file name${isPng(data) ? `, such as ${path.join(file, 'gradcam.png')},` : ' inside it'} as --out.`);
    case 'EACCES':
    case 'EPERM':
      return say(`permission denied in ${existingFolder(file)}; choose another --out in a folder you can write to.`);
    case 'ENOTDIR':
    case 'EEXIST': {
      const blocker = fileInTheWay(file);
      return say(`${blocker ?? dir} is a file, not a folder, so nothing can be written inside it; choose another --out.`);
    }
    case 'EROFS':
      return say(`${dir} is on a read-only file system; choose another --out.`);
    case 'ENOSPC':
    case 'EDQUOT':
      return say('the disk is full (or over quota); free some space or choose another --out.');
    case 'ENAMETOOLONG':
      return say('the file name is too long; choose a shorter --out.');
    default:
      return say(`${code ?? (err as Error).message}; choose another --out.`);
  }
}

/** Writes `data` to `file` via a temp file in the same folder and a rename. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  assertWritable(file);
  // "out/" names a folder; without this the temp file would go inside it.
  if (/[\\/]$/.test(file)) throw describeWriteError(Object.assign(new Error('EISDIR'), { code: 'EISDIR' }), file, data);
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
  } catch (err) {
    throw describeWriteError(err, file, data);
  }
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (err) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // nothing was created, or the folder forbids removing it too: the write error is the news
    }
    throw describeWriteError(err, file, data);
  }
}

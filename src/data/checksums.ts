/** The official SHA-1s of the CIFAR-10 binary files, and a streaming hash so 30 MB files never sit in memory twice. */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

/** From the CIFAR-10 binary version (cifar-10-binary.tar.gz); keys are file names inside cifar-10-batches-bin/. */
export const CIFAR10_SHA1: Readonly<Record<string, string>> = Object.freeze({
  'data_batch_1.bin': 'aadd24acce27caa71bf4b10992e9e7b2d74c2540',
  'data_batch_2.bin': 'c0ba65cce70568cd57b4e03e9ac8d2a5367c1795',
  'data_batch_3.bin': '1dd00a74ab1d17a6e7d73e185b69dbf31242f295',
  'data_batch_4.bin': 'aab85764eb3584312d3c7f65fd2fd016e36a258e',
  'data_batch_5.bin': '26e2849e66a845b7f1e4614ae70f4889ae604628',
  'test_batch.bin': '67eb016db431130d61cd03c7ad570b013799c88c',
});

/** Lower-case hex SHA-1 of a file, read in 1 MiB chunks. */
export async function sha1File(file: string): Promise<string> {
  const hash = crypto.createHash('sha1');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export class ChecksumMismatchError extends Error {
  constructor(
    readonly file: string,
    readonly expected: string,
    readonly got: string,
    readonly cacheDir: string,
  ) {
    super(
      `${file}: SHA-1 ${got} does not match the official ${expected}; the download is corrupt. ` +
        `Fix: delete the folder ${cacheDir} and run again to download a fresh copy.`,
    );
    this.name = 'ChecksumMismatchError';
  }
}

/**
 * Hashes every file named in `expected` inside `dir` and throws ChecksumMismatchError on the first
 * one that differs (a missing file reports got = "missing"). `cacheDir` is the folder the fix deletes.
 */
export async function verifyChecksums(dir: string, expected: Readonly<Record<string, string>>, cacheDir = dir): Promise<void> {
  for (const [name, sha1] of Object.entries(expected)) {
    const file = path.join(dir, name);
    const got = fs.existsSync(file) ? await sha1File(file) : 'missing';
    if (got !== sha1.toLowerCase()) throw new ChecksumMismatchError(file, sha1.toLowerCase(), got, cacheDir);
  }
}

import { expect } from 'chai';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { ArchiveError, extractTar } from '../../src/data/tar';
import { hasSystemTar, tempDir } from '../support/cifar10-fixture';

/** Feeds a file to the reader in deliberately awkward chunk sizes (headers split across chunks). */
async function* chunked(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

describe('tar reader (checked against archives written by GNU tar)', () => {
  let dir: string;
  before(function () {
    if (!hasSystemTar()) {
      this.skip(); // GNU tar is the independent writer these tests compare against
    }
  });
  beforeEach(() => {
    dir = tempDir('tar');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A tree with an empty file, a block-sized one, an odd-sized one and a 150-character path. */
  function makeTree(): Record<string, Buffer> {
    const long = `${'deep/'.repeat(20)}${'n'.repeat(40)}.bin`;
    const files: Record<string, Buffer> = {
      'top/empty.txt': Buffer.alloc(0),
      'top/block.bin': Buffer.alloc(512, 7),
      'top/odd.bin': Buffer.from(Array.from({ length: 1337 }, (_, i) => (i * 37) & 255)),
      [`top/${long}`]: Buffer.from('long name survives'),
    };
    for (const [name, bytes] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, 'src', name)), { recursive: true });
      fs.writeFileSync(path.join(dir, 'src', name), bytes);
    }
    return files;
  }

  for (const format of ['gnu', 'pax', 'ustar']) {
    it(`extracts every file byte for byte from a --format=${format} archive, whatever the chunking`, async () => {
      const files = makeTree();
      const tarFile = path.join(dir, 'a.tar');
      // ustar cannot hold a 150-char name in a single component; its prefix field splits at a slash.
      execFileSync('tar', [`--format=${format}`, '-cf', tarFile, '-C', path.join(dir, 'src'), 'top']);
      const bytes = fs.readFileSync(tarFile);
      for (const size of [bytes.length, 1000, 511]) {
        const out = path.join(dir, `out-${size}`);
        fs.mkdirSync(out);
        const written = await extractTar(chunked(bytes, size), out);
        expect([...written].sort()).to.deep.equal(Object.keys(files).sort());
        for (const [name, content] of Object.entries(files)) {
          expect(fs.readFileSync(path.join(out, name)).equals(content), `${format} ${size} ${name}`).to.equal(true);
        }
      }
    });
  }

  it('refuses a member whose name climbs out of the extraction folder', async () => {
    const inner = path.join(dir, 'a', 'b');
    fs.mkdirSync(inner, { recursive: true });
    fs.writeFileSync(path.join(dir, 'a', 'evil'), 'x');
    const tarFile = path.join(dir, 'evil.tar');
    execFileSync('tar', ['-cPf', tarFile, '../evil'], { cwd: inner });
    const out = path.join(dir, 'out');
    fs.mkdirSync(out);
    let err: unknown;
    try {
      await extractTar(chunked(fs.readFileSync(tarFile), 4096), out);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ArchiveError);
    expect((err as Error).message).to.include('../evil');
    expect(fs.existsSync(path.join(dir, 'evil'))).to.equal(false);
  });

  it('rejects bytes that are not a tar (bad header checksum) and a tar cut inside a file', async () => {
    const out = path.join(dir, 'out');
    fs.mkdirSync(out);
    const notTar = Buffer.alloc(1024, 65);
    let err: unknown;
    try {
      await extractTar(chunked(notTar, 300), out);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ArchiveError);
    expect((err as Error).message).to.match(/checksum/);

    makeTree();
    const tarFile = path.join(dir, 'a.tar');
    execFileSync('tar', ['-cf', tarFile, '-C', path.join(dir, 'src'), 'top']);
    const cut = fs.readFileSync(tarFile).subarray(0, 512 + 700); // first header, then part of a body or header
    err = undefined;
    try {
      await extractTar(chunked(cut, 256), out);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ArchiveError);
    expect((err as Error).message).to.match(/truncated/);
  });
});

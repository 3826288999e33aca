import { expect } from 'chai';
import * as fs from 'fs';
import * as path from 'path';
import { CorruptDataError } from '../../src/data/cifar10';
import { ChecksumMismatchError, CIFAR10_SHA1, sha1File, verifyChecksums } from '../../src/data/checksums';
import { DownloadProgress, downloadFile, HttpStatusError, TruncatedDownloadError } from '../../src/data/download';
import { extractCifar10 } from '../../src/data/extract';
import { locateCifar10, DatasetNotFoundError, CIFAR10_URL } from '../../src/data/locate';
import { ArchiveError } from '../../src/data/tar';
import { Fixture, hasSystemTar, makeFixture, serveBytes, sha1, startServer, TestServer, tempDir } from '../support/cifar10-fixture';
import { SHARED_CIFAR10, rejection } from '../support/setup';

const ENV_KEYS = ['GRADCAM_CIFAR10_DIR', 'GRADCAM_CACHE_DIR', 'GRADCAM_CIFAR10_URL'] as const;
const quiet = { log: () => undefined, onProgress: () => undefined };

describe('CIFAR-10 fetch: checksums', () => {
  it('sha1File gives the FIPS 180 test vector for "abc" and matches an in-memory hash of a larger file', async () => {
    const dir = tempDir('sha');
    try {
      fs.writeFileSync(path.join(dir, 'abc'), 'abc');
      expect(await sha1File(path.join(dir, 'abc'))).to.equal('a9993e364706816aba3e25717850c26c9cd0d89d');
      const big = Buffer.alloc(3 * (1 << 20) + 17, 0);
      for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
      fs.writeFileSync(path.join(dir, 'big'), big);
      expect(await sha1File(path.join(dir, 'big'))).to.equal(sha1(big));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the real data at ../shared/cifar-10-batches-bin matches the official SHA-1s', async function () {
    if (!fs.existsSync(SHARED_CIFAR10)) {
      this.skip(); // real data absent: nothing to verify against the official sums on this machine
    }
    await verifyChecksums(SHARED_CIFAR10, CIFAR10_SHA1);
    expect(await locateCifar10({ dir: SHARED_CIFAR10, download: false })).to.equal(SHARED_CIFAR10);
  });
});

describe('CIFAR-10 fetch: resumable download', () => {
  const body = Buffer.alloc(200_000);
  for (let i = 0; i < body.length; i++) body[i] = (i * 31 + (i >> 8)) & 255;
  let dir: string;
  let server: TestServer | undefined;

  beforeEach(() => {
    dir = tempDir('download');
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('downloads the whole file, reports monotone progress up to the total, and leaves no .part', async () => {
    server = await startServer(serveBytes(body));
    const dest = path.join(dir, 'f.bin');
    const seen: DownloadProgress[] = [];
    const result = await downloadFile(`${server.url}/f.bin`, dest, { onProgress: (p) => seen.push(p) });
    expect(fs.readFileSync(dest).equals(body)).to.equal(true);
    expect(fs.existsSync(`${dest}.part`)).to.equal(false);
    expect(result).to.deep.equal({ bytes: body.length, resumedFrom: 0 });
    expect(seen[seen.length - 1]).to.include({ bytes: body.length, total: body.length });
    for (let i = 1; i < seen.length; i++) expect(seen[i].bytes).to.be.at.least(seen[i - 1].bytes);
  });

  it('follows a relative redirect', async () => {
    const files = serveBytes(body);
    server = await startServer((req, res, i) => {
      if (req.url === '/old') {
        res.writeHead(302, { location: '/new/f.bin' });
        res.end();
      } else files(req, res, i);
    });
    const dest = path.join(dir, 'f.bin');
    await downloadFile(`${server.url}/old`, dest);
    expect(fs.readFileSync(dest).equals(body)).to.equal(true);
    expect(server.requests.map((r) => r.path)).to.deep.equal(['/old', '/new/f.bin']);
  });

  it('a connection cut midway is a TruncatedDownloadError that keeps the .part; the rerun resumes with Range', async () => {
    server = await startServer(serveBytes(body, { cutAfter: { 0: 70_000 } }));
    const dest = path.join(dir, 'f.bin');
    const err = await rejection(downloadFile(`${server.url}/f.bin`, dest));
    expect(err).to.be.instanceOf(TruncatedDownloadError);
    expect(err.message).to.match(/of 200000 bytes/).and.match(/run the same command again to resume/);
    expect(fs.existsSync(dest)).to.equal(false);
    const kept = fs.statSync(`${dest}.part`).size;
    expect(kept).to.be.above(0).and.at.most(70_000);
    expect((err as TruncatedDownloadError).received).to.equal(kept);
    expect(fs.readFileSync(`${dest}.part`).equals(body.subarray(0, kept))).to.equal(true);

    const result = await downloadFile(`${server.url}/f.bin`, dest);
    expect(server.requests[1].range).to.equal(`bytes=${kept}-`);
    expect(result).to.deep.equal({ bytes: body.length, resumedFrom: kept });
    expect(fs.readFileSync(dest).equals(body)).to.equal(true);
    expect(fs.existsSync(`${dest}.part`)).to.equal(false);
  });

  it('a server that stalls mid-body hits the idle timeout as a TruncatedDownloadError, keeping the .part', async () => {
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-length': body.length });
      res.write(body.subarray(0, 1000)); // ...and never another byte
    });
    const dest = path.join(dir, 'f.bin');
    const err = await rejection(downloadFile(`${server.url}/f.bin`, dest, { idleTimeoutMs: 300 }));
    expect(err).to.be.instanceOf(TruncatedDownloadError);
    expect(err.message).to.include('no data for 0.3 s');
    expect(fs.readFileSync(`${dest}.part`).equals(body.subarray(0, 1000))).to.equal(true);
  });

  it('an abort signal stops the download with the abort reason, keeping the .part for later', async () => {
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-length': body.length });
      res.write(body.subarray(0, 1000));
    });
    const dest = path.join(dir, 'f.bin');
    const controller = new AbortController();
    const err = await rejection(
      downloadFile(`${server.url}/f.bin`, dest, { signal: controller.signal, onProgress: (p) => p.bytes >= 1000 && controller.abort() }),
    );
    expect(err.name).to.equal('AbortError');
    expect(fs.existsSync(dest)).to.equal(false);
    expect(fs.statSync(`${dest}.part`).size).to.equal(1000);
  });

  it('starts over when the server ignores Range, replacing the stale .part bytes', async () => {
    server = await startServer(serveBytes(body, { ignoreRange: true }));
    const dest = path.join(dir, 'f.bin');
    fs.writeFileSync(`${dest}.part`, Buffer.alloc(5000, 0xee)); // wrong bytes that must not survive
    const result = await downloadFile(`${server.url}/f.bin`, dest);
    expect(server.requests[0].range).to.equal('bytes=5000-');
    expect(result.resumedFrom).to.equal(0);
    expect(fs.readFileSync(dest).equals(body)).to.equal(true);
  });

  it('a .part that is already whole (server answers 416) is simply renamed', async () => {
    server = await startServer(serveBytes(body));
    const dest = path.join(dir, 'f.bin');
    fs.writeFileSync(`${dest}.part`, body);
    await downloadFile(`${server.url}/f.bin`, dest);
    expect(fs.readFileSync(dest).equals(body)).to.equal(true);
    expect(server.requests).to.have.length(1);
  });

  it('an HTTP error status is an HttpStatusError naming the status and URL, and writes nothing', async () => {
    server = await startServer((_req, res) => {
      res.writeHead(404);
      res.end('no');
    });
    const dest = path.join(dir, 'f.bin');
    const err = await rejection(downloadFile(`${server.url}/missing.tar.gz`, dest));
    expect(err).to.be.instanceOf(HttpStatusError);
    expect(err.message).to.include('HTTP 404').and.include('/missing.tar.gz');
    expect(fs.readdirSync(dir)).to.deep.equal([]);
  });
});

describe('CIFAR-10 fetch: extraction, verification and lookup', () => {
  let fixture: Fixture;
  let dir: string;
  let server: TestServer | undefined;
  const savedEnv: Partial<Record<(typeof ENV_KEYS)[number], string>> = {};

  before(function () {
    if (!hasSystemTar()) {
      this.skip(); // the fixtures are packed by the system's tar, an independent writer for our reader
    }
    fixture = makeFixture();
  });
  beforeEach(() => {
    dir = tempDir('locate');
    for (const k of ENV_KEYS) {
      savedEnv[k] = process.env[k];
      delete process.env[k];
    }
  });
  afterEach(async () => {
    for (const k of ENV_KEYS) {
      if (savedEnv[k] === undefined) delete process.env[k];
      else process.env[k] = savedEnv[k];
    }
    await server?.close();
    server = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function expectFixtureFiles(folder: string): void {
    for (const [name, bytes] of Object.entries(fixture.files)) {
      expect(fs.readFileSync(path.join(folder, name)).equals(bytes), name).to.equal(true);
    }
  }

  it('downloads from GRADCAM_CIFAR10_URL into the cache, verifies, renames into place and drops the archive', async () => {
    server = await startServer(serveBytes(fixture.archive));
    process.env.GRADCAM_CIFAR10_URL = `${server.url}/cifar-10-binary.tar.gz`;
    const cache = path.join(dir, 'cache');
    const found = await locateCifar10({ cacheDir: cache, expectedSha1: fixture.sha1, ...quiet });
    expect(found).to.equal(path.join(cache, 'cifar-10-batches-bin'));
    expectFixtureFiles(found);
    expect(fs.readdirSync(cache)).to.deep.equal(['cifar-10-batches-bin']); // no archive, .part or temp folder left
    // A second call finds the cache and never touches the network.
    expect(await locateCifar10({ cacheDir: cache, expectedSha1: fixture.sha1, ...quiet })).to.equal(found);
    expect(server.requests).to.have.length(1);
  });

  it('resumes an interrupted archive download on the next call', async () => {
    server = await startServer(serveBytes(fixture.archive, { cutAfter: { 0: Math.floor(fixture.archive.length / 2) } }));
    process.env.GRADCAM_CIFAR10_URL = `${server.url}/a.tar.gz`;
    const cache = path.join(dir, 'cache');
    const err = await rejection(locateCifar10({ cacheDir: cache, expectedSha1: fixture.sha1, ...quiet }));
    expect(err).to.be.instanceOf(TruncatedDownloadError);
    expect(fs.existsSync(path.join(cache, 'cifar-10-batches-bin'))).to.equal(false);
    expect(fs.existsSync(path.join(cache, 'cifar-10-binary.tar.gz.part'))).to.equal(true);
    const found = await locateCifar10({ cacheDir: cache, expectedSha1: fixture.sha1, ...quiet });
    expect(server.requests[1].range).to.match(/^bytes=[1-9]\d*-$/);
    expectFixtureFiles(found);
  });

  it('a checksum mismatch names file, expected and actual sums and the cache folder to delete, and leaves no final folder', async () => {
    server = await startServer(serveBytes(fixture.archive));
    process.env.GRADCAM_CIFAR10_URL = `${server.url}/a.tar.gz`;
    const cache = path.join(dir, 'cache');
    const wrong = { ...fixture.sha1, 'data_batch_3.bin': '0'.repeat(40) };
    const err = await rejection(locateCifar10({ cacheDir: cache, expectedSha1: wrong, ...quiet }));
    expect(err).to.be.instanceOf(ChecksumMismatchError);
    expect(err.message)
      .to.include('data_batch_3.bin')
      .and.include('0'.repeat(40))
      .and.include(fixture.sha1['data_batch_3.bin'])
      .and.include(`delete the folder ${cache} and run again`);
    expect(fs.existsSync(path.join(cache, 'cifar-10-batches-bin'))).to.equal(false);
    expect(fs.readdirSync(cache).filter((n) => n.startsWith('.extract-'))).to.deep.equal([]);
  });

  it('a truncated archive is an ArchiveError and nothing appears under the final name', async () => {
    const cache = path.join(dir, 'cache');
    fs.mkdirSync(cache);
    const archive = path.join(cache, 'cifar-10-binary.tar.gz');
    fs.writeFileSync(archive, fixture.archive.subarray(0, Math.floor(fixture.archive.length * 0.6)));
    const err = await rejection(extractCifar10(archive, cache, { expectedSha1: fixture.sha1 }));
    expect(err).to.be.instanceOf(ArchiveError);
    expect(err.message).to.include(archive).and.include('Delete it and run again');
    expect(fs.readdirSync(cache)).to.deep.equal(['cifar-10-binary.tar.gz']);
  });

  it('the final folder never exists before its checksums pass (watched while extracting)', async () => {
    const cache = path.join(dir, 'cache');
    fs.mkdirSync(cache);
    const archive = path.join(cache, 'cifar-10-binary.tar.gz');
    fs.writeFileSync(archive, fixture.archive);
    const finalDir = path.join(cache, 'cifar-10-batches-bin');
    const states: string[] = [];
    const found = await extractCifar10(archive, cache, {
      expectedSha1: fixture.sha1,
      log: (msg) => states.push(`${msg}: final ${fs.existsSync(finalDir) ? 'exists' : 'absent'}`),
    });
    expect(states).to.deep.equal([`extracting ${archive}: final absent`, 'verifying SHA-1 checksums: final absent']);
    expectFixtureFiles(found);
  });

  it('a missing explicit folder is a DatasetNotFoundError that says how to get the data', async () => {
    const missing = path.join(dir, 'nope');
    const err = await rejection(locateCifar10({ dir: missing, ...quiet }));
    expect(err).to.be.instanceOf(DatasetNotFoundError);
    expect(err.message).to.include(missing).and.include(CIFAR10_URL).and.include('GRADCAM_CIFAR10_DIR').and.include('gradcam');
  });

  it('with download: false and an empty cache, says where it looked instead of downloading', async () => {
    const cache = path.join(dir, 'cache');
    const err = await rejection(locateCifar10({ cacheDir: cache, download: false, ...quiet }));
    expect(err).to.be.instanceOf(DatasetNotFoundError);
    expect(err.message).to.include(path.join(cache, 'cifar-10-batches-bin'));
  });

  it('an explicit folder with a file that is not whole records is a CorruptDataError naming it', async () => {
    const folder = path.join(dir, 'mine');
    fs.mkdirSync(folder);
    for (const [name, bytes] of Object.entries(fixture.files)) fs.writeFileSync(path.join(folder, name), bytes);
    fs.writeFileSync(path.join(folder, 'data_batch_2.bin'), fixture.files['data_batch_2.bin'].subarray(0, 5000));
    const err = await rejection(locateCifar10({ dir: folder, expectedSha1: fixture.sha1, ...quiet }));
    expect(err).to.be.instanceOf(CorruptDataError);
    expect(err.message).to.include('data_batch_2.bin').and.include('5000 bytes');
  });

  it('precedence: dir option > GRADCAM_CIFAR10_DIR > GRADCAM_CACHE_DIR cache > download', async () => {
    const make = (name: string): string => {
      const folder = path.join(dir, name, 'cifar-10-batches-bin');
      fs.mkdirSync(folder, { recursive: true });
      for (const [file, bytes] of Object.entries(fixture.files)) fs.writeFileSync(path.join(folder, file), bytes);
      return folder;
    };
    const byOption = make('option');
    const byEnv = make('env');
    const inCache = make('cache');
    const opts = { expectedSha1: fixture.sha1, download: false, ...quiet };
    process.env.GRADCAM_CIFAR10_DIR = byEnv;
    process.env.GRADCAM_CACHE_DIR = path.dirname(inCache);
    expect(await locateCifar10({ ...opts, dir: byOption })).to.equal(byOption);
    expect(await locateCifar10(opts)).to.equal(byEnv);
    delete process.env.GRADCAM_CIFAR10_DIR;
    expect(await locateCifar10(opts)).to.equal(inCache);
    // An explicit env folder that is missing is an error, never a silent fall-through to the cache.
    process.env.GRADCAM_CIFAR10_DIR = path.join(dir, 'gone');
    expect(await rejection(locateCifar10(opts))).to.be.instanceOf(DatasetNotFoundError);
    // With no folder anywhere, the cache is filled from GRADCAM_CIFAR10_URL.
    delete process.env.GRADCAM_CIFAR10_DIR;
    process.env.GRADCAM_CACHE_DIR = path.join(dir, 'fresh');
    server = await startServer(serveBytes(fixture.archive));
    process.env.GRADCAM_CIFAR10_URL = `${server.url}/a.tar.gz`;
    expect(await locateCifar10({ ...opts, download: true })).to.equal(path.join(dir, 'fresh', 'cifar-10-batches-bin'));
    expect(server.requests).to.have.length(1);
  });
});

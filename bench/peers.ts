/**
 * Ours against the peers people would pick, in one run on one machine: pytorch-grad-cam 1.5.7 used as
 * documented, and the same methods written well in plain PyTorch (bench/peers.py), on a PyTorch twin
 * of the shipped model loaded with its exact weights, on the same CIFAR-10 test images, 2 threads each.
 * Ours and the peer take turns figure by figure (the other idles), so machine load hits both alike;
 * each figure is warmed up, then measured in several rounds; min and median per call are reported.
 * Ratios are peer time / our time: above 1 we are faster. Asserts nothing.
 *   npx tsx bench/peers.ts [--rounds 3] [--batches 1,64] [--only forward,gradcam,...] [--train-seconds 8] [--threads 2]
 * GRADCAM_BACKEND=tensorflow|wasm picks our backend (default: the fastest available).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { describeBackend, initBackend, nativeThreads, setNativeThreads } from '../src/backend';
import { BaseCAM, CamMethodName, createCam, ExplainOptions } from '../src/cam';
import { ExplainPool } from '../src/workers/explain-pool';
import { IMAGE_BYTES, readBatchFile } from '../src/data/cifar10';
import { DataParallelStepper, defaultTrainingThreads } from '../src/model/data-parallel';
import { InferencePool } from '../src/model/inference-pool';
import { loadModel } from '../src/model/io';
import { CIFAR10_ARCHITECTURE, disposeNetwork } from '../src/model/network';
import { train } from '../src/model/train';
import { PeerProcess } from './peer-process';
import { LoadWatch, timeCalls } from './timing';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const MODEL_DIR = path.resolve(__dirname, '../models/cifar10');
/** Threads each side gets: PyTorch's intra-op threads; our worker pools (1 = this thread only). */
const THREADS = Number(arg('threads', '2'));
const rounds = Number(arg('rounds', '3'));
const batches = arg('batches', '1,64').split(',').map(Number);
const only = arg('only', '').split(',').filter(Boolean);
const trainSeconds = Number(arg('train-seconds', '8'));

/** The first 64 CIFAR-10 test images when the data is on disk, else deterministic noise. */
function benchImages(count: number): { pixels: Float32Array; source: string } {
  const candidates = [process.env.GRADCAM_CIFAR10_DIR, path.resolve(__dirname, '../../shared/cifar-10-batches-bin')];
  for (const dir of candidates) {
    const file = dir && path.join(dir, 'test_batch.bin');
    if (file && fs.existsSync(file)) {
      const set = readBatchFile(file);
      return { pixels: Float32Array.from(set.images.subarray(0, count * IMAGE_BYTES)), source: `CIFAR-10 test images 0-${count - 1}` };
    }
  }
  const pixels = new Float32Array(count * IMAGE_BYTES);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 2654435761) >>> 24;
  return { pixels, source: 'synthetic images (no CIFAR-10 on disk)' };
}

interface Stats { min: number; median: number }

function stats(ms: number[]): Stats {
  const s = [...ms].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor((s.length - 1) / 2)] };
}

/** One row of the table: our way to do it and the peers' ways (figure names of bench/peers.py). */
interface Figure {
  key: string;
  label: string;
  ours: (x: tf.Tensor4D) => Promise<void> | void;
  peers: { label: string; figure: string }[];
  /** Calls per round at batch 1 and 64; expensive figures fewer. */
  repeats: [number, number];
  /** Only at these batches (2-thread rows: a batch of 1 has nothing to split). */
  batches?: number[];
}

interface Row { label: string; batch: number; ours: Stats; peers: { label: string; stats: Stats | string }[] }

function explainer(cam: BaseCAM, options: ExplainOptions): (x: tf.Tensor4D) => void {
  return (x) => void cam.explain(x, options);
}

const watch = LoadWatch.start();

function ratioText(peer: Stats | string, ours: Stats): string {
  if (typeof peer === 'string') return peer;
  return `${watch.ratio(peer.min / ours.min)} (min) ${watch.ratio(peer.median / ours.median)} (median)`;
}

async function trainingRow(peer: PeerProcess): Promise<Row> {
  const batch = 64;
  const steps = 3;
  const set = {
    images: Uint8Array.from({ length: batch * steps * IMAGE_BYTES }, (_, i) => (i * 2654435761) >>> 24),
    labels: Uint8Array.from({ length: batch * steps }, (_, i) => i % 10),
    count: batch * steps,
  };
  // As `gradcam train` does by default: data-parallel workers on wasm, this thread on tfjs-node.
  const workers = defaultTrainingThreads(tf.getBackend(), THREADS);
  const stepper = workers > 1 ? await DataParallelStepper.create(CIFAR10_ARCHITECTURE, workers) : undefined;
  const oursIps: number[] = [];
  const peerIps: number[] = [];
  let peerError = '';
  // Training figures are images/s; stored as ms per image so the ratio reads like the others.
  for (let r = 0; r <= rounds; r++) {
    const started = Date.now();
    let ips = 0;
    while (Date.now() - started < trainSeconds * 1000) {
      const res = await train(set, set, { epochs: 1, batchSize: batch, limitTest: 1, parallel: stepper });
      ips = res.state.history[0].imagesPerSecond;
      disposeNetwork(res.params);
    }
    const p = await peer.train(batch, trainSeconds);
    watch.sample();
    if (r === 0) continue; // warm-up round
    oursIps.push(ips);
    if (typeof p === 'string') peerError = p;
    else peerIps.push(p);
  }
  await stepper?.close();
  const perImage = (ips: number[]) => stats(ips.map((v) => 1000 / v));
  return { label: 'training (img/s)', batch, ours: perImage(oursIps), peers: [{ label: 'torch', stats: peerError || perImage(peerIps) }] };
}

async function main(): Promise<void> {
  const info = await initBackend({ quiet: true });
  console.log(watch.header());
  // The default call: the native kernels split over THREADS cores from this thread, as PyTorch's intra-op threads do.
  setNativeThreads(THREADS);
  console.log(describeBackend(info));
  console.log(`ours: explain() and predict() as a user calls them, on this thread${info.nativeConvolutions?.active ? ` (native kernels on ${nativeThreads()} threads)` : ''}; "(N thr.)" rows split the batch over a worker pool`);
  const peer = PeerProcess.start();
  if (typeof peer === 'string') throw new Error(peer);
  const images = benchImages(64);
  const imagesFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gradcam-peers-')), 'images.f32');
  fs.writeFileSync(imagesFile, new Uint8Array(images.pixels.buffer));
  const peerInfo = await peer.load(MODEL_DIR, imagesFile, 64, THREADS);
  console.log(`peer: PyTorch ${peerInfo.torch}, pytorch-grad-cam ${peerInfo.gradcam}, ${peerInfo.threads} threads · ${images.source}`);

  const model = await loadModel(MODEL_DIR);
  const all = tf.tensor4d(images.pixels, [64, 32, 32, 3]);
  // The twin must compute what ours computes, or the ratios compare different work.
  const ours = (model.predict(all) as tf.Tensor).dataSync();
  let worst = 0;
  let scale = 0;
  ours.forEach((v, i) => {
    worst = Math.max(worst, Math.abs(v - peerInfo.logits[i]));
    scale = Math.max(scale, Math.abs(peerInfo.logits[i]));
  });
  console.log(`logits, ours vs PyTorch twin on the 64 images: max |difference| ${worst.toExponential(2)} (largest logit ${scale.toFixed(2)})`);
  if (worst > 1e-3 * scale) throw new Error('the PyTorch twin does not compute what ours computes; its timings would compare different work');

  const pool = info.name === 'wasm' && THREADS > 1 ? await InferencePool.create(MODEL_DIR, THREADS) : undefined;
  const gradcam = createCam(model);
  // Explanations on both cores: one pool per method, a batch split over this thread and a worker.
  const pools: ExplainPool[] = [];
  const pooled = async (method: CamMethodName) => {
    const p = await ExplainPool.create(MODEL_DIR, THREADS, { method });
    pools.push(p);
    return (options: ExplainOptions) => async (x: tf.Tensor4D) => void (await p.explain(x.dataSync() as Float32Array, x.shape[0], options));
  };
  // Only on wasm, which tfjs keeps single-threaded in Node; TensorFlow's own kernels use every core.
  const [gradcamPool, gradcamPlusPlusPool, scorecamPool] = info.name === 'wasm' && THREADS > 1 && batches.some((b) => b > 1)
    ? await Promise.all((['gradcam', 'gradcam++', 'scorecam'] as CamMethodName[]).map(pooled))
    : [undefined, undefined, undefined];
  const withPool = (f: Figure, pool: ((o: ExplainOptions) => Figure['ours']) | undefined, options: ExplainOptions): Figure[] =>
    [f, ...(pool ? [{ ...f, label: `${f.label} (${THREADS} thr.)`, ours: pool(options), batches: batches.filter((b) => b > 1) }] : [])];
  const candidates: Figure[] = [
    { key: 'forward', label: 'forward', ours: (x) => void tf.tidy(() => (model.predict(x, { batchSize: x.shape[0] }) as tf.Tensor).dataSync()), peers: [{ label: 'torch', figure: 'forward' }], repeats: [20, 5] },
    ...(pool ? [{
      key: 'forward', label: `forward (${THREADS} thr.)`, ours: async (x: tf.Tensor4D) => void (await pool.predict(x.dataSync() as Float32Array, x.shape[0])),
      peers: [{ label: 'torch', figure: 'forward' }], repeats: [20, 5], batches: batches.filter((b) => b > 1),
    } satisfies Figure] : []),
    ...withPool({ key: 'gradcam', label: 'Grad-CAM, predicted class', ours: explainer(gradcam, {}), peers: [{ label: 'pytorch-grad-cam', figure: 'gradcam' }, { label: 'torch', figure: 'gradcam/torch' }], repeats: [20, 5] }, gradcamPool, {}),
    ...withPool({ key: 'gradcam-all', label: 'Grad-CAM, all 10 classes', ours: explainer(gradcam, { target: 'all' }), peers: [{ label: 'pytorch-grad-cam', figure: 'gradcam-all/pytorch-grad-cam' }, { label: 'torch', figure: 'gradcam-all/torch' }], repeats: [5, 2] }, gradcamPool, { target: 'all' }),
    ...withPool({ key: 'guided', label: 'Guided Grad-CAM', ours: explainer(gradcam, { guided: true }), peers: [{ label: 'pytorch-grad-cam', figure: 'guided/pytorch-grad-cam' }, { label: 'torch', figure: 'guided/torch' }], repeats: [10, 1] }, gradcamPool, { guided: true }),
    ...withPool({ key: 'gradcam++', label: 'Grad-CAM++', ours: explainer(createCam(model, { method: 'gradcam++' }), {}), peers: [{ label: 'pytorch-grad-cam', figure: 'gradcam++' }, { label: 'torch', figure: 'gradcam++/torch' }], repeats: [20, 5] }, gradcamPlusPlusPool, {}),
    ...withPool({ key: 'scorecam', label: 'Score-CAM', ours: explainer(createCam(model, { method: 'scorecam' }), {}), peers: [{ label: 'pytorch-grad-cam', figure: 'scorecam' }, { label: 'torch', figure: 'scorecam/torch' }], repeats: [3, 1] }, scorecamPool, {}),
  ];
  const figures = candidates.filter((f) => !only.length || only.includes(f.key));

  const rows: Row[] = [];
  for (const batch of batches) {
    const x = tf.slice(all, 0, batch) as tf.Tensor4D;
    for (const f of figures.filter((g) => !g.batches || g.batches.includes(batch))) {
      const repeats = f.repeats[batch === 1 ? 0 : 1];
      // Warm-up, both sides: PyTorch's first few dozen small calls are several times slower; ours
      // compiles nothing but grows wasm memory. One call is enough for figures that take seconds.
      const warmup = repeats === 1 ? 1 : batch === 1 ? 30 : 3;
      await timeCalls(() => f.ours(x), warmup);
      const ourMs: number[] = [];
      const peerMs = f.peers.map(() => [] as number[]);
      const peerErr: string[] = f.peers.map(() => '');
      for (let r = 0; r < rounds; r++) {
        ourMs.push(...(await timeCalls(() => f.ours(x), repeats)));
        for (const [k, p] of f.peers.entries()) {
          const ms = await peer.time(p.figure, batch, repeats, warmup);
          if (typeof ms === 'string') peerErr[k] = ms;
          else peerMs[k].push(...ms);
        }
        watch.sample();
      }
      const row: Row = { label: f.label, batch, ours: stats(ourMs), peers: f.peers.map((p, k) => ({ label: p.label, stats: peerErr[k] || stats(peerMs[k]) })) };
      rows.push(row);
      const peersText = row.peers.map((p) => `${p.label} ${typeof p.stats === 'string' ? p.stats : `${p.stats.min.toFixed(1)}/${p.stats.median.toFixed(1)} ms, ratio ${ratioText(p.stats, row.ours)}`}`).join(' · ');
      console.log(`batch ${String(batch).padStart(2)} ${f.label.padEnd(26)} ours ${row.ours.min.toFixed(1)}/${row.ours.median.toFixed(1)} ms (min/median) · ${peersText}`);
    }
    x.dispose();
  }
  if (!only.length || only.includes('train')) {
    const row = await trainingRow(peer);
    rows.push(row);
    const p = row.peers[0].stats;
    console.log(`batch 64 training, ${THREADS} threads each: ours ${(1000 / row.ours.min).toFixed(0)}/${(1000 / row.ours.median).toFixed(0)} img/s (best/median) · ` +
      `torch ${typeof p === 'string' ? p : `${(1000 / p.min).toFixed(0)}/${(1000 / p.median).toFixed(0)} img/s, ratio ${ratioText(p, row.ours)}`}`);
  }

  console.log(`\n${watch.footer()}\nmarkdown (ratios = peer time / our time, from medians; min in brackets):\n`);
  console.log(`| | batch | ours | pytorch-grad-cam | ${watch.ratioTitle('pgc/ours')} | PyTorch ${peerInfo.torch} written well | ${watch.ratioTitle('torch/ours')} |`);
  console.log('|---|---|---|---|---|---|---|');
  const cell = (s: Stats | string | undefined, ours: Stats, training: boolean): [string, string] => {
    if (s === undefined) return ['', ''];
    if (typeof s === 'string') return ['error', ''];
    const value = training ? `${(1000 / s.median).toFixed(0)} img/s` : `${s.median.toFixed(1)} ms`;
    return [value, `**${watch.ratio(s.median / ours.median)}** (${(s.min / ours.min).toFixed(2)})`];
  };
  for (const row of rows) {
    const training = row.label.startsWith('training');
    const [pv, pr] = cell(row.peers.find((p) => p.label === 'pytorch-grad-cam')?.stats, row.ours, training);
    const [tv, tr] = cell(row.peers.find((p) => p.label === 'torch')?.stats, row.ours, training);
    const ourValue = training ? `${(1000 / row.ours.median).toFixed(0)} img/s` : `${row.ours.median.toFixed(1)} ms`;
    console.log(`| ${row.label} | ${row.batch} | ${ourValue} | ${pv} | ${pr} | ${tv} | ${tr} |`);
  }
  all.dispose();
  model.dispose();
  await pool?.close();
  await Promise.all(pools.map((p) => p.close()));
  peer.close();
  fs.rmSync(path.dirname(imagesFile), { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

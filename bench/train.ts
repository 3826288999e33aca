/**
 * Training and inference speed of the shipped architecture on every available backend, against
 * the same network in PyTorch on CPU (bench/torch_peer.py in .venv-peers) measured in the same run,
 * ours and PyTorch in alternating rounds (--rounds, default 2: a change in load hits both). Prints
 * the CPU and the load before and after; ratios taken at load >= 1 are marked provisional.
 *   npx tsx bench/train.ts [--seconds 15] [--rounds 2] [--backends wasm,cpu] [--batches 64,128]
 * Also prints the process's peak RSS and tf.memory().numTensors before/after a short epoch.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { BackendName, initBackend, loadNative, NATIVE_ENV, nativeThreads, registerWasmConvGradients, setNativeKernelsEnabled } from '../src/backend';
import { IMAGE_BYTES } from '../src/data/cifar10';
import { foldToLayersModel } from '../src/model/fold';
import { CIFAR10_ARCHITECTURE, disposeNetwork, initNetwork } from '../src/model/network';
import { DataParallelStepper } from '../src/model/data-parallel';
import { train } from '../src/model/train';
import { PEERS_PYTHON } from './peer-process';
import { LoadWatch, median } from './timing';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const seconds = Number(arg('seconds', '15'));
const batches = arg('batches', '64,128').split(',').map(Number);
const rounds = Number(arg('rounds', '2'));
const watch = LoadWatch.start();

function syntheticSet(n: number) {
  const images = new Uint8Array(n * IMAGE_BYTES);
  for (let i = 0; i < images.length; i++) images[i] = (i * 2654435761) >>> 24;
  return { images, labels: Uint8Array.from({ length: n }, (_, i) => i % 10), count: n };
}

/** Images/s of steady-state training: whole epochs of a few batches after one warm-up epoch. */
async function trainingSpeed(batch: number, parallel?: DataParallelStepper): Promise<number> {
  const steps = 3;
  const set = syntheticSet(batch * steps);
  let ips = 0;
  const started = Date.now();
  for (let epoch = 0; epoch < 100 && (epoch < 2 || Date.now() - started < seconds * 1000); epoch++) {
    const r = await train(set, set, { epochs: 1, batchSize: batch, limitTest: 1, parallel });
    if (epoch > 0) ips = r.state.history[0].imagesPerSecond;
    disposeNetwork(r.params);
  }
  return ips;
}

function inferenceSpeed(batch: number): number {
  const params = initNetwork();
  const model = foldToLayersModel(params);
  const x = tf.randomUniform([batch, 32, 32, 3], 0, 255);
  tf.dispose(model.predict(x));
  let n = 0;
  const started = Date.now();
  while (n < 3 || Date.now() - started < (seconds * 1000) / 2) {
    (model.predict(x) as tf.Tensor).dataSync();
    n++;
  }
  const ips = (n * batch) / ((Date.now() - started) / 1000);
  tf.dispose(x);
  model.dispose();
  disposeNetwork(params);
  return ips;
}

interface TorchFigures { train_images_per_second: number; infer_images_per_second: number; threads: number; torch: string }

function torchPeer(batch: number): TorchFigures | string {
  if (!fs.existsSync(PEERS_PYTHON)) return `skipped: no ${PEERS_PYTHON}; make it with python/venv peers`;
  const r = spawnSync(PEERS_PYTHON, [path.join(__dirname, 'torch_peer.py'), String(batch), String(seconds)], { encoding: 'utf8' });
  if (r.status !== 0) return `skipped: PyTorch peer failed (${(r.stderr || '').trim().split('\n').pop()}); run python/venv peers`;
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as TorchFigures;
}

async function memoryCheck(): Promise<void> {
  await tf.setBackend(available[0]);
  const set = syntheticSet(50000); // the full training set's size, in memory as the trainer holds it
  const before = tf.memory().numTensors;
  const r = await train(set, set, { epochs: 1, batchSize: 64, limitTrain: 64 * 20, limitTest: 200 });
  disposeNetwork(r.params);
  const after = tf.memory().numTensors;
  const peak = process.resourceUsage().maxRSS / 1024;
  console.log(`\nmemory: numTensors before an epoch ${before}, after ${after} (${after === before ? 'no growth' : 'GROWTH'}); peak RSS ${peak.toFixed(0)} MB (limit 3072 MB)`);
}

const available: BackendName[] = [];

(async () => {
  await initBackend({ quiet: true });
  const wanted = arg('backends', 'tensorflow,wasm,cpu').split(',') as BackendName[];
  for (const name of wanted) {
    try {
      if (name === 'tensorflow') require('@tensorflow/tfjs-node');
      if (await tf.setBackend(name)) available.push(name);
    } catch {
      console.log(`${name}: not available`);
    }
  }
  registerWasmConvGradients();
  const native = loadNative();
  console.log(`backends measured: ${available.join(', ')}; ${seconds}s per figure`);
  console.log(`native convolutions on wasm: ${native.loaded ? native.blas.trim() : native.reason}`);
  console.log(watch.header());
  const threads = os.cpus().length;
  // Every variant of ours: on wasm with the native convolution addon (its kernels split over the
  // cores from this thread) and without it (XNNPACK alone), each on this thread and with a
  // data-parallel worker thread per core (tfjs keeps wasm single-threaded in Node). The pure-JS cpu backend trains at ~2 img/s: inference places it.
  const variants = available.flatMap((name): { name: BackendName; label: string; native: boolean }[] => (name === 'wasm'
    ? [...(native.loaded ? [{ name, label: `wasm+native (${nativeThreads()} thr.)`, native: true }] : []), { name, label: 'wasm', native: false }]
    : [{ name, label: name, native: false }]));
  for (const batch of batches) {
    const ours = new Map<string, { train: number[]; infer: number[]; parallel: number[] }>();
    const peerRuns: TorchFigures[] = [];
    let peerError = '';
    // Rounds alternate: every variant of ours, then PyTorch, then ours again.
    for (let r = 0; r < rounds; r++) {
      for (const variant of variants) {
        await tf.setBackend(variant.name);
        if (variant.name === 'wasm') setNativeKernelsEnabled(variant.native);
        const figures = ours.get(variant.label) ?? { train: [], infer: [], parallel: [] };
        ours.set(variant.label, figures);
        figures.train.push(variant.name === 'cpu' ? NaN : await trainingSpeed(batch));
        figures.infer.push(inferenceSpeed(batch));
        if (variant.name === 'wasm' && threads > 1) {
          // Workers read the switch from the environment when they load the backend.
          process.env[NATIVE_ENV] = variant.native ? '1' : '0';
          const stepper = await DataParallelStepper.create(CIFAR10_ARCHITECTURE, threads);
          figures.parallel.push(await trainingSpeed(batch, stepper));
          await stepper.close();
        }
        setNativeKernelsEnabled(true);
        delete process.env[NATIVE_ENV];
      }
      const p = peerError ? peerError : torchPeer(batch);
      if (typeof p === 'string') peerError = p;
      else peerRuns.push(p);
      watch.sample();
    }
    const peer = peerError || {
      ...peerRuns[0],
      train_images_per_second: median(peerRuns.map((p) => p.train_images_per_second)),
      infer_images_per_second: median(peerRuns.map((p) => p.infer_images_per_second)),
    };
    const peerText = typeof peer === 'string' ? peer : `torch ${peer.torch} (${peer.threads} threads): train ${peer.train_images_per_second.toFixed(0)} img/s, inference ${peer.infer_images_per_second.toFixed(0)} img/s`;
    console.log(`\nbatch ${batch}, medians of ${rounds} alternating rounds: ${peerText}`);
    const torchTrain = typeof peer === 'string' ? undefined : peer.train_images_per_second;
    const torchInfer = typeof peer === 'string' ? undefined : peer.infer_images_per_second;
    const ratio = (a: number, b: number | undefined) => (b && Number.isFinite(a) ? watch.ratio(a / b) : 'n/a');
    for (const [label, f] of ours) {
      const trainIps = median(f.train);
      const inferIps = median(f.infer);
      console.log(
        `  ${label.padEnd(14)} train ${Number.isFinite(trainIps) ? trainIps.toFixed(0) : '(skipped)'} img/s (tfjs/torch ${ratio(trainIps, torchTrain)}), ` +
          `inference ${inferIps.toFixed(0)} img/s (tfjs/torch ${ratio(inferIps, torchInfer)})`,
      );
      if (f.parallel.length) {
        const ips = median(f.parallel);
        console.log(`  ${`${label} x${threads}`.padEnd(14)} train ${ips.toFixed(0)} img/s with data-parallel worker threads (tfjs/torch ${ratio(ips, torchTrain)})`);
      }
    }
  }
  console.log(`\n${watch.footer()}`);
  await memoryCheck();
})();

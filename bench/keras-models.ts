/**
 * ImageNet-size Keras applications (MobileNetV2 and ResNet50 at 224x224, InceptionV3 at 299x299;
 * random weights with a fixed seed, 5 classes, batch 1), timed here and in TensorFlow 2.19 in the
 * same run, ours and TensorFlow in alternating rounds: forward (tfjs's model.predict, and the
 * explanation's own fused pass), Grad-CAM of all classes, Guided Grad-CAM of the predicted class. Prints the CPU and the load; ratios taken at load >= 1 are
 * provisional. An explanation's cost against our forward is paired: each of our turns alternates fused
 * forward and explanation call by call, and the ratio is the median over rounds of their medians'
 * ratio, so that a slow minute of this VM lands on both (figures timed minutes apart moved it 15-30%). The models are made once by python/keras_bench.py into bench/out/keras-models/
 * (git-ignored; about 550 MB for the three, layers and graph formats and Keras's .h5) and reused.
 * Needs the Keras environment: python/venv keras.
 *   npx tsx bench/keras-models.ts [--models mobilenet_v2,resnet50,inception_v3] [--rounds 5] [--repeats 5]
 *                                 [--backends wasm,tensorflow] [--format layers|graph]
 * --backends runs this script once per backend (tensorflow through the .ci/tfjs-node overlay).
 */
import { ChildProcessWithoutNullStreams, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as readline from 'readline';
import * as tf from '@tensorflow/tfjs';
import { describeBackend, initBackend } from '../src/backend';
import { createCam, explain } from '../src/cam';
import { loadModel } from '../src/model/io';
import { loadGraphModelFromDir } from '../src/model/graph-model-io';
import { KERAS_PYTHON } from './keras-mobilenet';
import { alternate, LOAD_BEFORE_ENV, LoadWatch, loadNow, median, timeCalls } from './timing';

const ROOT = path.resolve(__dirname, '..');
const CACHE = path.join(ROOT, 'bench', 'out', 'keras-models');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const models = arg('models', 'mobilenet_v2,resnet50,inception_v3').split(',');
const rounds = Number(arg('rounds', '5'));
const repeats = Number(arg('repeats', '5'));
const format = arg('format', 'layers');
/** Calls before timing, the same for both sides: steady state, not the first calls (ours settled after ~10). */
const WARMUP = Number(arg('warmup', '8'));
/** Shortest turn, in ms of our calls (see `calls` below). */
const MIN_TURN_MS = Number(arg('min-turn-ms', '300'));

/** DIR/NAME with layers/, graph/ and model.h5, made by keras_bench.py when missing. */
function cachedModel(name: string): string {
  const dir = path.join(CACHE, name);
  if (fs.existsSync(path.join(dir, 'layers', 'model.json')) && fs.existsSync(path.join(dir, 'model.h5'))) return dir;
  console.log(`making ${name} (Keras, random weights, seed 0) into ${path.relative(ROOT, dir)} ...`);
  const r = spawnSync(KERAS_PYTHON, [path.join(ROOT, 'python', 'keras_bench.py'), '--make', name, '--cache', CACHE], {
    encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
  });
  if (r.status !== 0) throw new Error(`python/keras_bench.py --make ${name} failed:\n${r.stderr.slice(-3000)}`);
  return dir;
}

/** TensorFlow's side: keras_bench.py --serve, spoken to in JSON lines; idle while ours runs. */
class TensorFlowPeer {
  private readonly replies: ((r: Record<string, unknown>) => void)[] = [];
  private stderr = '';
  private readonly child: ChildProcessWithoutNullStreams;

  constructor() {
    this.child = spawn(KERAS_PYTHON, [path.join(ROOT, 'python', 'keras_bench.py'), '--serve', '--threads', '2'], {
      stdio: 'pipe', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
    });
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => this.replies.shift()?.(JSON.parse(line) as Record<string, unknown>));
    this.child.stderr.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-3000)));
    this.child.on('exit', (code) => {
      for (const r of this.replies.splice(0)) r({ error: `TensorFlow peer exited (${code}): ${this.stderr.trim().split('\n').pop() ?? ''}` });
    });
  }

  request(message: Record<string, unknown>): Promise<Record<string, unknown>> {
    return new Promise((resolve) => {
      this.replies.push(resolve);
      this.child.stdin.write(`${JSON.stringify(message)}\n`);
    });
  }

  close(): void {
    this.child.stdin.end();
  }
}

interface Figure { key: string; label: string; ours: () => void }

function fmt(ms: number[] | string): string {
  return typeof ms === 'string' ? ms : `${median(ms).toFixed(1)} (min ${Math.min(...ms).toFixed(1)})`;
}

async function benchModel(name: string, peer: TensorFlowPeer, watch: LoadWatch, backendLabel: string): Promise<void> {
  const dir = cachedModel(name);
  const about = JSON.parse(fs.readFileSync(path.join(dir, 'about.json'), 'utf8')) as { size: number; layer: string; classes: number };
  const loaded = await peer.request({ cmd: 'load', dir, name });
  if (loaded.error) throw new Error(String(loaded.error));
  const model = format === 'graph' ? await loadGraphModelFromDir(path.join(dir, 'graph')) : await loadModel(path.join(dir, 'layers'));
  const x = tf.randomUniform([1, about.size, about.size, 3], -1, 1, 'float32', 0) as tf.Tensor4D;
  const pixels = [tf.squeeze(x, [0]) as tf.Tensor3D];
  // The explanation's own forward pass (fused chains), beside tfjs's model.predict (layer by layer).
  const split = createCam(model).split;
  const figures: Figure[] = [
    { key: 'forward', label: 'forward (model.predict)', ours: () => tf.tidy(() => void (model.predict(x) as tf.Tensor).dataSync()) },
    { key: 'forward', label: 'forward as explain() runs it', ours: () => tf.tidy(() => void split.full(x, false).scores.dataSync()) },
    { key: 'gradcam-all', label: `Grad-CAM, all ${about.classes} classes`, ours: () => void explain(model, pixels, { target: 'all' }) },
    { key: 'guided', label: 'Guided Grad-CAM, predicted class', ours: () => void explain(model, pixels, { target: 'predicted', guided: true }) },
  ];
  console.log(`\n${name} ${about.size}x${about.size}, ${about.classes} classes, batch 1, ${format} model; ours on ${backendLabel}, TensorFlow ${String(loaded.tensorflow)} (2 threads); ms, median of ${rounds} alternating rounds x ${repeats}+ calls (at least ${MIN_TURN_MS} ms a turn)`);
  console.log(`| | ours | / model.predict | / fused forward | TensorFlow | ${watch.ratioTitle('speed ratio ours/TF')} |`);
  console.log('|---|---|---|---|---|---|');
  const forwards: number[] = []; // model.predict, then the explanation's fused pass
  const fusedForward = figures[1];
  let forwardCalls = repeats;
  for (const f of figures) {
    const warm = await timeCalls(f.ours, WARMUP); // warm-up: kernels, wasm memory, the recycled output arrays
    // At least MIN_TURN_MS of calls per turn, the same count for both sides: a 20 ms figure
    // (MobileNetV2) gets 15 samples a turn, not 5, so one slow call on this VM moves its median less.
    const calls = Math.max(repeats, Math.ceil(MIN_TURN_MS / Math.max(1, median(warm.slice(-3)))));
    if (f === fusedForward) forwardCalls = calls;
    const paired: number[] = []; // per round: this figure's median / the fused forward's, timed just before
    const [ours, theirs] = await alternate([
      async () => {
        if (f.key === 'forward') return timeCalls(f.ours, calls);
        // Call by call, forward then explanation: the first calls after the pause (threads waking)
        // and any slow stretch fall on both alike.
        const forward: number[] = [];
        const mine: number[] = [];
        for (let i = 0; i < Math.max(calls, forwardCalls); i++) {
          if (i < forwardCalls) forward.push(...(await timeCalls(fusedForward.ours, 1)));
          if (i < calls) mine.push(...(await timeCalls(f.ours, 1)));
        }
        paired.push(median(mine) / median(forward));
        return mine;
      },
      async () => {
        const r = await peer.request({ cmd: 'time', figure: f.key, repeats: calls, warmup: WARMUP });
        return r.error ? String(r.error) : (r.ms as number[]);
      },
    ], rounds, watch);
    const oursMs = ours as number[];
    if (f.key === 'forward') forwards.push(median(oursMs));
    const ratio = typeof theirs === 'string' ? '' : watch.ratio(median(theirs) / median(oursMs));
    const per = (i: number) => (forwards[i] ? `${(median(oursMs) / forwards[i]).toFixed(2)}x` : '');
    const perForward = paired.length > 0 ? `${median(paired).toFixed(2)}x (paired)` : per(1);
    console.log(`| ${f.label} | ${fmt(oursMs)} | ${per(0)} | ${perForward} | ${fmt(theirs)} | ${ratio} |`);
  }
  tf.dispose([x, ...pixels]);
  model.dispose();
}

/** Runs this script again under each backend (the tensorflow one with the .ci/tfjs-node overlay). */
function perBackend(backends: string[]): void {
  // The load before the first run is the machine's; before a later one it is mostly our previous run's.
  const before = String(loadNow());
  for (const backend of backends) {
    const env: NodeJS.ProcessEnv = { ...process.env, GRADCAM_BACKEND: backend, GRADCAM_KERAS_BENCH_CHILD: '1', [LOAD_BEFORE_ENV]: before };
    if (backend === 'tensorflow') {
      const overlay = spawnSync('bash', [path.join(ROOT, '.ci', 'tfjs-node')], { encoding: 'utf8' });
      if (overlay.status !== 0) {
        console.log(`\ntensorflow backend skipped: .ci/tfjs-node failed: ${overlay.stderr.trim().split('\n').slice(-3).join(' ')}`);
        continue;
      }
      env.NODE_PATH = `${overlay.stdout.trim()}:${path.join(ROOT, 'node_modules')}`;
    }
    const args = process.argv.slice(1).filter((a, i, all) => a !== '--backends' && all[i - 1] !== '--backends');
    spawnSync(process.execPath, [...process.execArgv, ...args], { stdio: 'inherit', env });
  }
}

async function main(): Promise<void> {
  const backends = arg('backends', '');
  if (backends && !process.env.GRADCAM_KERAS_BENCH_CHILD) {
    perBackend(backends.split(','));
    return;
  }
  if (!fs.existsSync(KERAS_PYTHON)) {
    console.log(`skipped: ${KERAS_PYTHON} is missing; make it with \`python/venv keras\``);
    return;
  }
  const watch = LoadWatch.start();
  console.log(watch.header());
  const info = await initBackend({ quiet: true });
  console.log(describeBackend(info));
  const backendLabel = `${info.name}${info.nativeConvolutions?.active ? ' + native' : ''}`;
  const peer = new TensorFlowPeer();
  try {
    for (const name of models) await benchModel(name, peer, watch, backendLabel);
  } finally {
    peer.close();
  }
  console.log(`\nGoals (issue 23, quiet machine): forward >= 0.5x TensorFlow on wasm + native, >= 0.8x on tfjs-node; Grad-CAM of all classes <= 1.3x our forward; Guided Grad-CAM <= 2.5x our forward.`);
  console.log(watch.footer());
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

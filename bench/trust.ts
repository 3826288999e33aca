/**
 * The cost of each faithfulness metric per image on the shipped model, beside pytorch-grad-cam
 * 1.5.7's ROADCombined on the same weights, measured in the same run (.venv-peers, made by
 * `python/venv peers`; skipped with a note when absent). Also Score-CAM for target 'all', shared
 * masked passes against one target at a time. Prints milliseconds per image and ratios, with the CPU
 * and load; ROAD alternates ours and the peer over two rounds, and loaded ratios are marked provisional.
 * Run: npx tsx bench/trust.ts [images=32]
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend';
import { explain } from '../src/cam';
import { confidenceChange, deletionInsertion, heatmapsOf, modelRandomisation, probabilityScorer, road } from '../src/metrics';
import { loadModel } from '../src/model/io';
import { PEERS_PYTHON } from './peer-process';
import { LoadWatch, median } from './timing';

const ROOT = path.resolve(__dirname, '..');

function timed<T>(fn: () => T): [T, number] {
  const t0 = performance.now();
  const r = fn();
  return [r, performance.now() - t0];
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 32);
  const watch = LoadWatch.start();
  console.log(watch.header());
  const info = await initBackend({ quiet: true });
  const model = await loadModel(path.join(ROOT, 'models/cifar10'));
  const images = tf.tidy(() => tf.mul(tf.randomUniform([n, 32, 32, 3], 0, 1, 'float32', 0), 255) as tf.Tensor4D);
  const scorer = probabilityScorer(model);
  explain(model, tf.slice(images, [0], [2])); // warm-up
  const [e, camMs] = timed(() => explain(model, images));
  const maps = heatmapsOf(e);
  const inputs = { images, maps, classes: e.images.map((im) => im.predicted) };
  const rows: [string, number][] = [['Grad-CAM maps', camMs]];
  rows.push(['deletion (32 steps)', timed(() => deletionInsertion(scorer, inputs, { mode: 'deletion' }))[1]]);
  rows.push(['insertion (32 steps)', timed(() => deletionInsertion(scorer, inputs, { mode: 'insertion' }))[1]]);
  const roadRounds = [timed(() => road(scorer, inputs))[1]];
  const roadMs = () => median(roadRounds);
  rows.push(['ROAD combined (9 percentiles)', roadRounds[0]]);
  rows.push(['average drop / increase', timed(() => confidenceChange(scorer, inputs))[1]]);
  const t0 = performance.now();
  await modelRandomisation(model, images, inputs.classes, { methods: ['gradcam'], modes: ['cascading'] });
  rows.push(['randomisation, Grad-CAM, cascading (7 layers)', performance.now() - t0]);
  console.log(`${info.name}${info.nativeConvolutions?.active ? ' + native' : ''}, ${n} random 32x32 images, shipped model`);
  for (const [name, ms] of rows) console.log(`${name.padEnd(48)} ${(ms / n).toFixed(1).padStart(8)} ms/image`);

  const python = PEERS_PYTHON;
  if (fs.existsSync(python)) {
    // Alternating: the peer, ours again, the peer again (ROAD's first round of ours is above).
    let stderr = '';
    const peerRoad = (): string => {
      const run = spawnSync(python, [path.join(ROOT, 'test/fixtures/pytorch-grad-cam/make_fixtures.py'), '--time-road', String(n)], { encoding: 'utf8' });
      watch.sample();
      stderr = run.stderr;
      return run.stdout.trim().split('\n').pop() ?? '';
    };
    const first = peerRoad();
    roadRounds.push(timed(() => road(scorer, inputs))[1]);
    const second = peerRoad();
    try {
      const runs = [first, second].map((line) => JSON.parse(line) as { road_combined_ms_per_image: number; gradcam_ms_per_image: number; threads: number });
      const peer = { ...runs[0], road_combined_ms_per_image: median(runs.map((r) => r.road_combined_ms_per_image)), gradcam_ms_per_image: median(runs.map((r) => r.gradcam_ms_per_image)) };
      console.log(`pytorch-grad-cam 1.5.7 (torch, ${peer.threads} threads): Grad-CAM ${peer.gradcam_ms_per_image.toFixed(1)} ms/image, ROADCombined ${peer.road_combined_ms_per_image.toFixed(1)} ms/image`);
      console.log(`ROAD ratio gradcam-ts / pytorch-grad-cam: ${watch.ratio(roadMs() / n / peer.road_combined_ms_per_image)} (below 1 = we are faster; medians of 2 alternating rounds)`);
    } catch {
      console.log(`pytorch-grad-cam peer failed: ${stderr.slice(-400)}`);
    }
  } else console.log('(no .venv-peers: run `python/venv peers` for the pytorch-grad-cam comparison)');

  // Score-CAM, all 10 classes: one set of masked passes per image vs one per (image, class).
  const few = tf.slice(images, [0], [2]) as tf.Tensor4D;
  const [, allMs] = timed(() => explain(model, few, { method: 'scorecam', target: 'all' }));
  const [, oneByOneMs] = timed(() => { for (let c = 0; c < 10; c++) explain(model, few, { method: 'scorecam', target: c }); });
  console.log(`Score-CAM, 10 classes of 2 images: target 'all' ${allMs.toFixed(0)} ms, ten single targets ${oneByOneMs.toFixed(0)} ms: ${(oneByOneMs / allMs).toFixed(1)}x`);
  console.log(watch.footer());
  tf.dispose([images, maps, few]);
  model.dispose();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

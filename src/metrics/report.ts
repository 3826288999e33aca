/**
 * "Which method should I believe on this model?": every faithfulness metric and the
 * randomisation sanity check for several methods on one set of images, as one table. Each method
 * explains each image's predicted class (the model's own decision); images go through in batches,
 * so memory does not grow with their number.
 */
import * as tf from '@tensorflow/tfjs';
import { CAM_METHOD_LABELS, CamMethodName, createCam } from '../cam';
import { Baseline } from './baselines';
import { confidenceChange } from './confidence';
import { deletionInsertion } from './deletion-insertion';
import { heatmapsOf } from './inputs';
import { modelRandomisation, RandomisationResult } from './randomisation';
import { road, ROAD_PERCENTILES } from './road';
import { probabilityScorer } from './scorer';
import type { ScoredTarget } from './scorer';

export interface TrustOptions {
  methods: CamMethodName[];
  layer?: string;
  classNames?: readonly string[];
  /** Deletion/insertion slices (default 32). */
  steps?: number;
  /** Default blur (RISE). */
  baseline?: Baseline;
  roadPercentiles?: readonly number[];
  /** How many of the images the randomisation check uses (default 16; it re-explains them per layer and mode). */
  randomisationImages?: number;
  /** Images explained and scored at once (default 25). */
  batchSize?: number;
  seed?: number;
  onProgress?: (done: number, total: number, stage: string) => void;
}

export interface MethodTrust {
  method: CamMethodName;
  label: string;
  deletionAuc: number;
  insertionAuc: number;
  roadMorf: number;
  roadLerf: number;
  roadCombined: number;
  averageDrop: number;
  increaseInConfidence: number;
  /** Mean Spearman to the trained model's maps after randomising only the top (output) layer. */
  topLayerSpearman: number;
  /** Mean Spearman / SSIM to the trained model's maps after randomising every layer (cascading). */
  randomisedSpearman: number;
  randomisedSsim: number;
  passesSanityCheck: boolean;
  /** Mean curves over the images (x = fractions). */
  deletionCurve: Float32Array;
  insertionCurve: Float32Array;
  seconds: number;
}

export interface TrustReport {
  images: number;
  layer?: string;
  fractions: Float32Array;
  methods: MethodTrust[];
  randomisation: RandomisationResult;
}

export async function trustReport(model: tf.LayersModel, images: tf.Tensor4D, options: TrustOptions): Promise<TrustReport> {
  if (!options.methods.length) throw new Error('trust report: no methods given; pass at least one, e.g. ["gradcam"].');
  const N = images.shape[0];
  const batch = Math.max(1, options.batchSize ?? 25);
  const steps = options.steps ?? 32;
  const scorer = probabilityScorer(model);
  const nRandom = Math.min(N, options.randomisationImages ?? 16);
  const total = options.methods.length * N + 2 * nRandom * options.methods.length;
  let done = 0;
  const methods: MethodTrust[] = [];
  let fractions = new Float32Array(0);
  let layer: string | undefined;
  let predicted: ScoredTarget[] | undefined;
  for (const method of options.methods) {
    const started = Date.now();
    // (seed reaches RandomCAM, so a report repeats exactly; other methods ignore it)
    const camOptions = { method, layer: options.layer, classNames: options.classNames, seed: options.seed ?? 0 };
    const cam = createCam(model, camOptions);
    layer = cam.split.layerName;
    const sums = { del: 0, ins: 0, morf: 0, lerf: 0, combined: 0, drop: 0, increase: 0 };
    let delCurve = new Float64Array(steps + 1);
    let insCurve = new Float64Array(steps + 1);
    const classes: ScoredTarget[] = new Array<ScoredTarget>(N);
    for (let start = 0; start < N; start += batch) {
      const n = Math.min(batch, N - start);
      const x = tf.slice(images, [start], [n]);
      const e = cam.explain(x, { target: 'predicted' });
      const maps = heatmapsOf(e);
      try {
        // A classifier's predicted class; any other output's default target, as each image resolved it.
        const cls: ScoredTarget[] = e.images.map((im) => (e.output.kind === 'classes' ? im.classes[0].classIndex : im.classes[0].resolved));
        cls.forEach((c, i) => (classes[start + i] = c));
        const inputs = { images: x, maps, classes: cls };
        const del = deletionInsertion(scorer, inputs, { mode: 'deletion', steps, baseline: options.baseline });
        const ins = deletionInsertion(scorer, inputs, { mode: 'insertion', steps, baseline: options.baseline });
        const r = road(scorer, inputs, { percentiles: options.roadPercentiles ?? ROAD_PERCENTILES, seed: (options.seed ?? 0) + start });
        const conf = confidenceChange(scorer, inputs);
        fractions = del.fractions;
        sums.del += del.meanAuc * n;
        sums.ins += ins.meanAuc * n;
        sums.morf += r.meanMorf * n;
        sums.lerf += r.meanLerf * n;
        sums.combined += r.meanCombined * n;
        sums.drop += conf.averageDrop * n;
        sums.increase += conf.increaseInConfidence * n;
        del.curves.forEach((c) => (delCurve = delCurve.map((v, i) => v + c[i])));
        ins.curves.forEach((c) => (insCurve = insCurve.map((v, i) => v + c[i])));
      } finally {
        tf.dispose([x, maps]);
      }
      done += n;
      options.onProgress?.(done, total, method);
    }
    predicted ??= classes;
    methods.push({
      method,
      label: CAM_METHOD_LABELS[method],
      deletionAuc: sums.del / N,
      insertionAuc: sums.ins / N,
      roadMorf: sums.morf / N,
      roadLerf: sums.lerf / N,
      roadCombined: sums.combined / N,
      averageDrop: sums.drop / N,
      increaseInConfidence: sums.increase / N,
      topLayerSpearman: NaN,
      randomisedSpearman: NaN,
      randomisedSsim: NaN,
      passesSanityCheck: false,
      deletionCurve: Float32Array.from(delCurve, (v) => v / N),
      insertionCurve: Float32Array.from(insCurve, (v) => v / N),
      seconds: (Date.now() - started) / 1000,
    });
  }
  const sample = tf.slice(images, [0], [nRandom]);
  let randomisation: RandomisationResult;
  try {
    const base = done;
    randomisation = await modelRandomisation(model, sample, (predicted as ScoredTarget[]).slice(0, nRandom), {
      methods: options.methods,
      layer: options.layer,
      classNames: options.classNames,
      seed: options.seed,
      keepMapsFor: 1,
      onProgress: (d, t) => options.onProgress?.(base + Math.round((d / t) * 2 * nRandom * options.methods.length), total, `randomisation ${d}/${t}`),
    });
  } finally {
    sample.dispose();
  }
  const last = randomisation.cascading[randomisation.cascading.length - 1];
  for (const m of methods) {
    m.topLayerSpearman = randomisation.cascading[1]?.spearman[m.method] ?? NaN;
    m.randomisedSpearman = last.spearman[m.method] as number;
    m.randomisedSsim = last.ssim[m.method] as number;
    m.passesSanityCheck = randomisation.passes[m.method] === true;
  }
  return { images: N, layer, fractions, methods, randomisation };
}

const COLUMNS: [string, (m: MethodTrust) => string][] = [
  ['method', (m) => m.label],
  ['deletion AUC (lower better)', (m) => m.deletionAuc.toFixed(3)],
  ['insertion AUC (higher better)', (m) => m.insertionAuc.toFixed(3)],
  ['ROAD combined (higher better)', (m) => m.roadCombined.toFixed(3)],
  ['ROAD MoRF', (m) => m.roadMorf.toFixed(3)],
  ['ROAD LeRF', (m) => m.roadLerf.toFixed(3)],
  ['average drop % (lower better)', (m) => m.averageDrop.toFixed(1)],
  ['increase in confidence %', (m) => m.increaseInConfidence.toFixed(1)],
  ['Spearman, top layer randomised', (m) => m.topLayerSpearman.toFixed(3)],
  ['Spearman, all layers randomised (lower better)', (m) => m.randomisedSpearman.toFixed(3)],
  ['randomised SSIM', (m) => m.randomisedSsim.toFixed(3)],
  // A random map changes on every call, so it 'passes' trivially: say so instead.
  ['sanity check', (m) => (m.method === 'randomcam' ? 'n/a (random)' : m.passesSanityCheck ? 'pass' : 'FAIL')],
];

export function trustMarkdown(report: TrustReport): string {
  const head = `| ${COLUMNS.map(([h]) => h).join(' | ')} |`;
  const rule = `|${COLUMNS.map(() => '---').join('|')}|`;
  const rows = report.methods.map((m) => `| ${COLUMNS.map(([, f]) => f(m)).join(' | ')} |`);
  return [head, rule, ...rows].join('\n');
}

export function trustCsv(report: TrustReport): string {
  const header = ['method', 'deletion_auc', 'insertion_auc', 'road_combined', 'road_morf', 'road_lerf', 'average_drop_pct', 'increase_in_confidence_pct', 'top_layer_spearman', 'randomised_spearman', 'randomised_ssim', 'passes_sanity_check', 'seconds'];
  const rows = report.methods.map((m) => [m.method, m.deletionAuc, m.insertionAuc, m.roadCombined, m.roadMorf, m.roadLerf, m.averageDrop, m.increaseInConfidence, m.topLayerSpearman, m.randomisedSpearman, m.randomisedSsim, m.passesSanityCheck, m.seconds.toFixed(1)].join(','));
  return [header.join(','), ...rows].join('\n') + '\n';
}

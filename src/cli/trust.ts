/**
 * `gradcam trust`: "can we trust the map?" for several methods on one model: the faithfulness
 * table (markdown + CSV), the mean deletion/insertion curves and the cascading-randomisation
 * figure. On the CIFAR-10 test set when it is on disk (first N images), else on the shipped examples.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend';
import { CAM_METHOD_NAMES, CamMethodName, isCamMethod, METHOD_LABELS } from '../shared/methods';
import { ProgressBar } from '../data';
import { readSplit } from '../data/cifar10';
import { locateCifar10 } from '../data/locate';
import { trustCsv, trustMarkdown, trustReport, TrustReport } from '../metrics';
import { Baseline } from '../metrics/baselines';
import { writeFileAtomic } from '../model/io';
import { readExamples } from '../render/examples';
import { metricCurvesPng, randomisationFigurePng } from '../render/trust';
import { numberFlag, ParsedArgs, rejectUnknown, stringFlag } from './args';
import { loadModelWithClasses } from './load';
import { imageInputShape } from './model-input';

export const TRUST_OPTIONS = ['methods', 'images', 'model', 'data', 'out', 'layer', 'steps', 'baseline', 'randomisation-images', 'seed'] as const;
export const DEFAULT_TRUST_METHODS: CamMethodName[] = ['gradcam', 'gradcam++', 'scorecam', 'layercam', 'eigencam', 'ablationcam', 'randomcam'];
const DEFAULT_TEST_IMAGES = 1000;

function parseMethods(value: string | undefined): CamMethodName[] {
  if (value === undefined) return DEFAULT_TRUST_METHODS;
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) {
    // An own key only: 'constructor' or 'toString' is not a method.
    if (!isCamMethod(n)) throw new Error(`--methods: unknown method '${n}'; use a comma-separated list of ${CAM_METHOD_NAMES.join(', ')}.`);
  }
  if (!names.length) throw new Error('--methods needs at least one method, e.g. --methods gradcam,scorecam');
  return names as CamMethodName[];
}

function parseBaseline(value: string | undefined): Baseline {
  if (value === undefined || value === 'blur') return { kind: 'blur' };
  if (value === 'mean') return { kind: 'mean' };
  throw new Error(`--baseline '${value}' is unknown; use blur (default) or mean.`);
}

/** The test set's first N images if the data is here (never downloads), else the shipped examples. */
async function loadImages(dataFlag: string | undefined, count: number | undefined): Promise<{ pixels: Float32Array; n: number; source: string; first: Uint8Array }> {
  let dir: string | undefined;
  try {
    dir = await locateCifar10({ dir: dataFlag, download: false });
  } catch (err) {
    if (dataFlag) throw err; // an explicit --data that is wrong must say so
  }
  if (dir) {
    const test = readSplit(dir, 'test');
    const n = Math.min(count ?? DEFAULT_TEST_IMAGES, test.count);
    return { pixels: Float32Array.from(test.images.subarray(0, n * 3072)), n, source: `the first ${n} CIFAR-10 test images (${dir})`, first: test.images.slice(0, 3072) };
  }
  const examples = await readExamples();
  const n = Math.min(count ?? examples.length, examples.length);
  const pixels = new Float32Array(n * 3072);
  examples.slice(0, n).forEach((e, i) => pixels.set(e.pixels, i * 3072));
  return { pixels, n, source: `the ${n} shipped example images (CIFAR-10 not found; pass --data DIR for the test set)`, first: examples[0].pixels };
}

export async function trustCommand(args: ParsedArgs): Promise<number> {
  rejectUnknown(args, TRUST_OPTIONS, 'trust');
  const out = stringFlag(args, 'out');
  if (!out) throw new Error('gradcam trust: --out DIR is required (the table, CSV and figures go there).');
  const methods = parseMethods(stringFlag(args, 'methods'));
  const baseline = parseBaseline(stringFlag(args, 'baseline'));
  const count = stringFlag(args, 'images') === undefined ? undefined : numberFlag(args, 'images', DEFAULT_TEST_IMAGES);
  if (count !== undefined && !(Number.isInteger(count) && count >= 1)) throw new Error(`--images must be a whole number >= 1; got ${count}.`);
  await initBackend();
  const { model, classNames, dir: modelDir } = await loadModelWithClasses(stringFlag(args, 'model'));
  if (!(model instanceof tf.LayersModel)) {
    throw new Error(`gradcam trust needs a layers model (its randomisation check re-initialises layers); ${modelDir} holds a graph model. Convert it with tensorflowjs_converter --output_format tfjs_layers_model.`);
  }
  const [H, W, C] = imageInputShape(model, modelDir);
  if (H !== 32 || W !== 32 || C !== 3) throw new Error(`gradcam trust runs on CIFAR-10 images (32x32x3); model ${modelDir} takes ${H}x${W}x${C}.`);
  const data = await loadImages(stringFlag(args, 'data'), count);
  console.log(`model ${modelDir}\nimages: ${data.source}\nmethods: ${methods.map((m) => METHOD_LABELS[m]).join(', ')}`);
  const images = tf.tensor4d(data.pixels, [data.n, H, W, C]);
  let barTotal = 0;
  let progress = new ProgressBar({ label: 'trust', unit: 'img' });
  const started = Date.now();
  let report: TrustReport;
  try {
    report = await trustReport(model, images, {
      methods,
      classNames,
      layer: stringFlag(args, 'layer'),
      steps: numberFlag(args, 'steps', 32),
      baseline,
      randomisationImages: numberFlag(args, 'randomisation-images', 16),
      seed: numberFlag(args, 'seed', 0),
      onProgress: (done, total, stage) => {
        if (total !== barTotal) {
          barTotal = total;
          progress = new ProgressBar({ total, label: 'trust', unit: 'img' });
        }
        progress.update(done, stage);
      },
    });
  } finally {
    images.dispose();
  }
  progress.finish();
  const seconds = (Date.now() - started) / 1000;
  fs.mkdirSync(out, { recursive: true });
  const title = `${path.basename(modelDir)}, layer ${report.layer}, ${data.n} images`;
  const md = [
    `# Can we trust the map? ${title}`,
    '',
    `Images: ${data.source}. Each method explains each image's predicted class. Deletion/insertion: ${report.fractions.length - 1} steps, ${baseline.kind} baseline (Petsiuk et al. 2018). ROAD: noisy linear imputation at percentiles 10..90, combined = mean (LeRF - MoRF) / 2 (Rong et al. 2022). Average drop / increase: image x map (Chattopadhay et al. 2018). Randomisation: every weighted layer re-initialised from the top (cascading) on ${Math.min(data.n, numberFlag(args, 'randomisation-images', 16))} images; Spearman and SSIM of the maps to the trained model's; a method passes when the mean Spearman falls below 0.5 (Adebayo et al. 2018).`,
    '',
    trustMarkdown(report),
    '',
    `Computed in ${seconds.toFixed(0)} s.`,
    '',
  ].join('\n');
  writeFileAtomic(path.join(out, 'trust.md'), md);
  writeFileAtomic(path.join(out, 'trust.csv'), trustCsv(report));
  writeFileAtomic(path.join(out, 'curves.png'), metricCurvesPng(report.fractions, [
    { title: 'deletion (lower area = more faithful)', series: report.methods.map((m) => ({ label: `${m.label} ${m.deletionAuc.toFixed(3)}`, values: m.deletionCurve })) },
    { title: 'insertion (higher area = more faithful)', series: report.methods.map((m) => ({ label: `${m.label} ${m.insertionAuc.toFixed(3)}`, values: m.insertionCurve })) },
  ], { title: `Mean deletion and insertion curves: ${title}` }));
  const steps = report.randomisation.cascading;
  writeFileAtomic(path.join(out, 'randomisation.png'), randomisationFigurePng(
    data.first, W, H,
    steps.map((s) => (s.layer === 'none' ? 'trained' : s.layer)),
    report.methods.map((m) => ({ label: m.label, maps: steps.map((s) => (s.maps[m.method] as Float32Array[])[0]) })),
    { title: 'Cascading randomisation from the top: each column re-initialises one more layer' },
  ));
  console.log(`\n${trustMarkdown(report)}\n\nwrote ${['trust.md', 'trust.csv', 'curves.png', 'randomisation.png'].map((f) => path.join(out, f)).join(', ')} in ${seconds.toFixed(0)} s`);
  model.dispose();
  return 0;
}

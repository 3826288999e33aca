/** `gradcam explain`: one image (a file or a CIFAR-10 test index) explained into a PNG figure. */
import * as path from 'path';
import { initBackend } from '../backend';
import type * as tf from '@tensorflow/tfjs';
import { explain, CamMethodName, Explanation, ExplainCallOptions, TargetSpec } from '../cam';
import { GradientUnavailableError } from '../cam/gradient-check';
import { toModelInput } from '../cam/input';
import type { ExplainableModel } from '../cam/split';
import { imageAt, readSplit } from '../data/cifar10';
import { ColormapName, COLORMAP_NAMES, figureRows, readImageForModel, writeFigure } from '../render';
import { numberFlag, ParsedArgs, rejectUnknown, stringFlag } from './args';
import { resolveDataDir } from './data-dir';
import { loadExplainableModel } from './load';
import { imageInputShape } from './model-input';

export const EXPLAIN_OPTIONS = ['cifar-test', 'class', 'layer', 'method', 'model', 'out', 'data', 'opacity', 'colormap', 'labels', 'input-range'] as const;
const METHODS = ['gradcam', 'gradcam++', 'scorecam', 'guided', 'counterfactual'] as const;
export const METHOD_LABELS: Record<CamMethodName, string> = {
  gradcam: 'Grad-CAM', 'gradcam++': 'Grad-CAM++', scorecam: 'Score-CAM', counterfactual: 'Counterfactual',
  hirescam: 'HiResCAM', xgradcam: 'XGrad-CAM', layercam: 'LayerCAM', eigencam: 'EigenCAM', ablationcam: 'Ablation-CAM', randomcam: 'Random',
};

function parseTarget(value: string | undefined, classNames: readonly string[]): TargetSpec {
  if (value === undefined || value === 'pred' || value === 'predicted') return 'predicted';
  if (value === 'all') return 'all';
  if (/^\d+$/.test(value)) return Number(value);
  if (!classNames.includes(value)) throw new Error(`--class '${value}' is not a class; use an index, 'pred', 'all' or one of ${classNames.join(', ')}.`);
  return value;
}

/**
 * The explanation with its guided columns when the model allows them. A model whose gradient
 * cannot reach the input (a layer tfjs cannot differentiate) still gets its Grad-CAM figure,
 * with a notice; only `--method guided` insists on guided backprop.
 */
function explainWithGuidedIfPossible(model: ExplainableModel, input: tf.Tensor4D, options: ExplainCallOptions, guidedRequired: boolean): Explanation {
  try {
    return explain(model, input, { ...options, guided: true });
  } catch (err) {
    if (guidedRequired || !(err instanceof GradientUnavailableError)) throw err;
    console.error(`note: drawing ${METHOD_LABELS[options.method ?? 'gradcam']} without the guided columns. ${err.message}`);
    return explain(model, input, { ...options, guided: false });
  }
}

/** A graph node 'StatefulPartitionedCall/model/out_relu/Relu6' as 'out_relu/Relu6'; layer names as they are. */
function shortLayerName(name: string): string {
  return name.split('/').slice(-2).join('/');
}

export async function explainCommand(args: ParsedArgs): Promise<number> {
  rejectUnknown(args, EXPLAIN_OPTIONS, 'explain');
  const out = stringFlag(args, 'out');
  if (!out) throw new Error('gradcam explain: --out FILE.png is required.');
  const method = stringFlag(args, 'method') ?? 'gradcam';
  if (!(METHODS as readonly string[]).includes(method)) throw new Error(`--method '${method}' is unknown; use one of ${METHODS.join(', ')}.`);
  await initBackend();
  const { model, classNames, inputRange, dir } = await loadExplainableModel(stringFlag(args, 'model'), {
    labels: stringFlag(args, 'labels'),
    inputRange: stringFlag(args, 'input-range'),
  });
  let shape: [number, number, number];
  try {
    shape = imageInputShape(model, dir);
    // Image files and CIFAR-10 records are RGB.
    if (shape[2] !== 3) throw new Error(`The model in ${dir} takes ${shape[2]}-channel images; gradcam explain reads RGB images (3 channels).`);
  } catch (err) {
    model.dispose();
    throw err;
  }
  const [height, width, channels] = shape;

  let pixels: Uint8Array;
  let trueLabel: number | undefined;
  let title: string;
  const testIndex = stringFlag(args, 'cifar-test');
  if (testIndex !== undefined) {
    const test = readSplit(await resolveDataDir(stringFlag(args, 'data')), 'test');
    const i = Number(testIndex);
    pixels = imageAt(test, i);
    trueLabel = test.labels[i];
    title = `CIFAR-10 test #${i}`;
  } else {
    const file = args.positional[0];
    if (!file) throw new Error('gradcam explain: give an image file or --cifar-test N.');
    const img = await readImageForModel(file, height, width);
    pixels = img.pixels;
    if (img.resizedFrom) {
      console.error(`note: ${path.basename(file)} is ${img.resizedFrom.width}x${img.resizedFrom.height}; resized bilinearly to the model's ${width}x${height} input.`);
    }
    title = path.basename(file);
  }

  // 'guided' is Grad-CAM's figure, whose guided columns are always drawn.
  const camMethod = (method === 'guided' ? 'gradcam' : method) as CamMethodName;
  const options = { method: camMethod, layer: stringFlag(args, 'layer'), classNames, target: parseTarget(stringFlag(args, 'class'), classNames) };
  // The model sees its own input range; the figure shows the pixels.
  const input = toModelInput([pixels], [height, width, channels], inputRange);
  let e: Explanation;
  try {
    e = explainWithGuidedIfPossible(model, input, options, method === 'guided');
  } finally {
    input.dispose();
  }
  const rows = figureRows(e, [pixels], { trueLabels: trueLabel === undefined ? undefined : [trueLabel] });
  const colormap = stringFlag(args, 'colormap') as ColormapName | undefined;
  if (colormap && !COLORMAP_NAMES.includes(colormap)) throw new Error(`--colormap '${colormap}' is unknown; use one of ${COLORMAP_NAMES.join(', ')}.`);
  writeFigure(out, rows, {
    title: `${title} · ${METHOD_LABELS[camMethod]} on ${shortLayerName(e.layer)}${e.scoreSource === 'logits' ? '' : ` (${e.scoreSource})`}`,
    methodLabel: METHOD_LABELS[camMethod],
    colormap,
    opacity: numberFlag(args, 'opacity', 0.5),
  });
  console.log(`wrote ${out}: ${rows.map((r) => r.caption).join(' | ')}`);
  model.dispose();
  return 0;
}

/** `gradcam explain`: one image (a file or a CIFAR-10 test index) explained into a PNG figure. */
import * as path from 'path';
import type * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend';
import { adaptChannels, classCountOf, createCam, Explanation, GradientUnavailableError, ModelSplit, splitAt, toModelInput } from '../cam';
import { imageAt, readSplit } from '../data/cifar10';
import { ColormapName, COLORMAP_NAMES, figureRows, readImageForModel, writeFigure } from '../render';
import { CAM_METHOD_NAMES, CamMethodName, METHOD_LABELS } from '../shared/methods';
import { numberFlag, ParsedArgs, rejectUnknown, stringFlag } from './args';
import { resolveDataDir } from './data-dir';
import { describeChoice, parseTargetFlags } from './explain-target';
import { LoadedModel, loadExplainableModel } from './load';
import { imageInputShape } from './model-input';

export const EXPLAIN_OPTIONS = ['cifar-test', 'class', 'layer', 'method', 'model', 'out', 'data', 'opacity', 'colormap', 'labels', 'input-range', 'target', 'output', 'box', 'size'] as const;
/** Every engine method, and 'guided' (Grad-CAM's figure, which insists on the guided columns). */
export const EXPLAIN_METHODS: readonly string[] = [...CAM_METHOD_NAMES, 'guided'];

/**
 * The explanation with its guided columns when the model allows them. A model whose gradient
 * cannot reach the input (a layer tfjs cannot differentiate) still gets its Grad-CAM figure,
 * with a notice; only `--method guided` insists on guided backprop. One split serves both tries.
 */
function explainWithGuidedIfPossible(split: ModelSplit, input: tf.Tensor4D, method: CamMethodName, options: { classNames: readonly string[] | undefined; target: ReturnType<typeof parseTargetFlags> }, guidedRequired: boolean): Explanation {
  const cam = createCam(split, { method, classNames: options.classNames });
  try {
    return cam.explain(input, { target: options.target, guided: true });
  } catch (err) {
    if (guidedRequired || !(err instanceof GradientUnavailableError)) throw err;
    console.error(`note: drawing ${METHOD_LABELS[method]} without the guided columns. ${err.message}`);
    return cam.explain(input, { target: options.target, guided: false });
  }
}

/** A graph node 'StatefulPartitionedCall/model/out_relu/Relu6' as 'out_relu/Relu6'; layer names as they are. */
function shortLayerName(name: string): string {
  return name.split('/').slice(-2).join('/');
}

/** --size HxW (or N for a square) for a model that takes any size. */
function parseSize(value: string | undefined): [number, number] | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+)(?:x(\d+))?$/.exec(value);
  if (!m || Number(m[1]) < 1) throw new Error(`--size '${value}' is not a size; give HxW or N, e.g. --size 224x224.`);
  return [Number(m[1]), Number(m[2] ?? m[1])];
}

/** The split once, for the command's layer and output. */
function splitFor(loaded: LoadedModel, args: ParsedArgs): ModelSplit {
  // A layers model must take fixed-size images; a graph model's input is adapted by the engine.
  if (loaded.format === 'layers-model') imageInputShape(loaded.model, loaded.dir);
  return splitAt(loaded.model, stringFlag(args, 'layer'), { output: stringFlag(args, 'output'), inputSize: parseSize(stringFlag(args, 'size')) });
}

/** A --class name the output does not have, refused before any work with the names it has. */
function checkClassName(cls: string | undefined, classNames: readonly string[] | undefined): void {
  if (cls === undefined || /^(\d+|pred|predicted|all)$/.test(cls) || !classNames) return;
  if (!classNames.some((n) => n.toLowerCase() === cls.trim().toLowerCase())) {
    throw new Error(`--class '${cls}' is not a class; use an index, 'pred', 'all' or one of ${classNames.join(', ')}.`);
  }
}

export async function explainCommand(args: ParsedArgs): Promise<number> {
  rejectUnknown(args, EXPLAIN_OPTIONS, 'explain');
  const out = stringFlag(args, 'out');
  if (!out) throw new Error('gradcam explain: --out FILE.png is required.');
  const method = stringFlag(args, 'method') ?? 'gradcam';
  if (!EXPLAIN_METHODS.includes(method)) throw new Error(`--method '${method}' is unknown; use one of ${EXPLAIN_METHODS.join(', ')}.`);
  const target = parseTargetFlags(stringFlag(args, 'target'), stringFlag(args, 'class'), stringFlag(args, 'box'));
  await initBackend();
  const loaded = await loadExplainableModel(stringFlag(args, 'model'), { labels: stringFlag(args, 'labels'), inputRange: stringFlag(args, 'input-range') });
  const { model, inputRange } = loaded;
  try {
    const split = splitFor(loaded, args);
    const [height, width, channels] = split.inputShape;
    const count = classCountOf(split.output);
    const classNames = count > 0 ? loaded.namesFor(count) : undefined;
    checkClassName(stringFlag(args, 'class'), classNames);
    console.error(describeChoice(split));

    let rgb: Uint8Array;
    let trueLabel: number | undefined;
    let title: string;
    const testIndex = stringFlag(args, 'cifar-test');
    if (testIndex !== undefined) {
      const test = readSplit(await resolveDataDir(stringFlag(args, 'data')), 'test');
      const i = Number(testIndex);
      rgb = imageAt(test, i);
      trueLabel = test.labels[i];
      title = `CIFAR-10 test #${i}`;
    } else {
      const file = args.positional[0];
      if (!file) throw new Error('gradcam explain: give an image file or --cifar-test N.');
      const img = await readImageForModel(file, height, width);
      rgb = img.pixels;
      if (img.resizedFrom) {
        console.error(`note: ${path.basename(file)} is ${img.resizedFrom.width}x${img.resizedFrom.height}; resized bilinearly to the model's ${width}x${height} input.`);
      }
      title = path.basename(file);
    }
    if (channels !== 3) console.error(`note: the model takes ${channels}-channel images; the RGB image is given to it as ${channels === 1 ? 'grey (luma)' : 'RGBA (opaque)'}.`);

    // 'guided' is Grad-CAM's figure, whose guided columns are always drawn.
    const camMethod = (method === 'guided' ? 'gradcam' : method) as CamMethodName;
    // The model sees its own channels and input range; the figure shows the pixels it saw.
    const pixels = adaptChannels(rgb, channels);
    const input = toModelInput([pixels], [height, width, channels], inputRange);
    let e: Explanation;
    try {
      e = explainWithGuidedIfPossible(split, input, camMethod, { classNames, target }, method === 'guided');
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
  } finally {
    model.dispose();
  }
  return 0;
}

/**
 * Shared by the explanation commands: the model (shipped by default; a layers or a graph model,
 * told apart by model.json's `format`), its class names and the input range it expects. Class names come from, in order: a labels file (--labels, one name a
 * line), the model's userDefinedMetadata.classNames (gradcam train and tensorflowjs_converter
 * --metadata write it), CIFAR-10's names for a 10-class model, else "class N".
 */
import * as fs from 'fs';
import * as path from 'path';
import type { LayersModel } from '@tensorflow/tfjs';
import { checkInputRange, InputRange } from '../cam/input';
import type { ExplainableModel } from '../cam/split';
import { CLASS_NAMES } from '../data/cifar10';
import { loadGraphModelFromDir, modelFormatOf, ModelFormat } from '../model/graph-model-io';
import { loadModel, readModelMetadata } from '../model/io';
import { SHIPPED_MODEL_DIR } from '../model/shipped';

export interface LoadOptions {
  /** A text file with one class name a line, in the order of the model's outputs. */
  labels?: string;
  /** Overrides the model's own `userDefinedMetadata.inputRange` (default '0-255'). */
  inputRange?: string;
}

export interface LoadedModel<M extends ExplainableModel = ExplainableModel> {
  /** A LayersModel or a GraphModel, as model.json's `format` says. */
  model: M;
  format: ModelFormat;
  classNames: string[];
  /** Class names for an output with `count` classes (the labels file, the model's metadata, CIFAR-10's, or "class N"). */
  namesFor(count: number): string[];
  inputRange: InputRange;
  dir: string;
}

/** Names from a labels file, checked against the number of outputs. */
export function readLabels(file: string, outputs: number): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`Cannot read the labels file ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give a text file with one class name a line.`);
  }
  const names = text.split(/\r?\n/).map((l) => l.trim());
  while (names.length && names[names.length - 1] === '') names.pop();
  if (names.length !== outputs || names.some((n) => n === '')) {
    const blank = names.findIndex((n) => n === '');
    throw new Error(
      blank >= 0
        ? `Labels file ${file}: line ${blank + 1} is empty; give one class name a line.`
        : `Labels file ${file} has ${names.length} names but the model has ${outputs} outputs; give one class name a line, in output order.`,
    );
  }
  return names;
}

function classNamesFor(meta: Record<string, unknown>, outputs: number, labels?: string): string[] {
  if (labels) return readLabels(labels, outputs);
  const fromModel = meta.classNames;
  if (Array.isArray(fromModel) && fromModel.length === outputs && fromModel.every((n) => typeof n === 'string')) return fromModel as string[];
  if (outputs === CLASS_NAMES.length) return [...CLASS_NAMES];
  return Array.from({ length: outputs }, (_, i) => `class ${i}`);
}

interface SignatureShape {
  outputs?: Record<string, { tensorShape?: { dim?: { size?: string | number }[] } }>;
}

/** The number of class scores: from the output shape, or a graph model's signature. */
function outputCount(model: ExplainableModel): number {
  const shape = model.outputs[0].shape;
  if (shape?.length) return shape[shape.length - 1] ?? 0;
  const signature = (model as { modelSignature?: SignatureShape }).modelSignature;
  const [first] = Object.values(signature?.outputs ?? {});
  const dims = first?.tensorShape?.dim ?? [];
  return Number(dims[dims.length - 1]?.size ?? 0);
}

/** Either format (for `gradcam explain`). */
export async function loadExplainableModel(dir: string | undefined, options: LoadOptions = {}): Promise<LoadedModel> {
  const modelDir = path.resolve(dir ?? SHIPPED_MODEL_DIR);
  const format = modelFormatOf(modelDir);
  const model = format === 'graph-model' ? await loadGraphModelFromDir(modelDir) : await loadModel(modelDir);
  try {
    const meta = readModelMetadata(modelDir);
    const outputs = outputCount(model);
    const inputRange = checkInputRange(options.inputRange ?? (typeof meta.inputRange === 'string' ? meta.inputRange : '0-255'));
    // A graph model.json without a signature has no output shape to count: its names wait for namesFor.
    const classNames = outputs > 0 ? classNamesFor(meta, outputs, options.labels) : [];
    return { model, format, classNames, namesFor: (count) => classNamesFor(meta, count, options.labels), inputRange, dir: modelDir };
  } catch (err) {
    model.dispose(); // a bad labels file or input range must not strand the model's weights
    throw err;
  }
}

/** A layers model only (for the commands and views that need its layers: figures, the widget). */
export async function loadModelWithClasses(dir: string | undefined, options: LoadOptions = {}): Promise<LoadedModel<LayersModel>> {
  const loaded = await loadExplainableModel(dir, options);
  if (loaded.format !== 'layers-model') {
    loaded.model.dispose();
    throw new Error(`${loaded.dir} holds a TF.js graph model; this command needs a layers model (tensorflowjs_converter --output_format=tfjs_layers_model). gradcam explain takes either.`);
  }
  return loaded as LoadedModel<LayersModel>;
}

/** Shared by the explanation commands: the model (shipped by default) and its class names. */
import * as path from 'path';
import type { LayersModel } from '@tensorflow/tfjs';
import { CLASS_NAMES } from '../data/cifar10';
import { loadModel, readModelMetadata } from '../model/io';
import { SHIPPED_MODEL_DIR } from '../model/shipped';

export async function loadModelWithClasses(dir: string | undefined): Promise<{ model: LayersModel; classNames: string[]; dir: string }> {
  const modelDir = path.resolve(dir ?? SHIPPED_MODEL_DIR);
  const model = await loadModel(modelDir);
  const meta = readModelMetadata(modelDir);
  const outputs = model.outputs[0].shape[model.outputs[0].shape.length - 1] ?? 0;
  const classNames = Array.isArray(meta.classNames)
    ? (meta.classNames as string[])
    : outputs === CLASS_NAMES.length
      ? [...CLASS_NAMES]
      : Array.from({ length: outputs }, (_, i) => `class ${i}`);
  return { model, classNames, dir: modelDir };
}

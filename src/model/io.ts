/**
 * Saving and loading tfjs LayersModels on the local file system without tfjs-node's file://
 * handler (absent when the native backend is), atomically: the weights go to a new
 * content-named file first, then model.json is renamed into place, so a reader never sees a
 * model.json that points at half-written weights.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { writeFileAtomic } from './atomic-write';
import { kerasTopologyForTfjs } from './keras-compat';
import { assertNotShippedModelDir } from './shipped';

export { describeWriteError, OutputPathError, writeFileAtomic } from './atomic-write';

export class ModelNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelNotFoundError';
  }
}

function concatBuffers(buffers: ArrayBuffer | ArrayBuffer[]): Uint8Array {
  const list = Array.isArray(buffers) ? buffers : [buffers];
  const total = list.reduce((n, b) => n + b.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const b of list) {
    out.set(new Uint8Array(b), at);
    at += b.byteLength;
  }
  return out;
}

/** Saves a model as `dir/model.json` + `dir/weights-<hash>.bin` and removes older weight files. */
export async function saveModel(model: tf.LayersModel, dir: string, extra: Record<string, unknown> = {}): Promise<void> {
  assertNotShippedModelDir(dir);
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = concatBuffers(artifacts.weightData ?? new ArrayBuffer(0));
      const hash = crypto.createHash('sha1').update(weights).digest('hex').slice(0, 12);
      const weightsFile = `weights-${hash}.bin`;
      writeFileAtomic(path.join(dir, weightsFile), weights);
      const modelJson = {
        format: 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [weightsFile], weights: artifacts.weightSpecs ?? [] }],
        userDefinedMetadata: extra,
      };
      writeFileAtomic(path.join(dir, 'model.json'), JSON.stringify(modelJson));
      for (const f of fs.readdirSync(dir)) {
        if (/^weights-[0-9a-f]+\.bin$/.test(f) && f !== weightsFile) fs.rmSync(path.join(dir, f), { force: true });
      }
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.byteLength } };
    }),
  );
}

interface ModelJson {
  modelTopology: object;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  userDefinedMetadata?: Record<string, unknown>;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
}

/** Resolves a model folder or a model.json path to the model.json file, with a clear error. */
export function resolveModelJson(location: string): string {
  const file = location.endsWith('.json') ? location : path.join(location, 'model.json');
  if (!fs.existsSync(file)) {
    throw new ModelNotFoundError(
      `No tfjs model at ${file}. Pass a folder holding model.json and its weight files ` +
        '(from `gradcam train --out DIR` or tensorflowjs_converter --output_format=tfjs_layers_model), ' +
        'or omit the path to use the shipped CIFAR-10 model.',
    );
  }
  return file;
}

/** Loads a tfjs Layers model (ours or a converted Keras one, any number of weight shards). */
export async function loadModel(location: string): Promise<tf.LayersModel> {
  const file = resolveModelJson(location);
  let json: ModelJson;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8')) as ModelJson;
  } catch (err) {
    throw new ModelNotFoundError(`${file} is not valid JSON (${(err as Error).message}); re-export or re-download the model.`);
  }
  if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new ModelNotFoundError(`${file} is not a tfjs LayersModel (no modelTopology/weightsManifest); graph models are not supported.`);
  }
  const dir = path.dirname(file);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: ArrayBuffer[] = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) {
      const shard = path.join(dir, p);
      if (!fs.existsSync(shard)) throw new ModelNotFoundError(`${file} names weight file ${p}, which is missing from ${dir}.`);
      const b = fs.readFileSync(shard);
      buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
    }
  }
  const weightData = concatBuffers(buffers).buffer as ArrayBuffer;
  return tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: kerasTopologyForTfjs(json.modelTopology), weightSpecs: specs, weightData, userDefinedMetadata: json.userDefinedMetadata }),
  );
}

/** The metadata a model was saved with (accuracy, epochs, class names), or {}. */
export function readModelMetadata(location: string): Record<string, unknown> {
  const json = JSON.parse(fs.readFileSync(resolveModelJson(location), 'utf8')) as ModelJson;
  return json.userDefinedMetadata ?? {};
}

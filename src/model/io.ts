/**
 * Saving and loading tfjs LayersModels on the local file system without tfjs-node's file://
 * handler (absent when the native backend is), atomically: the weights go to a new
 * content-named file first, then model.json is renamed into place, so a reader never sees a
 * model.json that points at half-written weights. Loading reads only the model's own folder
 * and checks the files against the manifest before tfjs decodes them.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { writeFileAtomic } from '../util/atomic-write';
import { ModelFileError } from './errors';
import { kerasTopologyForTfjs } from './keras-compat';
import { layersLoadError } from './load-errors';
import { readModelJson, resolveModelJson } from './model-json';
import { assertNotShippedModelDir } from './shipped';
import { readWeightFiles } from './weight-files';
import { checkManifest } from './weights-manifest';

export { describeWriteError, OutputPathError, writeFileAtomic } from '../util/atomic-write';
export { ModelFileError, ModelNotFoundError } from './errors';
export { resolveModelJson } from './model-json';

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

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** tfjs's build of the model, with a named error and no variables left behind when it fails. */
async function buildLayersModel(file: string, artifacts: tf.io.ModelArtifacts): Promise<tf.LayersModel> {
  const before = new Set(Object.keys(tf.engine().state.registeredVariables));
  try {
    return await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  } catch (err) {
    // tfjs creates the layers' variables before it finds an unknown layer or a weight that does
    // not fit, and the half-built model is out of reach: free what it registered.
    for (const [name, v] of Object.entries(tf.engine().state.registeredVariables)) if (!before.has(name)) v.dispose();
    throw layersLoadError(err, file);
  }
}

/** Loads a tfjs Layers model (ours or a converted Keras one, any number of weight shards). */
export async function loadModel(location: string): Promise<tf.LayersModel> {
  const file = resolveModelJson(location);
  const json = readModelJson(file);
  if (json.format === 'graph-model') {
    throw new ModelFileError(`${file} holds a TF.js graph model; load it with loadGraphModelFromDir (gradcam explain takes either), or convert the model with --output_format=tfjs_layers_model.`);
  }
  if (!isObject(json.modelTopology) || json.weightsManifest === undefined) {
    throw new ModelFileError(`${file} is not a tfjs layers model (it has no modelTopology or no weightsManifest); re-download or re-export the model.`);
  }
  const { specs, data } = readWeightFiles(file, checkManifest(json.weightsManifest, file));
  const meta = isObject(json.userDefinedMetadata) ? (json.userDefinedMetadata as Record<string, {}>) : undefined;
  let topology: object;
  try {
    topology = kerasTopologyForTfjs(json.modelTopology);
  } catch (err) {
    throw layersLoadError(err, file); // e.g. a topology nested too deep to walk
  }
  return buildLayersModel(file, { modelTopology: topology, weightSpecs: specs, weightData: data, userDefinedMetadata: meta });
}

/** The metadata a model was saved with (accuracy, epochs, class names), or {}. */
export function readModelMetadata(location: string): Record<string, unknown> {
  const meta = readModelJson(resolveModelJson(location)).userDefinedMetadata;
  return isObject(meta) ? meta : {};
}

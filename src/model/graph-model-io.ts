/**
 * Loading TF.js graph models (tensorflowjs_converter's tfjs_graph_model output, the default for
 * SavedModels and TF Hub models) from the local file system, without tfjs-node's file:// handler,
 * and telling the two model formats apart by model.json's `format`. Weight files are read as for
 * layers models: only from the model's folder, and size-checked first.
 */
import * as tf from '@tensorflow/tfjs';
import { ModelFileError } from './errors';
import { graphLoadError } from './load-errors';
import { readModelJson, resolveModelJson } from './model-json';
import { readWeightFiles } from './weight-files';
import { checkManifest } from './weights-manifest';

export type ModelFormat = 'layers-model' | 'graph-model';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** 'graph-model' or 'layers-model', from model.json's `format` (older files without it: from their topology). */
export function modelFormatOf(location: string): ModelFormat {
  const file = resolveModelJson(location);
  const json = readModelJson(file);
  if (json.format === 'graph-model' || json.format === 'layers-model') return json.format;
  const topology = json.modelTopology as { node?: unknown; class_name?: unknown; model_config?: { class_name?: unknown } } | undefined;
  if (isObject(topology) && Array.isArray(topology.node)) return 'graph-model';
  // Keras's own model.to_json() (class_name at the top), or tensorflowjs 1.x's wrapper around it
  // ({ keras_version, backend, model_config }), which nsfwjs and other early models still ship.
  if (isObject(topology) && (typeof topology.class_name === 'string' || (isObject(topology.model_config) && typeof topology.model_config.class_name === 'string'))) return 'layers-model';
  throw new ModelFileError(
    `${file} has format ${JSON.stringify(json.format)}, which is neither a tfjs layers model nor a graph model; re-export it with tensorflowjs_converter.`,
  );
}

/** tfjs's synchronous build, in a tidy so that tensors of a failed build are freed; the weights are kept. */
function buildGraphModel(file: string, artifacts: tf.io.ModelArtifacts): tf.GraphModel {
  const model: tf.GraphModel = new tf.GraphModel(tf.io.fromMemory(artifacts));
  try {
    tf.tidy(() => {
      model.loadSync(artifacts);
      for (const tensors of Object.values(model.weights)) tensors.forEach((t) => tf.keep(t));
    });
  } catch (err) {
    throw graphLoadError(err, file);
  }
  return model;
}

/** Loads a graph model.json and all its weight shards from a folder (or the model.json path). */
export async function loadGraphModelFromDir(location: string): Promise<tf.GraphModel> {
  const file = resolveModelJson(location);
  const json = readModelJson(file);
  if (!isObject(json.modelTopology) || json.weightsManifest === undefined) {
    throw new ModelFileError(`${file} is not a tfjs graph model (it has no modelTopology or no weightsManifest); re-download or re-export the model.`);
  }
  if (json.format === 'layers-model') {
    throw new ModelFileError(`${file} holds a tfjs layers model; load it with loadModel (gradcam explain takes either).`);
  }
  const { specs, data } = readWeightFiles(file, checkManifest(json.weightsManifest, file));
  return buildGraphModel(file, {
    format: 'graph-model',
    generatedBy: typeof json.generatedBy === 'string' ? json.generatedBy : undefined,
    convertedBy: typeof json.convertedBy === 'string' ? json.convertedBy : undefined,
    modelTopology: json.modelTopology,
    weightSpecs: specs,
    weightData: data,
    signature: isObject(json.signature) ? json.signature : undefined,
    userDefinedMetadata: isObject(json.userDefinedMetadata) ? (json.userDefinedMetadata as Record<string, {}>) : undefined,
    modelInitializer: isObject(json.modelInitializer) ? json.modelInitializer : undefined,
  });
}

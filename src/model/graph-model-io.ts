/**
 * Loading TF.js graph models (tensorflowjs_converter's tfjs_graph_model output, the default for
 * SavedModels and TF Hub models) from the local file system, without tfjs-node's file:// handler,
 * and telling the two model formats apart by model.json's `format`.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { ModelNotFoundError, resolveModelJson } from './io';

export type ModelFormat = 'layers-model' | 'graph-model';

interface GraphModelJson {
  format?: string;
  modelTopology?: object;
  weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  signature?: object;
  userDefinedMetadata?: Record<string, unknown>;
  modelInitializer?: object;
  generatedBy?: string;
  convertedBy?: string | null;
}

function readJson(file: string): GraphModelJson {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as GraphModelJson;
  } catch (err) {
    throw new ModelNotFoundError(`${file} is not valid JSON (${(err as Error).message}); re-export or re-download the model.`);
  }
}

/** 'graph-model' or 'layers-model', from model.json's `format` (older files without it: from their topology). */
export function modelFormatOf(location: string): ModelFormat {
  const file = resolveModelJson(location);
  const json = readJson(file);
  if (json.format === 'graph-model' || json.format === 'layers-model') return json.format;
  const topology = json.modelTopology as { node?: unknown; class_name?: unknown } | undefined;
  if (topology && Array.isArray(topology.node)) return 'graph-model';
  if (topology && typeof topology.class_name === 'string') return 'layers-model';
  throw new ModelNotFoundError(`${file} has format '${json.format}', which is neither a tfjs layers model nor a graph model.`);
}

/** Loads a graph model.json and all its weight shards from a folder (or the model.json path). */
export async function loadGraphModelFromDir(location: string): Promise<tf.GraphModel> {
  const file = resolveModelJson(location);
  const json = readJson(file);
  if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new ModelNotFoundError(`${file} is not a tfjs graph model (no modelTopology/weightsManifest).`);
  }
  const dir = path.dirname(file);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const parts: Buffer[] = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) {
      const shard = path.join(dir, p);
      if (!fs.existsSync(shard)) throw new ModelNotFoundError(`${file} names weight file ${p}, which is missing from ${dir}.`);
      parts.push(fs.readFileSync(shard));
    }
  }
  const all = Buffer.concat(parts);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  const artifacts: tf.io.ModelArtifacts = {
    format: 'graph-model',
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy ?? undefined,
    modelTopology: json.modelTopology,
    weightSpecs: specs,
    weightData,
    signature: json.signature,
    userDefinedMetadata: json.userDefinedMetadata as { [key: string]: {} } | undefined,
    modelInitializer: json.modelInitializer,
  };
  return tf.loadGraphModel(tf.io.fromMemory(artifacts));
}

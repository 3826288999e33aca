/**
 * Finding and parsing a model folder's model.json, with a sentence for each way it can be
 * missing or unreadable (tfjs and JSON.parse would otherwise speak for us).
 */
import * as fs from 'fs';
import * as path from 'path';
import { ModelFileError, ModelNotFoundError } from './errors';

export type ModelJson = Record<string, unknown>;

const HOW_TO_GET_ONE =
  'Pass a folder holding model.json and its weight files (from `gradcam train --out DIR` or ' +
  'tensorflowjs_converter --output_format=tfjs_layers_model or tfjs_graph_model), or omit the path to use the shipped CIFAR-10 model.';

function statOrNull(p: string): fs.Stats | null {
  try {
    return fs.statSync(p);
  } catch {
    return null;
  }
}

/** Resolves a model folder or a model.json path to the model.json file, with a clear error. */
export function resolveModelJson(location: string): string {
  const asFile = location.endsWith('.json');
  const file = asFile ? location : path.join(location, 'model.json');
  const folder = path.dirname(file);
  const given = statOrNull(location);
  if (!asFile && given?.isFile()) {
    throw new ModelNotFoundError(`No tfjs model at ${location}: it is a file, not a model folder. ${HOW_TO_GET_ONE}`);
  }
  const found = statOrNull(file);
  if (found?.isDirectory()) {
    throw new ModelNotFoundError(`No tfjs model at ${file}: it is a folder, not a model.json file. ${HOW_TO_GET_ONE}`);
  }
  if (!found) {
    const why = !statOrNull(folder) ? `the folder ${folder} does not exist` : `${folder} has no ${path.basename(file)}`;
    throw new ModelNotFoundError(`No tfjs model at ${file}: ${why}. ${HOW_TO_GET_ONE}`);
  }
  return file;
}

/** model.json parsed, or a sentence naming the file and saying how to get a good one. */
export function readModelJson(file: string): ModelJson {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code ?? (err as Error).message;
    throw new ModelFileError(`Cannot read ${file} (${why}); make it readable or copy the model folder somewhere you can read.`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ModelFileError(
      `${file} is not valid JSON (${(err as Error).message}): the model file is corrupt or cut short; re-download or re-export the model.`,
    );
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ModelFileError(`${file} is JSON but not a tfjs model.json (expected an object with modelTopology and weightsManifest); re-download or re-export the model.`);
  }
  return json as ModelJson;
}

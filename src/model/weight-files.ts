/**
 * Reading a model's weight files from its folder, and only from its folder: a manifest path that
 * is absolute, climbs out with "..", or leaves through a symlink is refused (opening a model
 * someone sent you must not read your files), and each group's files are checked against the
 * bytes the manifest says they hold before tfjs decodes them.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ModelFileError, ModelNotFoundError } from './errors';
import { isInsideFolder } from '../util/paths';
import { groupByteLength, ManifestGroup, WeightEntry } from './weights-manifest';

export interface WeightFiles {
  /** Every group's weight entries, in file order. */
  specs: WeightEntry[];
  /** Every group's files, concatenated in manifest order. */
  data: ArrayBuffer;
}

const REFETCH = 're-download or re-export the model';

/** The real path of weight file `p` named in `file`, refused unless it is a regular file inside the folder. */
function locate(file: string, p: string): string {
  const dir = path.dirname(file);
  const named = `${file} names weight file '${p}'`;
  const refuse = (how: string) =>
    new ModelFileError(`${named}, ${how}, outside the model folder ${dir}; gradcam-ts reads weight files only from the model's own folder. Put the weight file in the folder and name it by its file name, or ${REFETCH}.`);
  if (path.isAbsolute(p)) throw refuse('an absolute path');
  const lexical = path.resolve(dir, p);
  if (!isInsideFolder(lexical, dir)) throw refuse(`which leads to ${lexical}`);
  let real: string;
  try {
    real = fs.realpathSync.native(lexical);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new ModelNotFoundError(`${named}, which is missing from ${dir}: the model folder is incomplete; copy all of its files again, or ${REFETCH}.`);
    }
    throw new ModelFileError(`${named}, which cannot be read (${code ?? (err as Error).message}); make the model folder ${dir} readable.`);
  }
  if (!isInsideFolder(real, fs.realpathSync.native(dir))) throw refuse(`a symbolic link to ${real}`);
  if (!fs.statSync(real).isFile()) {
    throw new ModelFileError(`${named}, which is not a regular file (${real}); the model folder ${dir} is corrupt; ${REFETCH}.`);
  }
  return real;
}

/** The error for a group whose files do not hold the bytes its weights need. */
function sizeError(file: string, g: number, files: { p: string; size: number }[], weights: WeightEntry[], need: number, exact: boolean): ModelFileError {
  const dir = path.dirname(file);
  const total = files.reduce((n, f) => n + f.size, 0);
  const needs = `${exact ? '' : 'at least '}${need} bytes (${weights.length} weights of weightsManifest[${g}])`;
  if (files.length === 0) return new ModelFileError(`${file}'s weightsManifest[${g}] lists no weight files but needs ${needs}: model.json is damaged; ${REFETCH}.`);
  const what =
    files.length === 1
      ? `Weight file ${path.join(dir, files[0].p)} has ${total} bytes, but ${file} needs ${needs}`
      : `Weight files ${files.map((f) => `${f.p} (${f.size} bytes)`).join(', ')} in ${dir} hold ${total} bytes together, but ${file} needs ${needs}`;
  const why =
    total < need
      ? `the model folder ${dir} is incomplete or corrupt (a cut-short download or copy?)`
      : `the weights do not belong to this model.json (files from two exports mixed?); the model folder ${dir} is corrupt`;
  return new ModelFileError(`${what}: ${why}; ${REFETCH}.`);
}

function checkSize(file: string, g: number, group: ManifestGroup, files: { p: string; size: number }[], data?: Uint8Array): void {
  const total = files.reduce((n, f) => n + f.size, 0);
  const { bytes, exact } = groupByteLength(group.weights, data);
  // Strings' lengths are in the data, so before reading only a lower bound is known.
  if (exact ? total !== bytes : total < bytes) throw sizeError(file, g, files, group.weights, bytes, exact);
}

/** All weight files of a checked manifest, read from inside the model folder and size-checked. */
export function readWeightFiles(file: string, groups: ManifestGroup[]): WeightFiles {
  const located = groups.map((group) => group.paths.map((p) => ({ p, real: locate(file, p) })));
  groups.forEach((group, g) => checkSize(file, g, group, located[g].map(({ p, real }) => ({ p, size: fs.statSync(real).size }))));
  const specs: WeightEntry[] = [];
  const parts: Buffer[] = [];
  groups.forEach((group, g) => {
    const read = located[g].map(({ p, real }) => ({ p, bytes: fs.readFileSync(real) }));
    const bytes = Buffer.concat(read.map((r) => r.bytes));
    // Again on what was read: strings' exact sizes, and a file changed since it was measured.
    checkSize(file, g, group, read.map((r) => ({ p: r.p, size: r.bytes.byteLength })), bytes);
    specs.push(...group.weights);
    parts.push(bytes);
  });
  const all = Buffer.concat(parts);
  return { specs, data: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer };
}

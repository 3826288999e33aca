/**
 * Where `gradcam train` writes: --out (default ./gradcam-model in the working directory) and
 * --checkpoint (default <out>/checkpoint). Never inside the package's models/ folder: the shipped
 * model is read-only (a quick run there once replaced it with a 10%-accuracy one).
 */
import * as fs from 'fs';
import * as path from 'path';
import { isInShippedModels, SHIPPED_MODELS_ROOT, ShippedModelReadOnlyError } from '../model/shipped';

/** The default --out, relative to the working directory. */
export const DEFAULT_TRAIN_OUT = 'gradcam-model';

/** Refuses a folder in the package's models/ (real paths, so a symlink or `..` cannot get in), naming the flag. */
function assertOutsideShippedModels(dir: string, flag: string): void {
  if (!isInShippedModels(dir)) return;
  throw new ShippedModelReadOnlyError(
    `--${flag} ${dir} is inside gradcam-ts's models folder (${SHIPPED_MODELS_ROOT}), which holds the shipped model and is read-only; ` +
      `pick a folder outside it (without --out, gradcam train writes to ./${DEFAULT_TRAIN_OUT}).`,
  );
}

function assertFolderOrAbsent(dir: string, flag: string): void {
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw new Error(`--${flag} ${dir} is a file, not a folder; give a folder (it is made if missing).`);
}

/** The model and checkpoint folders, absolute and checked; `cwd` resolves the relative ones. */
export function trainOutput(out: string | undefined, checkpoint: string | undefined, cwd = process.cwd()): { out: string; checkpointDir: string } {
  const outDir = path.resolve(cwd, out ?? DEFAULT_TRAIN_OUT);
  const checkpointDir = checkpoint === undefined ? path.join(outDir, 'checkpoint') : path.resolve(cwd, checkpoint);
  assertOutsideShippedModels(outDir, 'out');
  assertOutsideShippedModels(checkpointDir, 'checkpoint');
  assertFolderOrAbsent(outDir, 'out');
  assertFolderOrAbsent(checkpointDir, 'checkpoint');
  return { out: outDir, checkpointDir };
}

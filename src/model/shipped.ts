import * as path from 'path';
import { isInsideFolder, realPathOf } from '../util/paths';
import { protectFolder } from '../util/read-only-folders';

/** The trained CIFAR-10 model committed with the package (same path from src/ and dist/). */
export const SHIPPED_MODEL_DIR = path.resolve(__dirname, '../../models/cifar10');
/** Where `gradcam train` keeps its resumable checkpoint for the shipped model. */
export const SHIPPED_CHECKPOINT_DIR = path.resolve(__dirname, '../../models/checkpoints/cifar10');
/** The package's models folder: the shipped model and its checkpoint, which gradcam-ts never writes. */
export const SHIPPED_MODELS_ROOT = path.dirname(SHIPPED_MODEL_DIR);

/** A write into the package's models folder was refused. */
export class ShippedModelReadOnlyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShippedModelReadOnlyError';
  }
}

/** Whether `target` (a file or folder, existing or not) is in the package's models folder, symlinks followed. */
export function isInShippedModels(target: string): boolean {
  return isInsideFolder(realPathOf(target), realPathOf(SHIPPED_MODELS_ROOT), true);
}

/**
 * Refuses a write destination inside the package's models folder, so that no save (a model, a
 * checkpoint, a picture) can replace the shipped model. Call it before any work that ends in a
 * write there, e.g. on `gradcam train --out` before training.
 */
export function assertNotShippedModelDir(target: string): void {
  if (isInShippedModels(target)) throw readOnly(target);
}

function readOnly(target: string): ShippedModelReadOnlyError {
  return new ShippedModelReadOnlyError(
    `${target} is inside gradcam-ts's models folder (${SHIPPED_MODELS_ROOT}), which holds the shipped model: the shipped model is read-only. ` +
      'Pass --out with a folder of your own, such as ./gradcam-model.',
  );
}

// Every write through writeFileAtomic (models, checkpoints, pictures) is refused in the models folder.
protectFolder(SHIPPED_MODELS_ROOT, readOnly);

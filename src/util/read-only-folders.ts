/**
 * Folders nothing may write into, each with the error that says why. A room that owns such a
 * folder registers it (model/shipped.ts registers the package's models folder), and
 * writeFileAtomic, the one way files are written, asks here first. Kept in util so that writing a
 * file never needs to import the room that knows why a folder is protected.
 */
import { isInsideFolder, realPathOf } from './paths';

interface ReadOnlyFolder {
  folder: string;
  refuse: (target: string) => Error;
}

const folders: ReadOnlyFolder[] = [];

/** From now on, writes into `folder` (or below it, symlinks followed) throw `refuse(target)`. */
export function protectFolder(folder: string, refuse: (target: string) => Error): void {
  if (!folders.some((f) => f.folder === folder)) folders.push({ folder, refuse });
}

/** Throws the registered error when `target` lies in a protected folder. */
export function assertWritable(target: string): void {
  const real = realPathOf(target);
  const hit = folders.find((f) => isInsideFolder(real, realPathOf(f.folder), true));
  if (hit) throw hit.refuse(target);
}

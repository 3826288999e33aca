/** Path containment, on real paths: what "inside this folder" means once symlinks are followed. */
import * as fs from 'fs';
import * as path from 'path';

/** True when `child` is `folder` itself (if `orSame`) or lies below it; both already resolved. */
export function isInsideFolder(child: string, folder: string, orSame = false): boolean {
  const rel = path.relative(folder, child);
  if (rel === '') return orSame;
  return rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

/**
 * The real path of `p`, following symlinks in the part that exists; the part that does not exist
 * yet (a folder about to be created) is appended as written.
 */
export function realPathOf(p: string): string {
  const missing: string[] = [];
  let at = path.resolve(p);
  for (;;) {
    try {
      return path.join(fs.realpathSync.native(at), ...missing);
    } catch {
      const parent = path.dirname(at);
      if (parent === at) return path.resolve(p);
      missing.unshift(path.basename(at));
      at = parent;
    }
  }
}

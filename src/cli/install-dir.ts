import * as fs from 'fs';
import * as path from 'path';

/**
 * Creates `parent/name` by filling a temp folder beside it and swapping it in, so Jupyter never
 * sees half a kernelspec or half an extension, and a failed install leaves the old one in place.
 */
export async function installFolderAtomically(parent: string, name: string, fill: (tmp: string) => Promise<void>): Promise<string> {
  const dir = path.join(parent, name);
  await fs.promises.mkdir(parent, { recursive: true });
  const tmp = await fs.promises.mkdtemp(path.join(parent, `.${name}-`));
  try {
    await fill(tmp);
    await fs.promises.chmod(tmp, 0o755);
    const old = `${dir}.old-${process.pid}`;
    const had = fs.existsSync(dir);
    if (had) await fs.promises.rename(dir, old);
    await fs.promises.rename(tmp, dir);
    if (had) await fs.promises.rm(old, { recursive: true, force: true });
  } catch (e) {
    await fs.promises.rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return dir;
}

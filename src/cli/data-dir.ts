/** Where the CLI finds CIFAR-10: --data, else env GRADCAM_CIFAR10_DIR, else the cache (downloading if needed). */
import * as fs from 'fs';
import * as path from 'path';

export async function resolveDataDir(explicit: string | undefined): Promise<string> {
  const dir = explicit ?? process.env.GRADCAM_CIFAR10_DIR;
  if (!dir || !fs.existsSync(path.join(dir, 'test_batch.bin'))) {
    throw new Error(`CIFAR-10 binary folder not found (${dir ?? 'no --data and no GRADCAM_CIFAR10_DIR'}).`);
  }
  return dir;
}

export function describeDataLocation(): string {
  const dir = process.env.GRADCAM_CIFAR10_DIR;
  return dir ? `${dir} (GRADCAM_CIFAR10_DIR)` : 'not configured';
}

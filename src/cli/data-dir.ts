/** Where the CLI finds CIFAR-10: --data, else env GRADCAM_CIFAR10_DIR, else the cache (downloading if needed). */
import { defaultCacheDir, locateCifar10 } from '../data';

export function resolveDataDir(explicit: string | undefined): Promise<string> {
  return locateCifar10({ dir: explicit, log: (m) => console.error(m) });
}

/** The folder that would be used, without downloading anything. */
export async function describeDataLocation(): Promise<string> {
  try {
    const dir = await locateCifar10({ download: false });
    return `${dir}${process.env.GRADCAM_CIFAR10_DIR ? ' (GRADCAM_CIFAR10_DIR)' : ' (cache)'}`;
  } catch {
    return `not found yet: the first command that needs it downloads it into ${defaultCacheDir()} (or set GRADCAM_CIFAR10_DIR)`;
  }
}

/**
 * Shared mocha setup: keep the backend report to one line per run and let tests find the real
 * CIFAR-10 beside the repo (as on our machines and in CI) without copying it anywhere.
 */
import * as path from 'path';

process.env.GRADCAM_QUIET = process.env.GRADCAM_QUIET ?? '1';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
/** The real data set when present (../shared/cifar-10-batches-bin), else undefined. */
export const SHARED_CIFAR10 = path.resolve(REPO_ROOT, '../shared/cifar-10-batches-bin');

/** The error a promise rejects with; fails the test when it resolves instead. */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the promise to reject, but it resolved');
}

/**
 * Shared mocha setup: keep the backend report to one line per run and let tests find the real
 * CIFAR-10 beside the repo (as on our machines and in CI) without copying it anywhere.
 */
import * as path from 'path';

process.env.GRADCAM_QUIET = process.env.GRADCAM_QUIET ?? '1';

export const REPO_ROOT = path.resolve(__dirname, '..');
/** The real data set when present (../shared/cifar-10-batches-bin), else undefined. */
export const SHARED_CIFAR10 = path.resolve(REPO_ROOT, '../shared/cifar-10-batches-bin');

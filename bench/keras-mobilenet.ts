/**
 * A Keras 224x224 MobileNetV2 (random weights, 5 classes) made, converted and timed in TensorFlow by
 * python/keras_bench.py in the Keras environment (python/venv keras), in a temp folder removed after.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..');
export const KERAS_PYTHON = path.join(ROOT, '.venv-keras', 'bin', 'python');

/**
 * Runs `use` with the folder holding the converted model (`layers/`, `graph/`) and the last line
 * keras_bench.py printed (its TensorFlow timings, JSON); `runs` TensorFlow timing runs (1: barely time it).
 */
export async function withKerasMobileNet<T>(use: (dir: string, tensorflowTimes: string) => Promise<T>, runs?: number): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradcam-keras-mobilenet-'));
  try {
    const args = [path.join(ROOT, 'python', 'keras_bench.py'), '--out', dir, ...(runs === undefined ? [] : ['--runs', String(runs)])];
    const r = spawnSync(KERAS_PYTHON, args, { encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } });
    if (r.status !== 0) throw new Error(`python/keras_bench.py failed:\n${r.stderr.slice(-3000)}`);
    return await use(dir, r.stdout.trim().split('\n').pop() as string);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

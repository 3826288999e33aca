/**
 * The project's own Jupyter: a Python environment at <package>/.venv made from the pinned, hashed
 * lock python/jupyter.txt by python/venv (JupyterLab 4.6, Notebook 7.6, ipywidgets 8.1 and the
 * test clients). `gradcam lab` and the kernel/UI tests run this Jupyter, so what is tested is
 * what users open. The kernel and widget go into its prefix, never into the user's global Jupyter.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export const PACKAGE_ROOT = path.resolve(__dirname, '..', '..');
export const JUPYTER_VENV = path.join(PACKAGE_ROOT, '.venv');
export const JUPYTER_PYTHON = path.join(JUPYTER_VENV, 'bin', 'python');
const VENV_SCRIPT = path.join(PACKAGE_ROOT, 'python', 'venv');

/** Modules the tests and `gradcam lab` import from the environment. */
const REQUIRED_MODULES = ['jupyterlab', 'notebook', 'jupyterlab_widgets', 'jupyter_server', 'jupyter_client', 'jupyter_kernel_test', 'nbclient', 'nbconvert', 'zmq'];

/** Why the project's Jupyter cannot run, or undefined when it can. */
export function missingJupyterEnv(): string | undefined {
  if (!fs.existsSync(JUPYTER_PYTHON)) return `${JUPYTER_VENV} does not exist; create it with \`python/venv jupyter\` (npm run setup does)`;
  const r = spawnSync(JUPYTER_PYTHON, ['-c', `import ${REQUIRED_MODULES.join(', ')}`], { encoding: 'utf8' });
  if (r.status !== 0) return `${JUPYTER_VENV} lacks a module (${r.stderr.trim().split('\n').pop()}); refresh it with \`python/venv jupyter\``;
  return undefined;
}

/**
 * Create or refresh the environment from the lock (does nothing when it matches; needs PyPI
 * only when the lock changed). Progress goes to the terminal.
 */
export function ensureJupyterEnv(): void {
  if (!fs.existsSync(VENV_SCRIPT)) throw new Error(`${VENV_SCRIPT} is missing: this copy of gradcam-ts is incomplete; reinstall it`);
  const r = spawnSync('bash', [VENV_SCRIPT, 'jupyter'], { stdio: 'inherit' });
  if (r.status !== 0) {
    throw new Error(
      `could not make the Jupyter environment ${JUPYTER_VENV} (python/venv exited with ${r.status ?? r.signal}); ` +
        'it needs python3 with venv (apt-get install python3-venv) and PyPI the first time; the output above says which step failed',
    );
  }
}

/** A program of the environment (jupyter, jupyter-lab, ...). */
export function jupyterBin(name: string): string {
  return path.join(JUPYTER_VENV, 'bin', name);
}

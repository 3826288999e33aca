/**
 * A throwaway Jupyter world for the real-client kernel tests: our kernelspec installed into a
 * temp prefix (found through JUPYTER_PATH), and a kernel working folder whose
 * node_modules/gradcam-ts is a symlink to this repo, so notebook cells import the package the way
 * a user's notebook does. tslab is linked beside it for cells that `import "tslab"`.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { installKernel } from '../../src/cli/install-kernel';
import { JUPYTER_PYTHON, missingJupyterEnv } from '../../src/cli/jupyter-env';

export const REPO = path.resolve(__dirname, '..', '..');
/** The project's pinned Jupyter (python/jupyter.txt in .venv): what users run is what is tested. */
export const PYTHON = JUPYTER_PYTHON;
const PY_DIR = path.join(REPO, 'test', 'python');

export interface KernelWorld {
  root: string;
  env: NodeJS.ProcessEnv;
  workdir: string;
  /** How cells import the package ("gradcam-ts" once the entry point re-exports the kernel API). */
  importName: string;
}

/**
 * Why the real-client tests cannot run here, or undefined when they can. Under CI=true, where
 * .ci/run makes the environment, its absence throws: those tests must never silently skip there.
 */
export function missingPrerequisite(): string | undefined {
  const missing = missingJupyterEnv();
  if (missing && process.env.CI) throw new Error(`the pinned Jupyter environment is missing in CI, where .ci/run makes it: ${missing}`);
  return missing;
}

export async function createKernelWorld(): Promise<KernelWorld> {
  const launcher = path.join(REPO, 'dist', 'jupyter', 'launcher.js');
  if (!fs.existsSync(launcher)) throw new Error(`${launcher} is missing: the kernel runs compiled code; run \`npm run build\` first`);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gradcam-kernel-'));
  const prefix = path.join(root, 'prefix');
  await installKernel({ prefix });
  const workdir = path.join(root, 'work');
  fs.mkdirSync(path.join(workdir, 'node_modules'), { recursive: true });
  fs.symlinkSync(REPO, path.join(workdir, 'node_modules', 'gradcam-ts'), 'dir');
  fs.symlinkSync(path.join(REPO, 'node_modules', 'tslab'), path.join(workdir, 'node_modules', 'tslab'), 'dir');
  const entry = path.join(REPO, 'dist', 'index.d.ts');
  const reexported = fs.existsSync(entry) && /WidgetModel|from '\.\/jupyter'/.test(fs.readFileSync(entry, 'utf8'));
  const importName = reexported ? 'gradcam-ts' : 'gradcam-ts/dist/jupyter';
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    JUPYTER_PATH: path.join(prefix, 'share', 'jupyter'),
    JUPYTER_DATA_DIR: path.join(root, 'data'),
    JUPYTER_RUNTIME_DIR: path.join(root, 'runtime'),
    JUPYTER_CONFIG_DIR: path.join(root, 'config'),
    JUPYTER_PLATFORM_DIRS: '1',
    GRADCAM_KERNEL_WORKDIR: workdir,
    GRADCAM_IMPORT: importName,
    PYTHONDONTWRITEBYTECODE: '1',
  };
  return { root, env, workdir, importName };
}

/**
 * Mocha hooks for a suite that talks to a real kernel through the .venv's Jupyter clients: made
 * before the suite (skipped, with the reason, when Jupyter or the build is missing) and removed
 * after it. Tests call the returned function for the world.
 */
export function useKernelWorld(): () => KernelWorld {
  let world: KernelWorld | undefined;
  before(async function () {
    const missing = missingPrerequisite();
    if (missing) {
      console.warn(`    skipping the real-client kernel tests: ${missing}`);
      this.skip();
    }
    world = await createKernelWorld();
  });
  after(() => removeKernelWorld(world));
  return () => {
    if (!world) throw new Error('useKernelWorld: the world is made in a before hook; call this inside a test.');
    return world;
  };
}

export function removeKernelWorld(world: KernelWorld | undefined): void {
  if (world) fs.rmSync(world.root, { recursive: true, force: true });
}

export interface PyResult {
  code: number | null;
  out: string;
}

/** Run one of test/python/*.py; output is collected (stdout + stderr interleaved). */
export function runPython(world: KernelWorld, script: string, args: string[] = [], timeoutMs = 150_000): Promise<PyResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [path.join(PY_DIR, script), ...args], { cwd: PY_DIR, env: world.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not finish within ${timeoutMs} ms; output so far:\n${out}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

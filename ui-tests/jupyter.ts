/**
 * The real Jupyter a user opens with `gradcam lab`: the pinned environment's `jupyter lab` (or
 * `jupyter notebook`), with our kernel and widget installed into its prefix, started on a free
 * loopback port in a throwaway folder holding copies of the notebooks, and stopped afterwards.
 * User-level settings, workspaces and runtime files go to temp folders so a developer's own
 * JupyterLab settings (theme, saved layout) cannot change what the tests see.
 */
import { spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { installIntoJupyterEnv } from '../src/cli/lab';
import { jupyterBin, JUPYTER_VENV, missingJupyterEnv, PACKAGE_ROOT } from '../src/cli/jupyter-env';
import { freePort, spawnJupyter } from '../test/support/e2e/server';
import type { GradCamFrontEnd } from '../src/gradcam-widget/front-end';

export type JupyterApp = 'lab' | 'notebook';

export interface RunningJupyter {
  app: JupyterApp;
  /** http://127.0.0.1:PORT/ */
  base: string;
  token: string;
  /** The served folder (copies of the notebooks). */
  root: string;
  /** Everything the server printed (our kernel's log lines included), for failure reports. */
  log(): string;
  stop(): Promise<void>;
}

/** Why the UI tests cannot run; under CI=true (where .ci/run makes the environment) a throw. */
export function missingUiPrerequisite(): string | undefined {
  const missing =
    missingJupyterEnv() ??
    (fs.existsSync(process.env.CHROMIUM_PATH ?? '/usr/bin/chromium') ? undefined : 'Chromium is absent (apt-get install chromium)') ??
    (fs.existsSync(path.join(PACKAGE_ROOT, 'dist', 'jupyter', 'launcher.js')) ? undefined : 'the kernel is not built (npm run build)') ??
    (fs.existsSync(path.join(PACKAGE_ROOT, 'widget', 'labextension', 'package.json')) ? undefined : 'the labextension is not built (npm run build)');
  if (missing && process.env.CI) throw new Error(`UI tests cannot run in CI: ${missing}`);
  return missing;
}

/** What `jupyter labextension list` says of extension `name` (e.g. "enabled OK"). */
export function labextensionStatus(name = OUR_EXTENSION): string {
  const r = spawnSync(jupyterBin('jupyter'), ['labextension', 'list'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  const text = `${r.stdout}\n${r.stderr}`.replace(/\x1b\[[0-9;]*m/g, '');
  return text.split('\n').find((l) => l.includes(name))?.trim() ?? `(not listed)\n${text}`;
}

/** A folder holding copies of `notebooks` and a node_modules/gradcam-ts link, as in notebooks/. */
function makeRoot(notebooks: readonly string[]): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gradcam-ui-'));
  for (const nb of notebooks) fs.copyFileSync(path.join(PACKAGE_ROOT, 'notebooks', nb), path.join(root, nb));
  fs.mkdirSync(path.join(root, 'node_modules'));
  fs.symlinkSync(PACKAGE_ROOT, path.join(root, 'node_modules', 'gradcam-ts'), 'dir');
  // As npm hoists gradcam-ts's TensorFlow.js in a user's project: notebooks that import it (07) find it.
  fs.symlinkSync(path.join(PACKAGE_ROOT, 'node_modules', '@tensorflow'), path.join(root, 'node_modules', '@tensorflow'), 'dir');
  return root;
}

/** User settings for a quiet, reproducible page: no news or update pop-ups over the notebook. */
function writeSettings(dir: string): void {
  const file = path.join(dir, '@jupyterlab', 'apputils-extension', 'notification.jupyterlab-settings');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ fetchNews: 'false', checkForUpdates: false }));
}

/** Which front end the kernel opens the widget for, and whether the page may load our labextension. */
export interface SessionOptions {
  /** $GRADCAM_WIDGET of the kernels this server starts. */
  frontEnd: GradCamFrontEnd;
  /**
   * False: JupyterLab looks for prebuilt extensions only in a temp folder linking every one of the
   * environment's but ours, as a JupyterLab that never had it installed (it serves none of our files).
   */
  ourExtension?: boolean;
}

/** The labextension the tests leave out with ourExtension: false. */
export const OUR_EXTENSION = 'gradcam-ts-widget';

export async function startJupyter(app: JupyterApp, notebooks: readonly string[], options: SessionOptions, timeoutMs = 120_000): Promise<RunningJupyter> {
  await installIntoJupyterEnv();
  const root = makeRoot(notebooks);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'gradcam-ui-home-'));
  const settings = path.join(home, 'settings');
  writeSettings(settings);
  const extensionArgs: string[] = [];
  if (options.ourExtension === false) {
    const installed = path.join(JUPYTER_VENV, 'share', 'jupyter', 'labextensions');
    const others = path.join(home, 'labextensions');
    fs.mkdirSync(others);
    for (const name of fs.readdirSync(installed)) if (name !== OUR_EXTENSION) fs.symlinkSync(path.join(installed, name), path.join(others, name));
    extensionArgs.push(`--LabApp.labextensions_path=${others}`);
  }
  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    JUPYTER_DATA_DIR: path.join(home, 'data'), // no per-user kernelspec can shadow the one in the prefix
    JUPYTER_CONFIG_DIR: path.join(home, 'config'),
    JUPYTER_RUNTIME_DIR: path.join(home, 'runtime'),
    JUPYTERLAB_SETTINGS_DIR: settings,
    JUPYTERLAB_WORKSPACES_DIR: path.join(home, 'workspaces'),
    GRADCAM_QUIET: '0', // the backend report must appear, on stdout, and not as an error
    GRADCAM_WIDGET: options.frontEnd,
    PYTHONDONTWRITEBYTECODE: '1',
  };
  const shared = path.resolve(PACKAGE_ROOT, '..', 'shared', 'cifar-10-batches-bin');
  if (!env.GRADCAM_CIFAR10_DIR && fs.existsSync(path.join(shared, 'test_batch.bin'))) env.GRADCAM_CIFAR10_DIR = shared;
  const args = [
    '--no-browser',
    '--ServerApp.ip=127.0.0.1',
    `--ServerApp.port=${port}`,
    '--ServerApp.port_retries=0',
    `--ServerApp.token=${token}`,
    `--ServerApp.root_dir=${root}`,
    '--LabApp.news_url=',
    ...extensionArgs,
    ...(process.getuid?.() === 0 ? ['--allow-root'] : []),
  ];
  const base = `http://127.0.0.1:${port}/`;
  const removeFolders = (): void => {
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(home, { recursive: true, force: true });
  };
  let server: Awaited<ReturnType<typeof spawnJupyter>>;
  try {
    server = await spawnJupyter(`jupyter ${app}`, jupyterBin(app === 'lab' ? 'jupyter-lab' : 'jupyter-notebook'), args, { cwd: root, env }, base, token, timeoutMs, 15_000);
  } catch (e) {
    removeFolders();
    throw e;
  }
  const stop = async (): Promise<void> => {
    await server.stop();
    removeFolders();
  };
  return { app, base, token, root, log: server.log, stop };
}

/** The kernel's own log lines ("[gradcam-ts kernel] ...") from the server's output. */
export function kernelLogLines(server: RunningJupyter): string[] {
  return server.log().split('\n').filter((l) => l.includes('[gradcam-ts kernel]'));
}

export { JUPYTER_VENV };

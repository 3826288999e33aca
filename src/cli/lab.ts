/**
 * `gradcam lab [--notebook] [--port N] [--dir DIR]`: open the notebooks in the project's own
 * JupyterLab 4 (or Notebook 7). Makes or refreshes the pinned environment when needed, installs
 * our kernel and widget into its prefix (never into the user's global Jupyter), then runs the
 * server on 127.0.0.1 until Ctrl-C. Jupyter prints the URL with its token; we print it once more
 * as the last line so it is easy to find.
 */
import * as fs from 'fs';
import * as path from 'path';
import { numberFlag, ParsedArgs, rejectUnknown, stringFlag, switchFlag } from './args';
import { installKernel, KERNEL_DISPLAY_NAME } from './install-kernel';
import { installWidget } from './install-widget';
import { ensureJupyterEnv, jupyterBin, JUPYTER_VENV, PACKAGE_ROOT } from './jupyter-env';
import { assertPortFree, parsePort } from './port';
import { jupyterRuntimeDir, runServer } from './server-process';

export interface LabOptions {
  /** Notebook 7 instead of JupyterLab 4. */
  notebook?: boolean;
  /** Absent: Jupyter picks a free port from 8888 up. Given: that port or a refusal, never another. */
  port?: number;
  /** The folder to open; default the package's notebooks/. */
  dir?: string;
}

/** Kernel + widget into the environment's prefix, so this Jupyter (and only it) sees them. */
export async function installIntoJupyterEnv(): Promise<void> {
  await installKernel({ prefix: JUPYTER_VENV });
  await installWidget({ prefix: JUPYTER_VENV });
}

/** The server's command line (exported for the test that checks it without starting a server). */
export function labCommandLine(opts: LabOptions): { program: string; args: string[] } {
  const app = opts.notebook ? 'jupyter-notebook' : 'jupyter-lab';
  const root = path.resolve(opts.dir ?? path.join(PACKAGE_ROOT, 'notebooks'));
  const args = ['--no-browser', '--ServerApp.ip=127.0.0.1', `--ServerApp.root_dir=${root}`];
  // Jupyter would move to the next free port without a word; a port the user chose is kept or refused.
  if (opts.port) args.push(`--ServerApp.port=${opts.port}`, '--ServerApp.port_retries=0');
  if (process.getuid?.() === 0) args.push('--allow-root'); // containers and CI run as root
  return { program: jupyterBin(app), args };
}

export async function lab(opts: LabOptions): Promise<number> {
  const root = path.resolve(opts.dir ?? path.join(PACKAGE_ROOT, 'notebooks'));
  if (!fs.existsSync(root)) throw new Error(`gradcam lab: the folder ${root} does not exist; pass an existing one with --dir DIR`);
  if (opts.port) await assertPortFree(parsePort(opts.port));
  ensureJupyterEnv();
  await installIntoJupyterEnv();
  const { program, args } = labCommandLine(opts);
  const name = opts.notebook ? 'Notebook 7' : 'JupyterLab 4';
  console.log(`gradcam lab: starting ${name} on ${root} with the "${KERNEL_DISPLAY_NAME}" kernel (Ctrl-C stops it)`);
  // Jupyter logs to stderr; pass it through and repeat the URL once the server is up.
  let announced = false;
  const onStderr = (d: Buffer): void => {
    process.stderr.write(d);
    const m = /(http:\/\/127\.0\.0\.1:\d+\/(?:lab|tree)\?token=\w+)/.exec(d.toString());
    if (m && !announced) {
      announced = true;
      console.log(`\ngradcam lab: open ${m[1]}\n`);
    }
  };
  try {
    return await runServer({ program, args, onStderr, runtimeDir: () => jupyterRuntimeDir(jupyterBin('jupyter')) });
  } catch (e) {
    console.error(`gradcam lab: could not start ${program}: ${(e as Error).message}; refresh the environment with \`python/venv jupyter\``);
    return 1;
  }
}

/** `gradcam lab [--notebook] [--port N] [--dir DIR]`. */
export async function labCommand(args: ParsedArgs): Promise<number> {
  rejectUnknown(args, ['notebook', 'port', 'dir'], 'lab');
  const port = stringFlag(args, 'port') === undefined ? undefined : parsePort(numberFlag(args, 'port', 0));
  return lab({ notebook: switchFlag(args, 'notebook'), port, dir: stringFlag(args, 'dir') });
}

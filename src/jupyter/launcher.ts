/**
 * The gradcam-ts Jupyter kernel: tslab's TypeScript kernel, extended with Jupyter comms and the
 * ipywidgets-8 protocol. The kernelspec runs `node dist/jupyter/launcher.js {connection_file}`.
 *
 * It starts tslab the way `tslab kernel --config-path FILE` does, except that it never hands
 * over to a tslab found in the notebook's folder (tslab's "find local" step): that copy would
 * not carry our patch.
 */
import { patchTslab, kernelLog, TslabPatchError } from './tslab-patch';
import type { TslabModules } from './tslab-patch';
import { ownProcessErrors } from './process-errors';

interface TslabMain {
  startKernel(opts: { configPath: string; enableFindLocal: boolean; jsKernel: boolean; globalVersion: string }): void;
}

/** `launcher.js FILE`, `--config-path FILE` or `--config-path=FILE`. */
export function connectionFileFrom(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--config-path') return argv[i + 1];
    if (a.startsWith('--config-path=')) return a.slice('--config-path='.length);
    if (!a.startsWith('-')) return a;
  }
  return undefined;
}

/**
 * Exit when the process that started us is gone. A Jupyter server or client that is killed
 * (not shut down) never sends shutdown_request, and tslab would otherwise run on forever,
 * holding a core and a gigabyte. Jupyter names its pid in JPY_PARENT_PID, as ipykernel uses it.
 */
export function exitWithParent(parentPid = Number(process.env.JPY_PARENT_PID ?? process.ppid), everyMs = 2000): NodeJS.Timeout | undefined {
  if (!Number.isInteger(parentPid) || parentPid <= 1) return undefined;
  const timer = setInterval(() => {
    let alive = true;
    try {
      process.kill(parentPid, 0);
    } catch (e) {
      alive = (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, but not ours to signal
    }
    if (!alive || process.ppid === 1) {
      kernelLog(`the parent process ${parentPid} is gone; exiting`);
      process.exit(0);
    }
  }, everyMs);
  timer.unref();
  return timer;
}

export function launch(argv: readonly string[]): void {
  const configPath = connectionFileFrom(argv);
  if (!configPath) {
    throw new Error('usage: node dist/jupyter/launcher.js <connection_file>  (Jupyter passes {connection_file})');
  }
  const version = (require('tslab/package.json') as { version: string }).version;
  const mods: TslabModules = { version, jupyter: require('tslab/dist/jupyter') as TslabModules['jupyter'] };
  const main = require('tslab/dist/main') as Partial<TslabMain>;
  if (typeof main.startKernel !== 'function') throw new TslabPatchError(version, 'dist/main.js exports no startKernel');
  // Front ends draw stderr as an error box; the backend's one-line report is information.
  process.env.GRADCAM_REPORT = process.env.GRADCAM_REPORT ?? 'stdout';
  const runtime = patchTslab(mods);
  runtime.install();
  kernelLog(`starting (tslab ${version}, node ${process.version}, cwd ${process.cwd()})`);
  main.startKernel({ configPath, enableFindLocal: false, jsKernel: false, globalVersion: version });
  // After startKernel: it installs tslab's own console.error handlers, which this replaces.
  ownProcessErrors(process, { report: (error, kind) => runtime.reportStray(error, kind), log: kernelLog });
  exitWithParent();
}

if (require.main === module) {
  try {
    launch(process.argv.slice(2));
  } catch (e) {
    kernelLog((e as Error).message);
    process.exit(1);
  }
}

/**
 * Runs a Jupyter server as a child until it exits, and stops it cleanly. Ctrl-C, TERM or HUP sent
 * to us becomes one SIGTERM to the server: Jupyter's clean stop, which shuts its kernels down and
 * deletes its runtime files (jpserver-<pid>.json, jpserver-<pid>-open.html). A second one kills it.
 * The server runs in its own process group, so a terminal's Ctrl-C reaches only us: a SIGINT of its
 * own, without a tty, makes Jupyter quit by KeyboardInterrupt and skip that clean-up, which left
 * the files behind. Whatever a killed server leaves in the runtime folder is removed here.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Jupyter's runtime folder: JUPYTER_RUNTIME_DIR, else what `jupyter --runtime-dir` says. */
export function jupyterRuntimeDir(jupyter: string): string | undefined {
  if (process.env.JUPYTER_RUNTIME_DIR) return process.env.JUPYTER_RUNTIME_DIR;
  const r = spawnSync(jupyter, ['--runtime-dir'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() || undefined : undefined;
}

/** The runtime files of the server with this pid, if it did not delete them itself. */
export function removeServerRuntimeFiles(pid: number, runtimeDir: string | undefined): void {
  if (!runtimeDir) return;
  for (const name of [`jpserver-${pid}.json`, `jpserver-${pid}-open.html`]) fs.rmSync(path.join(runtimeDir, name), { force: true });
}

export interface ServerRun {
  program: string;
  args: string[];
  /** The server's log (Jupyter logs to stderr). */
  onStderr: (chunk: Buffer) => void;
  /** Where its runtime files go; asked once it has exited. */
  runtimeDir: () => string | undefined;
}

/** The server's exit code: 0 after a stop we asked for, 130 if it had to be killed. Rejects if it cannot start. */
export function runServer(run: ServerRun): Promise<number> {
  const child = spawn(run.program, run.args, { stdio: ['ignore', 'inherit', 'pipe'], detached: true });
  child.stderr.on('data', run.onStderr);
  let stops = 0;
  const stop = (): void => {
    stops += 1;
    child.kill(stops === 1 ? 'SIGTERM' : 'SIGKILL');
  };
  // In its own group the server would outlive us; never leave it running.
  const killOnExit = (): void => {
    child.kill('SIGTERM');
  };
  const release = (): void => {
    for (const s of STOP_SIGNALS) process.off(s, stop);
    process.off('exit', killOnExit);
  };
  for (const s of STOP_SIGNALS) process.on(s, stop);
  process.on('exit', killOnExit);
  return new Promise((resolve, reject) => {
    child.on('error', (err) => {
      release();
      reject(err);
    });
    child.on('exit', (code, signal) => {
      release();
      if (child.pid !== undefined) removeServerRuntimeFiles(child.pid, run.runtimeDir());
      if (code !== null) resolve(code);
      else resolve(stops > 0 && signal === 'SIGTERM' ? 0 : 130);
    });
  });
}

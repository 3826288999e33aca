/**
 * Runs a Jupyter server as a child until it exits, and stops it cleanly. Ctrl-C, TERM or HUP sent
 * to us becomes one SIGTERM to the server: Jupyter's clean stop, which shuts its kernels down and
 * deletes its runtime files (jpserver-<pid>.json, jpserver-<pid>-open.html). A second one, or no exit
 * within STOP_GRACE_MS, kills it.
 * The server runs in its own process group, so a terminal's Ctrl-C reaches only us: a SIGINT of its
 * own, without a tty, makes Jupyter quit by KeyboardInterrupt and skip that clean-up, which left
 * the files behind. Whatever a killed server leaves in the runtime folder is removed here.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
/** How long a clean stop may take (kernels shut down) before the server is killed. */
export const STOP_GRACE_MS = 15_000;

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
  /** Default STOP_GRACE_MS. */
  graceMs?: number;
}

/** The server's exit code: 0 after a stop we asked for, 130 if it had to be killed. Rejects if it cannot start. */
export function runServer(run: ServerRun): Promise<number> {
  const child = spawn(run.program, run.args, { stdio: ['ignore', 'inherit', 'pipe'], detached: true });
  child.stderr.on('data', run.onStderr);
  let stops = 0;
  let grace: NodeJS.Timeout | undefined;
  const kill = (): void => {
    child.kill('SIGKILL');
  };
  const stop = (): void => {
    stops += 1;
    if (stops > 1) return kill();
    child.kill('SIGTERM');
    // A server that hangs in its shutdown must not keep the terminal.
    const ms = run.graceMs ?? STOP_GRACE_MS;
    grace = setTimeout(() => {
      console.error(`gradcam lab: the server did not stop within ${ms / 1000} s; killing it`);
      kill();
    }, ms);
  };
  // In its own group the server would outlive us; never leave it running.
  const killOnExit = (): void => {
    child.kill('SIGTERM');
  };
  const release = (): void => {
    clearTimeout(grace);
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

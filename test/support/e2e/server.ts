/**
 * A real Jupyter server for the end-to-end test: the pinned environment's jupyter_server on 127.0.0.1 with a
 * random token, serving the kernelspecs of a KernelWorld (our kernel installed in a temp prefix),
 * open to the test page's origin (CORS) so @jupyterlab/services can talk to it from there.
 */
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import { randomBytes } from 'crypto';
import * as net from 'net';
import type { KernelWorld } from '../kernel-fixture';
import { PYTHON } from '../kernel-fixture';

export interface JupyterServer {
  url: string;
  token: string;
  /** What the server printed, for failure reports. */
  log(): string;
  stop(): Promise<void>;
}

/** Why the server stage cannot run here, or undefined. */
export function missingJupyterServer(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', 'import jupyter_server'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `${PYTHON} has no jupyter_server (make the environment with \`python/venv jupyter\`)`;
}

/** A free loopback port (the OS picks one; the listener is closed before it is used). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function startJupyterServer(world: KernelWorld, allowOrigin: string, timeoutMs = 60_000): Promise<JupyterServer> {
  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  const args = [
    '-m',
    'jupyter_server',
    '--no-browser',
    `--ServerApp.ip=127.0.0.1`,
    `--ServerApp.port=${port}`,
    '--ServerApp.port_retries=0',
    `--ServerApp.token=${token}`,
    `--ServerApp.root_dir=${world.workdir}`,
    `--ServerApp.allow_origin=${allowOrigin.replace(/\/$/, '')}`,
    '--ServerApp.disable_check_xsrf=True',
    ...(process.getuid?.() === 0 ? ['--allow-root'] : []), // CI runs as root
  ];
  const url = `http://127.0.0.1:${port}/`;
  const server = await spawnJupyter('jupyter_server', PYTHON, args, { cwd: world.workdir, env: world.env }, url, token, timeoutMs);
  return { url, token, ...server };
}

/**
 * Starts a Jupyter server process and waits until `${base}api/status` answers; its output is kept
 * for failure reports, and stop() ends it (SIGTERM, which shuts its kernels down, then SIGKILL).
 * A server that exits or does not answer within `timeoutMs` is stopped and reported with its log.
 */
export async function spawnJupyter(
  what: string,
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
  base: string,
  token: string,
  timeoutMs: number,
  killAfterMs = 10_000,
): Promise<{ log: () => string; stop: () => Promise<void> }> {
  const child: ChildProcess = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    await exited;
    clearTimeout(t);
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}:\n${out}`);
    try {
      const res = await fetch(`${base}api/status`, { headers: { Authorization: `token ${token}` } });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${what} did not answer on ${base} within ${timeoutMs} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { log: () => out, stop };
}

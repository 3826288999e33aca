import { expect } from 'chai';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { main } from '../../src/cli/main';
import { labCommandLine } from '../../src/cli/lab';
import { missingJupyterEnv } from '../../src/cli/jupyter-env';
import { spawnCli } from '../support/cli-child';
import { freePort } from '../support/e2e/server';
import { rejection } from '../support/setup';

/** A listener on a loopback port, as another program holding it. */
async function holdPort(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return { port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

function jpserverFiles(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.startsWith('jpserver-')) : [];
}

describe('gradcam lab', function () {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gradcam-lab-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('refuses a --port that is taken, naming it, instead of starting on another', async () => {
    const held = await holdPort();
    try {
      const err = await rejection(main(['lab', '--port', String(held.port), '--dir', tmp]));
      expect(err.message).to.match(new RegExp(`port ${held.port} on 127\\.0\\.0\\.1 is already in use.*pick another with --port`));
    } finally {
      await held.close();
    }
  });

  it('tells Jupyter to keep the chosen port (no retries on the next one)', () => {
    const { args } = labCommandLine({ port: 9123 });
    expect(args).to.include('--ServerApp.port=9123').and.include('--ServerApp.port_retries=0');
    expect(labCommandLine({}).args.join(' ')).not.to.include('port');
  });

  it('refuses a --port that is not a port number', async () => {
    for (const bad of ['0', '70000', '80.5', '-1']) {
      expect((await rejection(main(['lab', `--port=${bad}`, '--dir', tmp]))).message, bad).to.match(/--port must be a whole number from 1 to 65535/);
    }
  });

  it('a server that ignores the stop is killed after the grace time, and its runtime files removed', async function () {
    this.timeout(20_000);
    const runtime = fs.mkdtempSync(path.join(tmp, 'runtime-'));
    // Stands in for a Jupyter that hangs in its shutdown: writes its runtime files, ignores SIGTERM.
    const server = `trap '' TERM; touch ${runtime}/jpserver-$$.json ${runtime}/jpserver-$$-open.html; echo ready >&2; exec sleep 30`; // an ignored signal stays ignored across exec
    const script =
      `require(${JSON.stringify(path.resolve(__dirname, '../../src/cli/server-process.ts'))})` +
      `.runServer({ program: 'bash', args: ['-c', ${JSON.stringify(server)}], onStderr: (d) => process.stderr.write(d), runtimeDir: () => ${JSON.stringify(runtime)}, graceMs: 500 })` +
      '.then((code) => { console.log(`exit ${code}`); });';
    const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), '-e', script]);
    let out = '';
    let interrupted = false;
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
      if (!interrupted && out.includes('ready') && jpserverFiles(runtime).length === 2) {
        interrupted = true;
        child.kill('SIGINT'); // one Ctrl-C: the grace time, not a second Ctrl-C, must end it
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, out).to.equal(0);
    expect(out).to.include('did not stop within 0.5 s; killing it').and.include('exit 130');
    expect(jpserverFiles(runtime)).to.deep.equal([]);
  });

  describe('a real JupyterLab', function () {
    before(function () {
      const missing = missingJupyterEnv();
      if (missing) {
        console.log(`      (skipped: ${missing})`);
        this.skip();
      }
    });

    it('Ctrl-C stops Jupyter and leaves no jpserver-*.json runtime files behind', async function () {
      this.timeout(60_000); // about 6 s when the machine is quiet
      const home = fs.mkdtempSync(path.join(tmp, 'home-'));
      const runtime = path.join(home, 'runtime');
      const port = await freePort();
      // Its own process group, so the test can signal the whole group as a terminal's Ctrl-C does.
      const child = spawnCli(['lab', '--port', String(port), '--dir', tmp], {
        detached: true,
        env: { JUPYTER_RUNTIME_DIR: runtime, JUPYTER_CONFIG_DIR: path.join(home, 'config'), JUPYTER_DATA_DIR: path.join(home, 'data') },
      });
      let log = '';
      const onData = (d: Buffer): void => {
        log += d.toString();
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      /** Resolves when `done()` holds, polling; rejects with the log after `ms`. */
      const until = (what: string, done: () => boolean, ms: number): Promise<void> =>
        new Promise((resolve, reject) => {
          const started = Date.now();
          const poll = setInterval(() => {
            if (done()) {
              clearInterval(poll);
              resolve();
            } else if (Date.now() - started > ms || child.exitCode !== null) {
              clearInterval(poll);
              reject(new Error(`${what} within ${ms / 1000} s; gradcam lab printed:\n${log}`));
            }
          }, 100);
        });
      try {
        // Jupyter logs "To access the server" after writing its runtime files (its first URL lines come before).
        await until('JupyterLab did not serve', () => log.includes('gradcam lab: open http://127.0.0.1:') && log.includes('To access the server'), 40_000);
        expect(jpserverFiles(runtime), 'runtime files while it runs').to.have.length.above(0);
        process.kill(-child.pid!, 'SIGINT');
        await until('gradcam lab did not exit after Ctrl-C', () => child.exitCode !== null, 15_000);
        expect(await exited, log).to.equal(0);
        expect(jpserverFiles(runtime), log).to.deep.equal([]);
      } finally {
        if (child.exitCode === null) process.kill(-child.pid!, 'SIGTERM'); // gradcam lab passes it on to Jupyter
      }
    });
  });
});

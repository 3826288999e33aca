import { expect } from 'chai';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { main } from '../src/cli/main';
import { labCommandLine } from '../src/cli/lab';
import { missingJupyterEnv } from '../src/cli/jupyter-env';
import { spawnCli } from './cli-child';
import { freePort } from './e2e/server';
import { rejection } from './setup';

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

  it('Ctrl-C stops Jupyter and leaves no jpserver-*.json runtime files behind', async function () {
    this.timeout(45_000);
    const missing = missingJupyterEnv();
    if (missing) {
      console.log(`      (skipped: ${missing})`);
      this.skip();
    }
    const home = fs.mkdtempSync(path.join(tmp, 'home-'));
    const runtime = path.join(home, 'runtime');
    const port = await freePort();
    // Its own process group, so the test can signal the whole group as a terminal's Ctrl-C does.
    const child = spawnCli(['lab', '--port', String(port), '--dir', tmp], {
      detached: true,
      env: { JUPYTER_RUNTIME_DIR: runtime, JUPYTER_CONFIG_DIR: path.join(home, 'config'), JUPYTER_DATA_DIR: path.join(home, 'data') },
    });
    let log = '';
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`JupyterLab did not announce its URL in 30 s:\n${log}`)), 30_000);
        const onData = (d: Buffer): void => {
          log += d.toString();
          // Jupyter logs this after writing its runtime files (its first URL lines come before).
          if (log.includes('gradcam lab: open http://127.0.0.1:') && log.includes('To access the server')) {
            clearTimeout(timer);
            resolve();
          }
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.on('close', () => reject(new Error(`gradcam lab exited before serving:\n${log}`)));
      });
      expect(jpserverFiles(runtime), 'runtime files while it runs').to.have.length.above(0);
      process.kill(-child.pid!, 'SIGINT');
      expect(await exited, log).to.equal(0);
      expect(jpserverFiles(runtime), log).to.deep.equal([]);
    } finally {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGTERM'); // gradcam lab passes it on to Jupyter
    }
  });
});

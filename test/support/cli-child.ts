/**
 * The CLI in a child process, as `node bin/gradcam.js` runs it but from the sources (through tsx):
 * for tests that need their own working directory, environment or signals.
 */
import { ChildProcessWithoutNullStreams, spawn, SpawnOptionsWithoutStdio } from 'child_process';
import * as path from 'path';

const MAIN = path.resolve(__dirname, '../../src/cli/main.ts');
// The same top level as bin/gradcam.js: a thrown error becomes "gradcam: <message>" and exit code 1.
const LAUNCHER = `require(${JSON.stringify(MAIN)}).main(process.argv.slice(1)).then((c) => { process.exitCode = c; }, (e) => { console.error('gradcam: ' + (e && e.message ? e.message : e)); process.exitCode = 1; });`;

export function spawnCli(args: string[], options: SpawnOptionsWithoutStdio = {}): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), '-e', LAUNCHER, ...args], {
    ...options,
    env: { ...process.env, GRADCAM_QUIET: '1', ...options.env },
  });
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A child process's exit code and everything it printed, once it ends. */
export function outputOf(child: ChildProcessWithoutNullStreams): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs the CLI to its end. */
export function runCli(args: string[], options: SpawnOptionsWithoutStdio = {}): Promise<CliResult> {
  return outputOf(spawnCli(args, options));
}

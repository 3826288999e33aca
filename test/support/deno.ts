/**
 * The Deno that npm installed (devDependency `deno`, binary from @deno/linux-x64-glibc), for the
 * tests that run gradcam-ts under Deno and in Deno's Jupyter kernel.
 */
import { spawn, SpawnOptionsWithoutStdio } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { REPO_ROOT } from './setup';
import { outputOf } from './cli-child';

/** node_modules/.bin/deno: deno's postinstall links it to the platform package's binary. */
export function denoBinary(): string {
  const bin = path.join(REPO_ROOT, 'node_modules', '.bin', 'deno');
  if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: run npm ci (deno is a devDependency)`);
  return fs.realpathSync(bin);
}

/** The package under test is dist/: built by `npm run build`, which npm test runs first. */
export function requireBuiltPackage(): void {
  const entry = path.join(REPO_ROOT, 'dist', 'index.js');
  if (!fs.existsSync(entry)) throw new Error(`${entry} is missing: run npm run build first (Deno runs the built package)`);
}

/** No update check, no prompts, no colour: a child whose output a test can read. */
export const DENO_ENV = { DENO_NO_UPDATE_CHECK: '1', DENO_NO_PROMPT: '1', NO_COLOR: '1', GRADCAM_QUIET: '1' };

export interface DenoResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `deno <args>` to its end. */
export function runDeno(args: string[], options: SpawnOptionsWithoutStdio = {}): Promise<DenoResult> {
  return outputOf(spawn(denoBinary(), args, { cwd: REPO_ROOT, ...options, env: { ...process.env, ...DENO_ENV, ...options.env } }));
}

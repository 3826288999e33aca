/**
 * Builds the prebuilt JupyterLab 4 extension from npm packages alone:
 *   1. esbuild: widget/src (TypeScript, plus the shared schema/colormap modules) -> lib/index.js,
 *      one ES module that leaves @jupyter-widgets/base to the page's widget manager;
 *   2. @jupyterlab/builder's build-labextension, with our core manifest (core/package.json)
 *      standing in for JupyterLab's -> labextension/{package.json, static/};
 *   3. install.json beside them, as JupyterLab expects of a prebuilt extension.
 * Usage: tsx widget/build.ts [--development]
 */
import { spawnSync } from 'child_process';
import { copyFileSync } from 'fs';
import { join } from 'path';
import { build } from 'esbuild';

const here = __dirname;

export async function buildWidgetBundle(): Promise<void> {
  await build({
    entryPoints: [join(here, 'src', 'index.ts')],
    outfile: join(here, 'lib', 'index.js'),
    bundle: true,
    format: 'esm',
    target: 'es2020',
    platform: 'browser',
    external: ['@jupyter-widgets/base'],
    logLevel: 'warning',
  });
}

export function buildLabextension(development = false): void {
  const cli = require.resolve('@jupyterlab/builder/lib/build-labextension.js');
  const args = [cli, '--core-path', join(here, 'core'), ...(development ? ['--development'] : []), here];
  const run = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (run.status !== 0) {
    process.stdout.write(run.stdout);
    throw new Error(`build-labextension exited with ${run.status ?? run.signal}`);
  }
  copyFileSync(join(here, 'install.json'), join(here, 'labextension', 'install.json'));
}

if (require.main === module) {
  const t0 = Date.now();
  buildWidgetBundle()
    .then(() => buildLabextension(process.argv.includes('--development')))
    .then(() => console.log(`widget: labextension built in ${((Date.now() - t0) / 1000).toFixed(1)} s -> widget/labextension`))
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    });
}

/**
 * Builds the prebuilt JupyterLab 4 extension from npm packages alone:
 *   1. esbuild: widget/src (TypeScript, plus the shared schema/colormap modules) -> lib/index.js,
 *      one ES module that leaves @jupyter-widgets/base to the page's widget manager;
 *   2. @jupyterlab/builder's build-labextension, with our core manifest (core/package.json)
 *      standing in for JupyterLab's -> labextension/{package.json, static/};
 *   3. install.json beside them, as JupyterLab expects of a prebuilt extension;
 *   4. the anywidget front end: widget/src/anywidget-entry.ts and all it imports -> anywidget/index.mjs,
 *      one self-contained ES module (what the kernel sends as `_esm`), and the CSS beside it (`_css`).
 * Usage: tsx widget/build.ts [--development]
 */
import { spawnSync } from 'child_process';
import { copyFileSync, mkdirSync } from 'fs';
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

/** Where the anywidget front end is written; src/gradcam-widget/front-end.ts reads it from here. */
export const ANYWIDGET_DIR = join(here, 'anywidget');

export async function buildAnywidgetBundle(development = false): Promise<void> {
  mkdirSync(ANYWIDGET_DIR, { recursive: true });
  await build({
    entryPoints: [join(here, 'src', 'anywidget-entry.ts')],
    outfile: join(ANYWIDGET_DIR, 'index.mjs'),
    bundle: true,
    format: 'esm',
    target: 'es2020',
    platform: 'browser',
    // It travels in every widget's state (and saved notebooks): as small as it gets.
    minify: !development,
    legalComments: 'none',
    logLevel: 'warning',
  });
  copyFileSync(join(here, 'style', 'index.css'), join(ANYWIDGET_DIR, 'style.css'));
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
  const development = process.argv.includes('--development');
  buildWidgetBundle()
    .then(() => buildLabextension(development))
    .then(() => buildAnywidgetBundle(development))
    .then(() => console.log(`widget: labextension and anywidget module built in ${((Date.now() - t0) / 1000).toFixed(1)} s -> widget/labextension, widget/anywidget`))
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    });
}

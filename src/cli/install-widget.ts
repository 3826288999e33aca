/**
 * `gradcam install-widget`: copies the prebuilt JupyterLab 4 extension (widget/labextension, made
 * by `npm run build`) into <share>/jupyter/labextensions/gradcam-ts-widget/, where JupyterLab 4 and
 * Notebook 7 load it without a rebuild, and the jupyter-config/ files into the matching config dir.
 * The share dir is chosen exactly as for the kernelspec, so kernel and widget land side by side.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { installFolderAtomically } from './install-dir';
import { ParsedArgs, rejectUnknown, stringFlag, switchFlag } from './args';
import { kernelsDir } from './install-kernel';

export const WIDGET_EXTENSION_NAME = 'gradcam-ts-widget';
const REPO = path.resolve(__dirname, '..', '..');

export interface InstallWidgetOptions {
  /** ~/.local/share/jupyter/labextensions (the default). */
  user?: boolean;
  /** The labextensions of the Python environment Jupyter runs in (its sys.prefix). */
  sysPrefix?: boolean;
  /** DIR/share/jupyter/labextensions. */
  prefix?: string;
  /** The built extension to copy; default widget/labextension of this package. */
  source?: string;
}

/** The built extension of this package (after `npm run build`). */
export function labextensionSource(): string {
  return path.join(REPO, 'widget', 'labextension');
}

function checkChoice(opts: InstallWidgetOptions): void {
  const chosen = [opts.user && '--user', opts.sysPrefix && '--sys-prefix', opts.prefix !== undefined && '--prefix'].filter(Boolean);
  if (chosen.length > 1) throw new Error(`install-widget: pick one of --user, --sys-prefix or --prefix DIR (got ${chosen.join(' and ')})`);
  if (opts.prefix !== undefined && opts.prefix.trim() === '') throw new Error('install-widget: --prefix needs a folder, e.g. --prefix /opt/jupyter');
}

/** <data dir>/labextensions for these options (the data dir the kernelspec goes to). */
export function labextensionsDir(opts: InstallWidgetOptions = {}): string {
  checkChoice(opts);
  return path.join(path.dirname(kernelsDir({ user: opts.user, sysPrefix: opts.sysPrefix, prefix: opts.prefix })), 'labextensions');
}

/** The Jupyter config dir that pairs with the data dir: <prefix>/etc/jupyter, or the user's. */
export function configDir(opts: InstallWidgetOptions = {}): string {
  if (opts.prefix !== undefined || opts.sysPrefix) {
    const prefix = path.resolve(labextensionsDir(opts), '..', '..', '..'); // <prefix>/share/jupyter/labextensions
    return path.join(prefix, 'etc', 'jupyter');
  }
  return process.env.JUPYTER_CONFIG_DIR ?? path.join(os.homedir(), '.jupyter');
}

/** Install (or replace) the extension; returns its folder. */
export async function installWidget(opts: InstallWidgetOptions = {}): Promise<string> {
  const source = path.resolve(opts.source ?? labextensionSource());
  const manifest = path.join(source, 'package.json');
  if (!fs.existsSync(manifest) || !fs.existsSync(path.join(source, 'static'))) {
    throw new Error(`install-widget: no built extension at ${source}; build it first with \`npm run build\` (or \`npm run build:widget\`)`);
  }
  const name = (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string }).name;
  if (name !== WIDGET_EXTENSION_NAME) throw new Error(`install-widget: ${manifest} names '${name}', expected '${WIDGET_EXTENSION_NAME}'`);
  const dir = await installFolderAtomically(labextensionsDir(opts), WIDGET_EXTENSION_NAME, (tmp) => fs.promises.cp(source, tmp, { recursive: true }));
  const config = path.join(REPO, 'jupyter-config');
  if (fs.existsSync(path.join(config, 'labconfig'))) {
    await fs.promises.cp(path.join(config, 'labconfig'), path.join(configDir(opts), 'labconfig'), { recursive: true });
  }
  return dir;
}

/** `gradcam install-widget [--user | --sys-prefix | --prefix DIR]`. */
export async function installWidgetCommand(args: ParsedArgs): Promise<number> {
  rejectUnknown(args, ['user', 'sys-prefix', 'prefix'], 'install-widget');
  const dir = await installWidget({ user: switchFlag(args, 'user'), sysPrefix: switchFlag(args, 'sys-prefix'), prefix: stringFlag(args, 'prefix') });
  console.log(`Installed the JupyterLab 4 / Notebook 7 extension "${WIDGET_EXTENSION_NAME}" in ${dir}`);
  console.log('Reload JupyterLab (or Notebook 7); `jupyter labextension list` shows it. It needs ipywidgets 8 (jupyterlab_widgets) in that Jupyter.');
  // The kernel's default front end is anywidget; this extension draws only widgets opened for it.
  console.log("showGradCam draws through anywidget unless told otherwise: for this extension, run the kernel with GRADCAM_WIDGET=labextension or pass { frontEnd: 'labextension' } (docs/widget.md).");
  return 0;
}

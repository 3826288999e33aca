/**
 * Writes the "TypeScript (gradcam-ts)" kernelspec. Its argv holds absolute paths (this node and
 * our launcher), so Jupyter can start it with nothing on PATH.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { installFolderAtomically } from './install-dir';
import { spawnSync } from 'child_process';
import { ParsedArgs, rejectUnknown, stringFlag, switchFlag } from './args';

export const KERNEL_NAME = 'gradcam-ts';
export const KERNEL_DISPLAY_NAME = 'TypeScript (gradcam-ts)';

export interface InstallKernelOptions {
  /** Per-user kernels (~/.local/share/jupyter/kernels on Linux). The default. */
  user?: boolean;
  /** The kernels of the Python environment Jupyter runs in (its sys.prefix). */
  sysPrefix?: boolean;
  /** DIR/share/jupyter/kernels. */
  prefix?: string;
}

/** The per-user Jupyter data dir, as jupyter_core computes it. */
function userDataDir(): string {
  if (process.env.JUPYTER_DATA_DIR) return process.env.JUPYTER_DATA_DIR;
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Jupyter');
  if (process.platform === 'win32') return path.join(process.env.APPDATA ?? os.homedir(), 'jupyter');
  return path.join(process.env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share'), 'jupyter');
}

/** The Python that runs `jupyter` (its shebang), else python3 on PATH. */
function jupyterPythons(): string[] {
  const found: string[] = [];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const exe = path.join(dir, 'jupyter');
    try {
      const first = fs.readFileSync(exe, 'utf8').split('\n', 1)[0];
      if (first.startsWith('#!')) found.push(first.slice(2).trim().split(/\s+/)[0]);
      break;
    } catch {
      // not in this dir
    }
  }
  return [...found, 'python3', 'python'];
}

function sysPrefix(): string {
  for (const py of jupyterPythons()) {
    const r = spawnSync(py, ['-c', 'import sys; print(sys.prefix)'], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim() !== '') return r.stdout.trim();
  }
  return '/usr/local';
}

/** Where the kernelspec folder goes for these options. */
export function kernelsDir(opts: InstallKernelOptions = {}): string {
  const chosen = [opts.user ? '--user' : '', opts.sysPrefix ? '--sys-prefix' : '', opts.prefix !== undefined ? '--prefix' : ''].filter(Boolean);
  if (chosen.length > 1) throw new Error(`install-kernel: pick one of --user, --sys-prefix or --prefix DIR (got ${chosen.join(' and ')})`);
  if (opts.prefix !== undefined) {
    if (opts.prefix.trim() === '') throw new Error('install-kernel: --prefix needs a folder, e.g. --prefix /opt/jupyter');
    return path.join(path.resolve(opts.prefix), 'share', 'jupyter', 'kernels');
  }
  if (opts.sysPrefix) return path.join(sysPrefix(), 'share', 'jupyter', 'kernels');
  return path.join(userDataDir(), 'kernels');
}

/** The compiled launcher (dist/, also when this file runs from src/ under tsx); build first. */
export function launcherPath(): string {
  return path.resolve(__dirname, '..', '..', 'dist', 'jupyter', 'launcher.js');
}

export function kernelSpec(): { argv: string[]; display_name: string; language: string; interrupt_mode: string; metadata: Record<string, unknown> } {
  return {
    argv: [process.execPath, launcherPath(), '{connection_file}'],
    display_name: KERNEL_DISPLAY_NAME,
    language: 'typescript',
    interrupt_mode: 'signal',
    metadata: { 'gradcam-ts': { launcher: launcherPath() } },
  };
}

/** Install (or replace) the kernelspec; returns its folder. */
export async function installKernel(opts: InstallKernelOptions = {}): Promise<string> {
  const launcher = launcherPath();
  if (!fs.existsSync(launcher)) throw new Error(`install-kernel: ${launcher} is missing; build first with \`npm run build\``);
  return installFolderAtomically(kernelsDir(opts), KERNEL_NAME, async (tmp) => {
    await fs.promises.writeFile(path.join(tmp, 'kernel.json'), JSON.stringify(kernelSpec(), null, 2) + '\n');
  });
}

/** `gradcam install-kernel [--user | --sys-prefix | --prefix DIR]`. */
export async function installKernelCommand(args: ParsedArgs): Promise<number> {
  rejectUnknown(args, ['user', 'sys-prefix', 'prefix'], 'install-kernel');
  const dir = await installKernel({ user: switchFlag(args, 'user'), sysPrefix: switchFlag(args, 'sys-prefix'), prefix: stringFlag(args, 'prefix') });
  console.log(`Installed kernelspec "${KERNEL_DISPLAY_NAME}" in ${dir}`);
  console.log(`In JupyterLab pick it from Kernel > Change Kernel..., or from the Launcher's "${KERNEL_DISPLAY_NAME}" tile.`);
  return 0;
}

/**
 * Regenerates the notebooks: each notebooks/src/NN-name.md (markdown, with ```ts fences as code
 * cells) becomes notebooks/NN-name.ipynb, executed top to bottom in our kernel (or Deno's, for a
 * source that starts with `<!-- kernel: deno -->`) so it is committed with its outputs.
 *   npx tsx notebooks/build.ts [NN ...]   (npm run notebooks)
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { installKernel, KERNEL_DISPLAY_NAME, KERNEL_NAME } from '../src/cli/install-kernel';
import { JUPYTER_PYTHON } from '../src/cli/jupyter-env';

export const NOTEBOOK_DIR = __dirname;
/** nbconvert of the pinned Jupyter environment (python/venv jupyter). */
export const PYTHON = JUPYTER_PYTHON;

interface Cell {
  cell_type: 'markdown' | 'code';
  metadata: Record<string, unknown>;
  source: string[];
  outputs?: unknown[];
  execution_count?: null;
  id: string;
}

/** Splits markdown into cells: ```ts fences are code cells, the text between them markdown. */
export function cellsFromMarkdown(md: string): Cell[] {
  const cells: Cell[] = [];
  const push = (type: Cell['cell_type'], text: string) => {
    const body = text.replace(/^\n+|\s+$/g, '');
    if (!body) return;
    const source = body.split('\n').map((l, i, all) => (i < all.length - 1 ? `${l}\n` : l));
    const id = `${type}-${cells.length}`;
    cells.push(type === 'code' ? { cell_type: 'code', metadata: {}, source, outputs: [], execution_count: null, id } : { cell_type: 'markdown', metadata: {}, source, id });
  };
  const fence = /```ts\n([\s\S]*?)```/g;
  let at = 0;
  for (let m = fence.exec(md); m; m = fence.exec(md)) {
    push('markdown', md.slice(at, m.index));
    push('code', m[1]);
    at = m.index + m[0].length;
  }
  push('markdown', md.slice(at));
  return cells;
}

/** A source that starts with this comment is a notebook for Deno's kernel (`deno jupyter`). */
const DENO_MARK = /^<!--\s*kernel:\s*deno\s*-->\n/;
/** The kernelspec `deno jupyter --install` writes by default (name "deno", display name "Deno"). */
export const DENO_KERNEL_NAME = 'deno';
/** The Deno that npm installed (devDependency), whose kernelspec the notebooks are executed with. */
export const DENO_BINARY = path.join(NOTEBOOK_DIR, '..', 'node_modules', '.bin', 'deno');

export function notebookFromMarkdown(md: string): object {
  const deno = DENO_MARK.test(md);
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: deno
      ? {
          kernelspec: { name: DENO_KERNEL_NAME, display_name: 'Deno', language: 'typescript' },
          language_info: { name: 'typescript', file_extension: '.ts', mimetype: 'text/x.typescript', codemirror_mode: 'typescript', pygments_lexer: 'typescript' },
        }
      : {
          kernelspec: { name: KERNEL_NAME, display_name: KERNEL_DISPLAY_NAME, language: 'typescript' },
          language_info: { name: 'typescript', file_extension: '.ts', mimetype: 'text/typescript' },
        },
    cells: cellsFromMarkdown(md.replace(DENO_MARK, '')),
  };
}

/**
 * Deno's kernelspec, installed by Deno itself (`deno jupyter --install`, which writes to
 * $XDG_DATA_HOME/jupyter/kernels/deno) into `dataHome`; its argv is the npm-installed deno binary.
 */
export function installDenoKernelspec(dataHome: string): void {
  const r = spawnSync(DENO_BINARY, ['jupyter', '--install', '--force'], {
    env: { ...process.env, XDG_DATA_HOME: dataHome, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
    encoding: 'utf8',
  });
  const spec = path.join(dataHome, 'jupyter', 'kernels', DENO_KERNEL_NAME, 'kernel.json');
  if (r.status !== 0 || !fs.existsSync(spec)) {
    throw new Error(`deno jupyter --install failed (exit ${r.status}; is deno installed? run npm ci): ${(r.error?.message ?? r.stderr ?? '').slice(-2000)}`);
  }
}

/** Environment in which nbconvert finds our kernel (installed into a temp prefix) and the data. */
export async function executionEnv(): Promise<{ env: NodeJS.ProcessEnv; cleanup: () => void }> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gradcam-nb-'));
  await installKernel({ prefix: root });
  installDenoKernelspec(path.join(root, 'share')); // beside ours, in the same share/jupyter/kernels
  const env: NodeJS.ProcessEnv = { ...process.env, JUPYTER_PATH: path.join(root, 'share', 'jupyter'), GRADCAM_QUIET: '0' };
  const shared = path.resolve(NOTEBOOK_DIR, '../../shared/cifar-10-batches-bin');
  if (!env.GRADCAM_CIFAR10_DIR && fs.existsSync(path.join(shared, 'test_batch.bin'))) env.GRADCAM_CIFAR10_DIR = shared;
  return { env, cleanup: () => fs.rmSync(root, { recursive: true, force: true }) };
}

/**
 * Executes `input` with nbconvert into `output` (may be the same file) in the kernel its metadata
 * names (ours unless it is a Deno notebook); throws with nbconvert's output on failure.
 */
export function executeNotebook(input: string, output: string, env: NodeJS.ProcessEnv, timeoutSeconds = 1200): void {
  const named = (JSON.parse(fs.readFileSync(input, 'utf8')) as { metadata?: { kernelspec?: { name?: unknown } } }).metadata?.kernelspec?.name;
  const kernel = named === DENO_KERNEL_NAME ? DENO_KERNEL_NAME : KERNEL_NAME;
  const args = ['-m', 'nbconvert', '--to', 'notebook', '--execute', `--ExecutePreprocessor.timeout=${timeoutSeconds}`,
    `--ExecutePreprocessor.kernel_name=${kernel}`, '--output-dir', path.dirname(output), '--output', path.basename(output), input];
  // The kernel runs in the notebook's folder, where node_modules/gradcam-ts links to this repo.
  const r = spawnSync(PYTHON, args, { cwd: NOTEBOOK_DIR, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`nbconvert failed on ${path.basename(input)} (exit ${r.status}):\n${(r.stderr || '').slice(-4000)}`);
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const sources = fs.readdirSync(path.join(NOTEBOOK_DIR, 'src')).filter((f) => f.endsWith('.md')).sort()
    .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)));
  const { env, cleanup } = await executionEnv();
  try {
    for (const file of sources) {
      const target = path.join(NOTEBOOK_DIR, file.replace(/\.md$/, '.ipynb'));
      const tmp = `${target}.tmp.ipynb`;
      fs.writeFileSync(tmp, `${JSON.stringify(notebookFromMarkdown(fs.readFileSync(path.join(NOTEBOOK_DIR, 'src', file), 'utf8')), null, 1)}\n`);
      const started = Date.now();
      try {
        executeNotebook(tmp, tmp, env);
        fs.renameSync(tmp, target); // only a fully executed notebook replaces the committed one
      } finally {
        fs.rmSync(tmp, { force: true });
      }
      console.log(`${path.basename(target)}: executed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }
  } finally {
    cleanup();
  }
}

if (require.main === module) {
  main().catch((err: Error) => {
    console.error(err.message);
    process.exitCode = 1;
  });
}

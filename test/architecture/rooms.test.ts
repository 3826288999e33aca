/**
 * The house rules of docs/architecture.md, checked on the source itself: the engine bundles for a
 * browser, no import cycles, rooms import only rooms before them, the browser widget imports only
 * the shared module, and no source file grows past 400 lines.
 */
import { expect } from 'chai';
import * as esbuild from 'esbuild';
import * as fs from 'fs';
import * as path from 'path';

const REPO = path.resolve(__dirname, '..', '..');
const SRC = path.join(REPO, 'src');
const WIDGET_SRC = path.join(REPO, 'widget', 'src');

/** The rooms in import order: a room may import itself, `shared`, `util` and the rooms before it. */
const ROOM_ORDER = ['shared', 'util', 'backend', 'data', 'model', 'cam', 'metrics', 'render', 'jupyter', 'workers', 'gradcam-widget', 'cli'];

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Relative imports of a file (import, export ... from, require), resolved to files. */
function localImports(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from\s+|import\s+|require\()\s*['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]);
  return specs.map((s) => {
    const base = path.resolve(path.dirname(file), s);
    for (const candidate of [`${base}.ts`, `${base}.tsx`, path.join(base, 'index.ts'), base]) {
      if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
    }
    throw new Error(`${path.relative(REPO, file)} imports '${s}', which resolves to no file`);
  });
}

function roomOf(file: string): string {
  const rel = path.relative(SRC, file).split(path.sep);
  return rel.length === 1 ? '(entry)' : rel[0];
}

describe('architecture: the rooms keep their rules', () => {
  it('cam/ and metrics/ bundle for a browser (no Node built-in reachable from the engine)', async () => {
    for (const room of ['cam', 'metrics']) {
      const result = await esbuild.build({
        entryPoints: [path.join(SRC, room, 'index.ts')],
        bundle: true,
        platform: 'browser',
        format: 'esm',
        write: false,
        logLevel: 'silent',
      }).catch((e: { errors?: { text: string; location?: { file: string } | null }[] }) => e);
      const errors = 'errors' in result ? (result.errors ?? []) : [];
      expect(errors.map((e) => `${e.location?.file ?? ''}: ${e.text}`), `${room}/ must bundle for the browser`).to.deep.equal([]);
    }
  });

  it('src/ has no import cycle between files', () => {
    const files = sourceFiles(SRC);
    const graph = new Map(files.map((f) => [f, localImports(f)]));
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (f: string, stack: string[]): void => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...stack.slice(stack.indexOf(f)), f].map((p) => path.relative(SRC, p)).join(' -> '));
        return;
      }
      state.set(f, 'open');
      for (const g of graph.get(f) ?? []) visit(g, [...stack, f]);
      state.set(f, 'done');
    };
    files.forEach((f) => visit(f, []));
    expect(cycles).to.deep.equal([]);
  });

  it('each room imports only itself, shared/, util/ and rooms listed before it', () => {
    const offences: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const from = roomOf(file);
      if (from === '(entry)') continue;
      for (const target of localImports(file)) {
        const to = roomOf(target);
        if (to === from || to === 'shared' || to === 'util') continue;
        const a = ROOM_ORDER.indexOf(from);
        const b = ROOM_ORDER.indexOf(to);
        if (a < 0) offences.push(`${path.relative(SRC, file)}: room '${from}' is not in the room order`);
        else if (b < 0 || b > a) offences.push(`${path.relative(SRC, file)} (${from}) imports ${path.relative(SRC, target)} (${to})`);
      }
    }
    expect(offences).to.deep.equal([]);
  });

  it('shared/ and util/ import nothing outside themselves and nothing Node-only', () => {
    for (const room of ['shared', 'util']) {
      for (const file of sourceFiles(path.join(SRC, room))) {
        for (const target of localImports(file)) expect(roomOf(target), `${path.relative(SRC, file)} imports ${path.relative(SRC, target)}`).to.equal(room);
        if (room === 'shared') expect(fs.readFileSync(file, 'utf8'), `${path.relative(SRC, file)} must stay Node-free`).not.to.match(/from ['"](fs|path|os|child_process|worker_threads|@tensorflow\/[^'"]+)['"]/);
      }
    }
  });

  it('widget/src imports from src/ only the shared module', () => {
    const offences = sourceFiles(WIDGET_SRC).flatMap((file) =>
      localImports(file)
        .filter((t) => t.startsWith(SRC + path.sep) && roomOf(t) !== 'shared')
        .map((t) => `${path.relative(REPO, file)} imports ${path.relative(REPO, t)}`),
    );
    expect(offences).to.deep.equal([]);
  });

  it('no source file in src/ or widget/src/ is over 400 lines', () => {
    const long = [...sourceFiles(SRC), ...sourceFiles(WIDGET_SRC)]
      .map((f) => ({ f: path.relative(REPO, f), n: fs.readFileSync(f, 'utf8').split('\n').length }))
      .filter(({ n }) => n > 401) // a trailing newline makes 400 lines split into 401 parts
      .map(({ f, n }) => `${f}: ${n - 1} lines`);
    expect(long).to.deep.equal([]);
  });
});

/// <reference lib="dom" />
/**
 * The browser end-to-end harness: bundle the test page (esbuild), serve it on 127.0.0.1 and drive
 * Debian's headless Chromium with playwright-core. The Jupyter server stage lives in server.ts.
 */
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import type { BrowserContext, Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PAGE_DIR = path.join(__dirname, 'page');

/** Why the browser test cannot run here, or undefined. */
export function missingBrowser(): string | undefined {
  if (!fs.existsSync(CHROMIUM)) return `${CHROMIUM} is absent (apt-get install chromium)`;
  try {
    require.resolve('playwright-core');
  } catch {
    return 'playwright-core is not installed (npm ci)';
  }
  return undefined;
}

/** Bundle the page (manager + our widget + CSS) into `outDir`. */
export async function buildPage(outDir: string): Promise<void> {
  const { build } = await import('esbuild');
  await build({
    entryPoints: { bundle: path.join(PAGE_DIR, 'index.ts') },
    outdir: outDir,
    bundle: true,
    format: 'iife',
    target: 'es2020',
    platform: 'browser',
    define: { 'process.env.NODE_ENV': '"production"', global: 'globalThis' },
    // Font Awesome (pulled in by the html-manager's CSS) is not needed by our widget.
    loader: { '.woff': 'empty', '.woff2': 'empty', '.ttf': 'empty', '.eot': 'empty', '.svg': 'dataurl', '.png': 'dataurl', '.gif': 'dataurl' },
    // Some Jupyter packages set webpack's public path; give them the variable.
    banner: { js: "var __webpack_public_path__ = '';" },
    logLevel: 'error',
  });
  fs.copyFileSync(path.join(PAGE_DIR, 'index.html'), path.join(outDir, 'index.html'));
}

export interface StaticServer {
  url: string;
  /** Serve `body` at `route` (e.g. a widget state) from now on. */
  put(route: string, body: string, type?: string): void;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json' };

export async function serveDir(dir: string): Promise<StaticServer> {
  const extra = new Map<string, { body: string; type: string }>();
  const server = http.createServer((req, res) => {
    const route = new URL(req.url ?? '/', 'http://x').pathname;
    const hit = extra.get(route);
    if (hit) {
      res.writeHead(200, { 'content-type': hit.type });
      res.end(hit.body);
      return;
    }
    const file = path.join(dir, route === '/' ? 'index.html' : path.normalize(route).replace(/^([/\\])+/, ''));
    if (!file.startsWith(dir) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404);
      res.end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    put: (route, body, type = 'application/json') => extra.set(route, { body, type }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface BrowserSession {
  context: BrowserContext;
  page: Page;
  /** Messages the page logged (errors included), for failure reports. */
  console: string[];
  close(): Promise<void>;
}

export async function openBrowser(url: string): Promise<BrowserSession> {
  const { chromium } = await import('playwright-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'gradcam-chromium-'));
  // A fresh profile per run; playwright takes it as the persistent context's folder.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1000, height: 800 },
    deviceScaleFactor: 1,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const log: string[] = [];
  page.on('console', (m) => log.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
  const close = async (): Promise<void> => {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  };
  try {
    await page.goto(url);
    await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 30_000 });
  } catch (err) {
    await close(); // a browser left running would keep mocha alive
    throw new Error(`${err instanceof Error ? err.message : err}\npage log:\n${log.join('\n')}`);
  }
  return { context, page, console: log, close };
}

/** RGBA bytes of the canvas of image panel `i` in host `host`. */
export async function canvasPixels(page: Page, host: string, i: number): Promise<number[]> {
  return page.$eval(`#${host} .gc-panel[data-image="${i}"] canvas`, (c) => {
    const canvas = c as HTMLCanvasElement;
    const ctx = canvas.getContext('2d');
    return ctx ? Array.from(ctx.getImageData(0, 0, canvas.width, canvas.height).data) : [];
  });
}

/** Mean absolute difference of two pixel arrays. */
export function pixelDistance(a: number[], b: number[]): number {
  if (a.length !== b.length || !a.length) return Infinity;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

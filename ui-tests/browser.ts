/// <reference lib="dom" />
/**
 * Debian's Chromium, headless, driven by playwright-core (never a downloaded browser), with the
 * flags this closed network needs. Every page's console errors are kept so a test can assert that
 * neither our extension nor the widget manager complained.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { BrowserContext, Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface Browser {
  context: BrowserContext;
  /** Console lines of every page, in order ("error: ...", "warning: ...", "pageerror: ..."). */
  console: string[];
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

function record(page: Page, log: string[]): void {
  page.on('console', (m) => log.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
}

export async function openBrowser(viewport = { width: 1280, height: 900 }): Promise<Browser> {
  process.env.PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD = '1';
  const { chromium } = await import('playwright-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'gradcam-ui-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    deviceScaleFactor: 1,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  // tsx compiles these tests with esbuild's keepNames, which wraps named functions in __name();
  // functions sent to the page need that helper there too.
  await context.addInitScript('globalThis.__name = (fn) => fn;');
  const log: string[] = [];
  for (const p of context.pages()) record(p, log);
  context.on('page', (p) => record(p, log));
  return {
    context,
    console: log,
    newPage: async () => context.pages().find((p) => p.url() === 'about:blank') ?? context.newPage(),
    close: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Console errors that come from our extension, the widget manager or a widget. */
export function widgetErrors(log: readonly string[]): string[] {
  return log.filter((l) => /^(error|pageerror)/.test(l) && /gradcam|widget|GradCam|jupyter-widgets|Could not create a view|Failed to create view/i.test(l));
}

/** RGBA bytes of the canvas of image panel `i` of the first Grad-CAM widget under `scope`. */
export async function canvasPixels(page: Page, scope: string, i: number): Promise<number[]> {
  return page.$eval(`${scope} .gc-panel[data-image="${i}"] canvas`, (c) => {
    const canvas = c as HTMLCanvasElement;
    const ctx = canvas.getContext('2d');
    return ctx ? Array.from(ctx.getImageData(0, 0, canvas.width, canvas.height).data) : [];
  });
}

export { pixelDistance } from '../test/support/e2e/harness';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Where screenshots go: a temp folder, or docs/ (the README's copies) with GRADCAM_UPDATE_SCREENSHOTS=1. */
export function screenshotDir(): string {
  return process.env.GRADCAM_UPDATE_SCREENSHOTS === '1'
    ? path.resolve(__dirname, '..', 'docs')
    : fs.mkdtempSync(path.join(os.tmpdir(), 'gradcam-ui-shots-'));
}

/**
 * WCAG contrast ratio of each visible text element under `selector` against the colour actually
 * behind it (the first opaque background up the tree, with translucent layers blended in).
 */
export async function textContrasts(page: Page, selector: string): Promise<{ text: string; ratio: number; fg: string; bg: string }[]> {
  return page.$$eval(selector, (roots) => {
    const parse = (c: string): number[] => {
      // color-mix() computes to "color(srgb r g b / a)" with channels in 0..1.
      const srgb = /color\(srgb ([^)]+)\)/.exec(c);
      if (srgb) {
        const p = srgb[1].split(/[\s/]+/).filter(Boolean).map(Number);
        return [p[0] * 255, p[1] * 255, p[2] * 255, p.length > 3 ? p[3] : 1];
      }
      const m = /rgba?\(([^)]+)\)/.exec(c);
      if (!m) return [0, 0, 0, 0];
      const p = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
      return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
    };
    const over = (top: number[], under: number[]): number[] => {
      const a = top[3];
      return [0, 1, 2].map((i) => top[i] * a + under[i] * (1 - a)).concat(1);
    };
    const backgroundOf = (el: Element | null): number[] => {
      const layers: number[][] = [];
      for (let e = el; e; e = e.parentElement) {
        const c = parse(getComputedStyle(e).backgroundColor);
        if (c[3] > 0) layers.push(c);
        if (c[3] >= 1) break;
      }
      let bg = [255, 255, 255, 1];
      for (let i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg);
      return bg;
    };
    const lum = (c: number[]): number => {
      const [r, g, b] = c.slice(0, 3).map((v) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const out: { text: string; ratio: number; fg: string; bg: string }[] = [];
    for (const root of roots) {
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const text = (n.textContent ?? '').trim();
        const el = n.parentElement;
        if (!text || !el || el.closest('svg')) continue;
        const style = getComputedStyle(el);
        if (style.visibility === 'hidden' || style.display === 'none') continue;
        const bg = backgroundOf(el);
        const fg = over(parse(style.color), bg);
        const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
        out.push({ text, ratio: (hi + 0.05) / (lo + 0.05), fg: style.color, bg: `rgb(${bg.slice(0, 3).map(Math.round).join(', ')})` });
      }
    }
    return out;
  });
}

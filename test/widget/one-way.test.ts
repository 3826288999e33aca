/// <reference lib="dom" />
/**
 * The widget made in a kernel that cannot answer it (Deno's), in Chromium: the anywidget module
 * the kernel sends, rendered with a minimal stand-in for anywidget's model. Everything the browser
 * does alone works; the controls that would ask the model are absent, nothing is ever sent, and the
 * widget says why and names the tslab kernel.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { canvasPixels, missingBrowser, openBrowser, pixelDistance, serveDir, type BrowserSession, type StaticServer } from '../support/e2e/harness';
import { syntheticState, CLASS_NAMES } from '../support/e2e/state';
import { removeBuffers, type WidgetState } from '../../src/jupyter/buffers';
import { DENO_ONE_WAY } from '../../src/jupyter/deno';
import { ANYWIDGET_BUNDLE_DIR, gradCamAnywidget } from '../../src/gradcam-widget/front-end';
import { kernelNote } from '../../src/gradcam-widget/one-way';
import type { GradCamState, ImageEntry } from '../../src/shared/gradcam-schema';

/** Image `entry` with maps for classes `keep` only (as showGradCam's maxClasses ships them). */
function onlyClasses(entry: ImageEntry, keep: number[]): ImageEntry {
  const { height: H, width: W, channels: K } = entry;
  const pick = (a: Float32Array, per: number): Float32Array => {
    const out = new Float32Array(keep.length * per);
    keep.forEach((c, r) => out.set(a.subarray(c * per, (c + 1) * per), r * per));
    return out;
  };
  const maps = entry.maps as Record<string, Float32Array>;
  return {
    ...entry,
    map_classes: Int32Array.from(keep),
    maps: { gradcam: pick(maps.gradcam, H * W), counterfactual: pick(maps.counterfactual, H * W), 'guided-gradcam': pick(maps['guided-gradcam'], H * W * 3) },
    alphas: pick(entry.alphas as Float32Array, K),
  };
}

/** anywidget's loading steps (blob-URL import of _esm, a <style> of _css) around a recording model. */
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>one-way kernel</title><link rel="icon" href="data:,"></head>
<body><div id="host"></div>
<script type="module">
const { json, paths, buffers } = await (await fetch('start.json')).json();
const state = structuredClone(json);
paths.forEach((p, i) => {
  let at = state;
  for (const k of p.slice(0, -1)) at = at[k];
  at[p[p.length - 1]] = new DataView(Uint8Array.from(atob(buffers[i]), (ch) => ch.charCodeAt(0)).buffer);
});
const handlers = new Map();
const calls = [];
const model = {
  get: (key) => state[key],
  set: (key, value) => { calls.push({ op: 'set', key }); state[key] = value; for (const fn of handlers.get('change:' + key) ?? []) fn(); },
  save_changes: () => calls.push({ op: 'save_changes' }),
  send: (content) => calls.push({ op: 'send', content }),
  on: (event, fn) => { if (!handlers.has(event)) handlers.set(event, new Set()); handlers.get(event).add(fn); },
  off: (event, fn) => { if (!event) handlers.clear(); else if (!fn) handlers.delete(event); else handlers.get(event)?.delete(fn); },
};
const style = document.createElement('style');
style.textContent = await (await fetch('widget.css')).text();
document.head.append(style);
const url = URL.createObjectURL(new Blob([await (await fetch('widget.mjs')).text()], { type: 'text/javascript' }));
const mod = await import(url);
await mod.default.render({ model, el: document.getElementById('host') });
window.oneWay = { calls };
document.body.dataset.ready = 'true';
</script></body></html>`;

declare global {
  interface Window {
    oneWay: { calls: { op: string; key?: string; content?: unknown }[] };
  }
}

describe("the widget from a kernel that cannot answer (Deno's), in Chromium", function () {
  this.timeout(120_000);
  let dir: string;
  let server: StaticServer;
  let session: BrowserSession;
  const note = kernelNote(DENO_ONE_WAY);
  let shipped: number[] = [];
  const calls = () => session.page.evaluate(() => window.oneWay.calls.splice(0));

  before(async function () {
    const missing = missingBrowser() ?? (fs.existsSync(path.join(ANYWIDGET_BUNDLE_DIR, 'index.mjs')) ? undefined : 'the anywidget module is not built (npm run build)');
    if (missing) {
      console.log(`      skipped: ${missing}`);
      this.skip();
    }
    const base = syntheticState();
    // What initial-state.ts makes in Deno's kernel: interactive false, no layers, the note.
    // Image 1 ships maps for its selected class and two others only, as with maxClasses: 3.
    const selected = base.selected_class[1];
    shipped = [selected, ...[0, 1, 2, 3].filter((c) => c !== selected).slice(0, 2)];
    const state: GradCamState = { ...base, interactive: false, layers: [], kernel_note: note, images: [base.images[0], onlyClasses(base.images[1], shipped)] };
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradcam-one-way-'));
    const front = gradCamAnywidget();
    const split = removeBuffers(state as unknown as WidgetState);
    fs.writeFileSync(path.join(dir, 'index.html'), PAGE);
    fs.writeFileSync(path.join(dir, 'widget.mjs'), front.esm);
    fs.writeFileSync(path.join(dir, 'widget.css'), front.css ?? '');
    fs.writeFileSync(path.join(dir, 'start.json'), JSON.stringify({ json: split.state, paths: split.buffer_paths, buffers: split.buffers.map((b) => Buffer.from(b).toString('base64')) }));
    server = await serveDir(dir);
    session = await openBrowser(server.url);
    // tsx's keepNames wraps named functions in __name(); functions sent to the page need it there.
    await session.page.evaluate('globalThis.__name = (fn) => fn');
    await session.page.locator('#host .gc-panel').first().waitFor({ timeout: 15_000 });
  });

  after(async () => {
    await session?.close();
    await server?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('says in the widget why the kernel cannot answer and names the tslab kernel', async () => {
    const status = session.page.locator('#host .gc-widget-status');
    expect(await status.isVisible()).to.equal(true);
    expect(await status.textContent()).to.equal(note);
    expect(note).to.match(/"TypeScript \(gradcam-ts\)"/);
  });

  it('offers none of the controls that ask the model: no brush, no layer menu, no add image', async () => {
    const page = session.page;
    expect(await page.locator('#host .gc-panel').count()).to.equal(2);
    for (const absent of ['.gc-layer', '.gc-brush', '.gc-add', '.gc-file', '.gc-edit-tools']) {
      expect(await page.locator(`#host ${absent}`).count(), absent).to.equal(0);
    }
  });

  it('a class click and a method switch redraw in the browser alone, and nothing asks the kernel', async () => {
    const page = session.page;
    await calls();
    const first = await canvasPixels(page, 'host', 0);
    await page.click('#host .gc-panel[data-image="0"] .gc-class[data-class="3"]');
    const second = await canvasPixels(page, 'host', 0);
    expect(pixelDistance(first, second), 'class click redraws').to.be.greaterThan(1);
    expect(await page.$eval('#host .gc-panel[data-image="0"] .gc-class.gc-selected', (e) => (e as HTMLElement).dataset.class)).to.equal('3');
    await page.click('#host .gc-method[data-method="counterfactual"]');
    expect(pixelDistance(second, await canvasPixels(page, 'host', 0)), 'method switch redraws').to.be.greaterThan(1);
    const made = await calls();
    expect(made.filter((c) => c.op === 'send'), 'no request for the kernel').to.deep.equal([]);
    expect(made.filter((c) => c.op === 'set').map((c) => c.key)).to.have.members(['selected_class', 'method']);
  });

  it('a class without a map is not fetched: the panel says it has none, and nothing is sent', async () => {
    const page = session.page;
    const missing = Array.from(CLASS_NAMES.keys()).find((c) => !shipped.includes(c)) as number;
    await calls();
    await page.click('#host .gc-method[data-method="gradcam"]');
    expect(await page.textContent('#host .gc-panel[data-image="1"] .gc-caption')).to.match(/^Grad-CAM · /);
    await page.click(`#host .gc-panel[data-image="1"] .gc-class[data-class="${missing}"]`);
    expect(await page.textContent('#host .gc-panel[data-image="1"] .gc-caption')).to.equal(
      `no map for ${CLASS_NAMES[missing]}: the kernel explained this image's top 3 classes (showGradCam's maxClasses)`,
    );
    expect((await calls()).filter((c) => c.op === 'send')).to.deep.equal([]);
    expect(session.console.filter((l) => /^(error|pageerror)/.test(l))).to.deep.equal([]);
  });
});

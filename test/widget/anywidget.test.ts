/// <reference lib="dom" />
/**
 * The anywidget module in Chromium with a stand-in for anywidget's model: the page imports the
 * kernel's `_esm` from a blob URL and calls its default export's render({ model, el }), as
 * anywidget 0.11 does, with the state's buffers as DataViews. A person's clicks and strokes must
 * reach the model as anywidget's API says (set + save_changes, send with buffers), and the
 * kernel's answers (custom messages with buffers, changed fields) must be drawn.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { canvasPixels, missingBrowser, openBrowser, pixelDistance, serveDir, type BrowserSession, type StaticServer } from '../support/e2e/harness';
import { syntheticState, CLASS_NAMES } from '../support/e2e/state';
import { removeBuffers, type WidgetState } from '../../src/jupyter/buffers';
import { ANYWIDGET_BUNDLE_DIR, gradCamAnywidget } from '../../src/gradcam-widget/front-end';
import type { GradCamState, ImageEntry } from '../../src/shared/gradcam-schema';

/** A state's JSON part and its buffers (base64) with their paths, for the page to rebuild as DataViews. */
function wire(value: WidgetState): { json: unknown; paths: (string | number)[][]; buffers: string[] } {
  const split = removeBuffers(value);
  return { json: split.state, paths: split.buffer_paths, buffers: split.buffers.map((b) => Buffer.from(b).toString('base64')) };
}

/** Image 1 with maps for its three most probable classes only (as showGradCam's maxClasses ships). */
function topThree(entry: ImageEntry): ImageEntry {
  const probs = entry.probs as Float32Array;
  const top = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a]).slice(0, 3);
  const { height: H, width: W, channels: K } = entry;
  const pick = (a: Float32Array, per: number): Float32Array => {
    const out = new Float32Array(3 * per);
    top.forEach((c, r) => out.set(a.subarray(c * per, (c + 1) * per), r * per));
    return out;
  };
  const maps = entry.maps as Record<string, Float32Array>;
  return {
    ...entry,
    map_classes: Int32Array.from(top),
    maps: { gradcam: pick(maps.gradcam, H * W), counterfactual: pick(maps.counterfactual, H * W), 'guided-gradcam': pick(maps['guided-gradcam'], H * W * 3) },
    alphas: pick(entry.alphas as Float32Array, K),
  };
}

/** The page: anywidget's loading steps (blob URL import, <style> of _css) around a stand-in model. */
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>anywidget stand-in</title><link rel="icon" href="data:,"></head>
<body><div id="host"></div>
<script type="module">
const fromWire = ({ json, paths, buffers }) => {
  const state = structuredClone(json);
  paths.forEach((p, i) => {
    const bytes = Uint8Array.from(atob(buffers[i]), (ch) => ch.charCodeAt(0));
    let at = state;
    for (const k of p.slice(0, -1)) at = at[k];
    at[p[p.length - 1]] = new DataView(bytes.buffer);
  });
  return state;
};
class StandInModel {
  constructor(state) { this.state = state; this.handlers = new Map(); this.calls = []; }
  get(key) { return this.state[key]; }
  set(key, value) { this.calls.push({ op: 'set', key, value: structuredClone(value) }); this.state[key] = value; this.emit('change:' + key); }
  save_changes() { this.calls.push({ op: 'save_changes' }); }
  send(content, callbacks, buffers = []) { this.calls.push({ op: 'send', content, sizes: buffers.map((b) => b.byteLength), first: buffers[0] ? Array.from(new Uint8Array(buffers[0] instanceof ArrayBuffer ? buffers[0] : buffers[0].buffer).slice(0, 12)) : [] }); }
  on(event, fn) { if (!this.handlers.has(event)) this.handlers.set(event, new Set()); this.handlers.get(event).add(fn); }
  off(event, fn) { if (!event) this.handlers.clear(); else if (!fn) this.handlers.delete(event); else this.handlers.get(event)?.delete(fn); }
  emit(event, ...args) { for (const fn of [...(this.handlers.get(event) ?? [])]) fn(...args); }
  listenerCount() { let n = 0; for (const s of this.handlers.values()) n += s.size; return n; }
}
const start = await (await fetch('start.json')).json();
const model = new StandInModel(fromWire(start.state));
const style = document.createElement('style');
style.textContent = await (await fetch('widget.css')).text();
document.head.append(style);
const url = URL.createObjectURL(new Blob([await (await fetch('widget.mjs')).text()], { type: 'text/javascript' }));
const mod = await import(url);
URL.revokeObjectURL(url);
// As anywidget does: the model hook when the module loads, then a view.
const stopModel = mod.default.initialize({ model });
const stopView = mod.default.render({ model, el: document.getElementById('host') });
window.standIn = {
  model,
  cleanup: () => { stopView(); stopModel(); },
  // A second model whose kernel answers before any view of it is drawn (notebook code editing in the showGradCam cell).
  earlyAnswer: (content, payload) => {
    const early = new StandInModel(fromWire(start.state));
    const stop = mod.default.initialize({ model: early });
    early.emit('msg:custom', content, fromWire(payload).buffers);
    const el = document.createElement('div');
    el.id = 'early';
    document.body.append(el);
    const stopEarlyView = mod.default.render({ model: early, el });
    window.standIn.early = { model: early, stopView: stopEarlyView, stop };
  },
  kernelSends: (content, payload) => model.emit('msg:custom', content, fromWire(payload).buffers),
  kernelSets: (key, value) => { model.state[key] = value; model.emit('change:' + key); },
  kernelSetsWire: (key, payload) => { model.state[key] = fromWire(payload).value; model.emit('change:' + key); },
};
document.body.dataset.ready = 'true';
</script></body></html>`;

type StandIn = {
  model: { calls: { op: string; key?: string; value?: unknown; content?: Record<string, unknown>; sizes?: number[]; first?: number[] }[]; listenerCount(): number; state: Record<string, unknown> };
  cleanup: () => void;
  kernelSends(content: unknown, payload: unknown): void;
  earlyAnswer(content: unknown, payload: unknown): void;
  early?: { model: { listenerCount(): number }; stopView: () => void; stop: () => void };
  kernelSets(key: string, value: unknown): void;
  kernelSetsWire(key: string, payload: unknown): void;
};
declare global {
  interface Window {
    standIn: StandIn;
  }
}

describe('the anywidget module in Chromium, with a stand-in for anywidget\'s model', function () {
  this.timeout(120_000);
  let dir: string;
  let server: StaticServer;
  let session: BrowserSession;
  let state: GradCamState;
  const calls = () => session.page.evaluate(() => window.standIn.model.calls.splice(0));

  before(async function () {
    const missing = missingBrowser() ?? (fs.existsSync(path.join(ANYWIDGET_BUNDLE_DIR, 'index.mjs')) ? undefined : 'the anywidget module is not built (npm run build)');
    if (missing) {
      console.log(`      skipped: ${missing}`);
      this.skip();
    }
    const base = syntheticState();
    state = { ...base, interactive: true, layers: ['conv_synthetic', 'conv_other'], images: [base.images[0], topThree(base.images[1])] };
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradcam-anywidget-'));
    const front = gradCamAnywidget(); // exactly what the kernel sends as _esm and _css
    fs.writeFileSync(path.join(dir, 'index.html'), PAGE);
    fs.writeFileSync(path.join(dir, 'widget.mjs'), front.esm);
    fs.writeFileSync(path.join(dir, 'widget.css'), front.css ?? '');
    fs.writeFileSync(path.join(dir, 'start.json'), JSON.stringify({ state: wire(state as unknown as WidgetState) }));
    server = await serveDir(dir);
    session = await openBrowser(server.url);
    // tsx's keepNames wraps named functions in __name(); functions sent to the page need it there.
    await session.page.evaluate('globalThis.__name = (fn) => fn');
  });

  after(async () => {
    await session?.close();
    await server?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('render draws one panel per image from the DataView buffers, styled by _css', async () => {
    const page = session.page;
    expect(await page.locator('#host .gc-panel').count()).to.equal(2);
    expect(await page.locator('#host .gc-panel[data-image="0"] .gc-class').count()).to.equal(CLASS_NAMES.length);
    const px = await canvasPixels(page, 'host', 0);
    expect(pixelDistance(px, new Array(px.length).fill(0)), 'the canvas is drawn').to.be.greaterThan(10);
    expect(await page.$eval('#host', (e) => getComputedStyle(e.querySelector('.gc-toolbar') as Element).display)).to.equal('flex');
    expect(session.console.filter((l) => /^(error|pageerror)/.test(l))).to.deep.equal([]);
  });

  it('a class click redraws and goes to the kernel as set("selected_class") + save_changes()', async () => {
    const page = session.page;
    await calls();
    const before = await canvasPixels(page, 'host', 0);
    await page.click('#host .gc-panel[data-image="0"] .gc-class[data-class="3"]');
    expect(pixelDistance(before, await canvasPixels(page, 'host', 0)), 'canvas redrawn').to.be.greaterThan(1);
    const made = await calls();
    expect(made.map((c) => c.op)).to.deep.equal(['set', 'save_changes']);
    expect(made[0]).to.include({ key: 'selected_class' });
    expect((made[0].value as number[])[0]).to.equal(3);
  });

  it('a class the kernel selects (a change event) is drawn selected', async () => {
    const page = session.page;
    await page.evaluate(() => window.standIn.kernelSets('selected_class', [6, (window.standIn.model.state.selected_class as number[])[1]]));
    expect(await page.$eval('#host .gc-panel[data-image="0"] .gc-class.gc-selected', (e) => (e as HTMLElement).dataset.class)).to.equal('6');
    expect(await calls(), 'nothing sent back for the kernel\'s own change').to.deep.equal([]);
  });

  it('a brush stroke sends an edit as a custom message with the painted pixels as one buffer, and the answer is drawn', async () => {
    const page = session.page;
    await page.evaluate(() => {
      const canvas = document.querySelector('#host .gc-panel[data-image="0"] canvas') as HTMLCanvasElement;
      const r = canvas.getBoundingClientRect();
      const fire = (type: string, x: number, y: number) =>
        canvas.dispatchEvent(new PointerEvent(type, { clientX: r.left + ((x + 0.5) / 32) * r.width, clientY: r.top + ((y + 0.5) / 32) * r.height, button: 0, buttons: type === 'pointerup' ? 0 : 1, pointerId: 3, bubbles: true }));
      fire('pointerdown', 2, 2);
      fire('pointermove', 12, 2);
      fire('pointerup', 12, 2);
    });
    const sent = (await calls()).filter((c) => c.op === 'send');
    expect(sent).to.have.length(1);
    expect(sent[0].content).to.include({ type: 'edit', image: 0, width: 32, height: 32 });
    expect(sent[0].sizes).to.deep.equal([32 * 32 * 3]);
    expect(sent[0].first?.slice(0, 3), 'the painted corner is the occlusion grey').to.deep.equal([128, 128, 128]);
    expect(await page.$eval('#host .gc-panel[data-image="0"]', (e) => (e as HTMLElement).dataset.state)).to.equal('waiting');
    // The kernel's answer: the edited entry, its arrays as buffers.
    const edited = { ...state.images[0], pixels: Uint8Array.from(state.images[0].pixels as Uint8Array).fill(128, 0, 3 * 32 * 3), origin: 'edited', original_probs: state.images[0].probs } as ImageEntry;
    const entry = wire(edited as unknown as WidgetState);
    const reply = { type: 'image', request: sent[0].content?.request, image: 0, entry: entry.json, buffer_paths: entry.paths, selected_class: 4, kernel_ms: 12 };
    await page.evaluate(([r, payload]) => window.standIn.kernelSends(r, payload), [reply, { json: { buffers: [] }, paths: entry.paths.map((_, i) => ['buffers', i]), buffers: entry.buffers }] as const);
    await page.locator('#host .gc-panel[data-image="0"] .gc-tag-origin').waitFor({ timeout: 5000 });
    expect(await page.textContent('#host .gc-panel[data-image="0"] .gc-tag-origin')).to.equal('edited');
    expect(await page.$eval('#host .gc-panel[data-image="0"]', (e) => (e as HTMLElement).dataset.kernelMs)).to.equal('12.0');
    expect(await page.$eval('#host .gc-panel[data-image="0"] .gc-class.gc-selected', (e) => (e as HTMLElement).dataset.class)).to.equal('4');
    expect(await calls(), 'the answered image is not sent back').to.deep.equal([]);
  });

  it('a class without a map asks the kernel for it (class fetch)', async () => {
    const page = session.page;
    const shipped = Array.from(topThree(state.images[1]).map_classes as Int32Array);
    const missing = Array.from(CLASS_NAMES.keys()).find((c) => !shipped.includes(c)) as number;
    await page.click(`#host .gc-panel[data-image="1"] .gc-class[data-class="${missing}"]`);
    const sent = (await calls()).filter((c) => c.op === 'send');
    expect(sent.map((c) => c.content)).to.have.length(1);
    expect(sent[0].content).to.include({ type: 'class', image: 1, class: missing });
  });

  it('the layer menu and a dropped file ask the kernel (layer; add with the file\'s bytes)', async () => {
    const page = session.page;
    await page.selectOption('#host .gc-layer', 'conv_other');
    await page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array([137, 80, 78, 71, 1, 2, 3])], 'mine.png', { type: 'image/png' }));
      const target = document.querySelector('#host .gc-gallery') as HTMLElement;
      target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await page.waitForFunction(() => window.standIn.model.calls.filter((c) => c.op === 'send').length >= 2);
    const sent = (await calls()).filter((c) => c.op === 'send');
    expect(sent[0].content).to.include({ type: 'layer', layer: 'conv_other' });
    expect(sent[1].content).to.include({ type: 'add', name: 'mine.png' });
    expect(sent[1].sizes).to.deep.equal([7]);
  });

  it('a new image list from the kernel (a layer change) replaces the panels', async () => {
    const page = session.page;
    const images = wire({ value: [state.images[1]] } as unknown as WidgetState);
    await page.evaluate((payload) => window.standIn.kernelSetsWire('images', payload), images);
    expect(await page.locator('#host .gc-panel').count()).to.equal(1);
    expect(await page.textContent('#host .gc-panel[data-image="0"] .gc-title-text')).to.equal('synthetic B');
  });

  it('an answer the kernel sends before any view is drawn is shown by the first view (the model hook listens from the start)', async () => {
    const page = session.page;
    const edited = { ...state.images[0], pixels: Uint8Array.from(state.images[0].pixels as Uint8Array).fill(128, 0, 3 * 32 * 3), origin: 'edited', original_probs: state.images[0].probs } as ImageEntry;
    const entry = wire(edited as unknown as WidgetState);
    const reply = { type: 'image', request: 'kernel-1', image: 0, entry: entry.json, buffer_paths: entry.paths, selected_class: 4, kernel_ms: 9 };
    await page.evaluate(([r, payload]) => window.standIn.earlyAnswer(r, payload), [reply, { json: { buffers: [] }, paths: entry.paths.map((_, i) => ['buffers', i]), buffers: entry.buffers }] as const);
    await page.locator('#early .gc-panel[data-image="0"] .gc-tag-origin').waitFor({ timeout: 5000 });
    expect(await page.textContent('#early .gc-panel[data-image="0"] .gc-tag-origin')).to.equal('edited');
    // Removing the view leaves the model listening; the model hook's cleanup takes the rest.
    const counts = await page.evaluate(() => {
      const early = window.standIn.early as NonNullable<StandIn['early']>;
      early.stopView();
      const afterView = early.model.listenerCount();
      early.stop();
      document.getElementById('early')?.remove();
      return [afterView, early.model.listenerCount()];
    });
    expect(counts[0]).to.be.above(0);
    expect(counts[1]).to.equal(0);
  });

  it("the view's and the model hook's cleanups take every listener off anywidget's model", async () => {
    const page = session.page;
    expect(await page.evaluate(() => window.standIn.model.listenerCount())).to.be.above(0);
    expect(await page.evaluate(() => (window.standIn.cleanup(), window.standIn.model.listenerCount()))).to.equal(0);
    expect(session.console.filter((l) => /^(error|pageerror)/.test(l))).to.deep.equal([]);
  });
});

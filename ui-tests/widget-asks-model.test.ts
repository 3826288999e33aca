/// <reference lib="dom" />
/**
 * The widget asking the model again, in the real JupyterLab 4: paint over the deer's head and see
 * "deer" fall and the map change, time brush release -> redrawn map, strokes faster than the
 * kernel (only the newest answer is drawn), drop a PNG of your own, a non-image refused in words,
 * and another layer's map. One server, one page, steps in order as one person's session.
 */
import { expect } from 'chai';
import * as path from 'path';
import { canvasPixels, median, pixelDistance, screenshotDir, widgetErrors } from './browser';
import { kernelLogLines } from './jupyter';
import { NotebookUi, uiSession } from './notebook-ui';
import { canvasPoint, strokeAndWait } from './strokes';
import { readExamples } from '../src/render/examples';
import { encodePng } from '../src/render';

const NOTEBOOK = '02-gradcam-deer-and-ship.ipynb';
const DEER = 4;
/**
 * A 224x224 model's layers-model folder (e.g. python/keras_bench.py --out DIR, then DIR/layers):
 * when set, a last step times brush strokes on it too. Not in CI (it needs the Keras environment).
 */
const BIG_MODEL = process.env.GRADCAM_UI_BIG_MODEL;
const SHOTS = screenshotDir();

describe('JupyterLab 4: asking the model from the widget (brush, your own image, layer)', function () {
  const session = uiSession(this, 'lab', [NOTEBOOK], { frontEnd: 'labextension' }); // our extension's route (anywidget's: anywidget.test.ts)
  let nb: NotebookUi;
  let widget: string;

  it('runs notebook 02, whose last cells cover the head from code and put the deer back', async () => {
    const home = await NotebookUi.openHome(session.browser, session.server);
    nb = await home.openFromFileBrowser(NOTEBOOK);
    await nb.runAllFromScratch();
    expect(await nb.errorOutputs()).to.deep.equal([]);
    const text = await nb.outputText();
    expect(text).to.match(/p\(deer\): 100\.0% before, [0-9.]+% after; now predicted: (?!deer)/);
    expect(text).to.match(/legs covered instead: p\(deer\) 100\.0% -> (9\d|100)\.\d%/);
    widget = await nb.waitForWidget();
    // The kernel's resets reached the page: the deer is shown as given again.
    expect(await nb.page.locator(`${widget} .gc-panel[data-image="0"] .gc-tag-origin`).count()).to.equal(0);
  });

  it("paints over the deer's head with the brush: p(deer) falls, the map changes, the kernel hears it", async () => {
    const page = nb.page;
    const panel = (i: number) => `${widget} .gc-panel[data-image="${i}"]`;
    await page.locator(`${panel(0)} .gc-class[data-class="${DEER}"]`).click();
    const before = await canvasPixels(page, widget, 0);
    await page.locator(`${widget} .gc-brush-size[data-brush="M"]`).click();
    // One stroke, as a person drags across the head and antlers (image pixels 10..22 x 2..14).
    const stroke: [number, number][] = [[12, 4], [20, 4], [20, 8], [12, 8], [12, 12], [20, 12]];
    const start = await canvasPoint(page, widget, 0, ...stroke[0]);
    await page.mouse.move(start.x, start.y);
    await page.mouse.down();
    for (const p of stroke.slice(1)) {
      const q = await canvasPoint(page, widget, 0, ...p);
      await page.mouse.move(q.x, q.y, { steps: 3 });
    }
    await page.mouse.up();
    await page.locator(`${panel(0)} .gc-edit`).waitFor({ timeout: 30_000 });
    const summary = ((await page.locator(`${panel(0)} .gc-edit`).textContent()) ?? "").replace(/\s+/g, ' ');
    const [, cls, beforePct, afterPct] = /^(\w+) ([\d.<]+)% → ([\d.<]+)%/.exec(summary) ?? [];
    console.log(`      brush over the head: "${summary}"`);
    expect(cls).to.equal('deer');
    expect(Number(beforePct)).to.be.above(99);
    expect(Number(afterPct.replace('<', '')), 'p(deer) after covering the head (%)').to.be.below(20);
    expect(await page.locator(`${panel(0)} .gc-tag-origin`).textContent()).to.equal('edited');
    await page.mouse.move(2, 2); // no hover marks in the picture
    await page.locator(panel(0)).screenshot({ path: path.join(SHOTS, 'widget-occlusion.png') });
    // The canvas changed (the grey patch and the new map of "deer"); the map itself is checked in the kernel below.
    const after = await canvasPixels(page, widget, 0);
    expect(pixelDistance(before, after)).to.be.greaterThan(2);
    const out = await nb.runNewCell('const e = widget.lastEdit!; console.log(e.kind, e.from, e.className, (e.after < 0.2), gc.CLASS_NAMES[e.predicted], widget.selectedClass[0])');
    expect(out).to.match(/^edit frontend deer true \w+ 4$/);
    // The kernel's new map of "deer" is not the one it had before the stroke.
    const mapChange = await nb.runNewCell(
      'const was = gc.explain(model, [deer.pixels], { target: "all" }).images[0].classes[4].heatmap; const now = widget.explanation(0).images[0].classes[4].heatmap; console.log(Math.max(...was.map((v, i) => Math.abs(v - now[i]))).toFixed(2))',
    );
    expect(Number(mapChange), 'largest change of the deer map').to.be.above(0.2);
  });

  it('undo and reset bring the deer back (each answered by the kernel)', async () => {
    const page = nb.page;
    const panel = `${widget} .gc-panel[data-image="0"]`;
    await page.locator(`${panel} .gc-undo`).click();
    await page.waitForFunction((sel) => !document.querySelector(`${sel} .gc-tag-origin`) && document.querySelector(sel)?.getAttribute('data-state') !== 'waiting', panel, { timeout: 30_000 });
    expect(await page.locator(`${panel} .gc-edit`).count()).to.equal(0);
    // Paint again, then reset.
    const p = await canvasPoint(page, widget, 0, 16, 8);
    await page.mouse.click(p.x, p.y);
    await page.locator(`${panel} .gc-edit`).waitFor({ timeout: 30_000 });
    await page.locator(`${panel} .gc-reset`).click();
    await page.waitForFunction((sel) => !document.querySelector(`${sel} .gc-tag-origin`), panel, { timeout: 30_000 });
    expect(widgetErrors(session.browser.console)).to.deep.equal([]);
  });

  it('answers a brush release with a redrawn map in well under a second (median of 15 strokes, reported)', async () => {
    const page = nb.page;
    await page.locator(`${widget} .gc-brush-size[data-brush="S"]`).click();
    const times: number[] = [];
    const kernelSide: number[] = [];
    const drawing: number[] = [];
    const inKernel: number[] = [];
    // A person looks at the answer before the next stroke: 300 ms between strokes, so the previous
    // stroke's guided maps (the second message, about 50 ms of kernel time) are done. Strokes back
    // to back are reported separately below.
    const rapid: number[] = [];
    for (let r = 0; r < 15; r++) {
      const x = 2 + ((r * 7) % 28);
      const y = 2 + ((r * 11) % 28);
      await page.waitForTimeout(300);
      const { ms, drawn } = await strokeAndWait(page, widget, 1, [[[x, y]]]);
      expect(drawn).to.equal(1);
      times.push(ms);
      const timing = await page.$eval(`${widget} .gc-panel[data-image="1"]`, (e) => ({ ...(e as HTMLElement).dataset }));
      kernelSide.push(Number(timing.roundTripMs));
      drawing.push(Number(timing.drawMs));
      inKernel.push(Number(timing.kernelMs));
    }
    for (let r = 0; r < 10; r++) rapid.push((await strokeAndWait(page, widget, 1, [[[3 + r * 2, 20]]])).ms);
    console.log(
      `      brush release -> map redrawn (JupyterLab 4, shipped CIFAR model, one image, all 10 classes, 3 maps + guided after): median ${median(times).toFixed(0)} ms, ` +
        `min ${Math.min(...times).toFixed(0)}, max ${Math.max(...times).toFixed(0)} (of which request -> answer ${median(kernelSide).toFixed(0)} ms with ${median(inKernel).toFixed(0)} ms in the kernel, drawing the panel ${median(drawing).toFixed(0)} ms); ` +
        `strokes back to back: median ${median(rapid).toFixed(0)} ms`,
    );
    expect(median(times)).to.be.below(1000);
  });

  it('draws only the answer to the newest stroke when strokes come faster than the kernel answers', async () => {
    const page = nb.page;
    const panel = `${widget} .gc-panel[data-image="1"]`;
    // Three strokes 5 ms apart: the kernel is explaining the first when the others arrive, so its
    // answer comes back after newer requests were sent (repeated until that happened at least once).
    const strokes: [number, number][][] = [[[4, 4]], [[16, 16]], [[28, 28]]];
    let stale = 0;
    for (let attempt = 0; attempt < 5 && stale === 0; attempt++) {
      const r = await strokeAndWait(page, widget, 1, strokes, 5);
      expect(r.waitingAfterRelease, 'the panel shows it is waiting').to.equal(true);
      expect(r.drawn, 'panels drawn after the last stroke').to.equal(1);
      stale += r.stale;
    }
    console.log(`      answers to superseded strokes set aside, never drawn: ${stale}`);
    expect(stale, 'a stale answer arrived and was set aside').to.be.above(0);
    // The one drawn holds all three patches (each stroke painted on the previous draft).
    await page.locator(`${widget} .gc-method[data-method="gradcam"]`).click();
    await page.evaluate((sel) => {
      const input = document.querySelector(`${sel} .gc-opacity`) as HTMLInputElement;
      input.value = '0';
      input.dispatchEvent(new Event('input', { bubbles: true }));
    }, widget);
    const plain = await canvasPixels(page, widget, 1);
    for (const [x, y] of [[4, 4], [16, 16], [28, 28]]) {
      expect(Array.from(plain.slice(4 * (y * 32 + x), 4 * (y * 32 + x) + 3)), `grey patch at ${x},${y}`).to.deep.equal([128, 128, 128]);
    }
    await page.evaluate((sel) => {
      const input = document.querySelector(`${sel} .gc-opacity`) as HTMLInputElement;
      input.value = '0.5';
      input.dispatchEvent(new Event('input', { bubbles: true }));
    }, widget);
    expect(await page.$eval(panel, (e) => (e as HTMLElement).dataset.state)).to.not.equal('waiting');
    const kernel = await nb.runNewCell('const p = widget.pixels(1); console.log([[4,4],[16,16],[28,28]].map(([x, y]) => p[3 * (y * 32 + x)]).join(" "))');
    expect(kernel, "the kernel's image 1 is the one drawn").to.equal('128 128 128');
  });

  it('adds a dropped PNG as a new panel with its prediction, and refuses a text file and a 50-MB paste in words', async () => {
    const page = nb.page;
    // A 64x64 picture (a shipped test image not in the widget, upscaled), dropped like a file from the desktop.
    const source = (await readExamples()).find((e) => e.role === 'deer' && e.testIndex !== 505) ?? (await readExamples())[1];
    const big = new Uint8ClampedArray(64 * 64 * 3);
    for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) big.set(source.pixels.subarray(3 * ((y >> 1) * 32 + (x >> 1)), 3 * ((y >> 1) * 32 + (x >> 1)) + 3), 3 * (y * 64 + x));
    const png = Array.from(encodePng({ width: 64, height: 64, data: big }));
    await page.evaluate(
      ({ sel, bytes }) => {
        const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array(bytes)], 'my-photo.png', { type: 'image/png' }));
        const target = document.querySelector(`${sel} .gc-gallery`) as HTMLElement;
        target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
        target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      },
      { sel: widget, bytes: png },
    );
    const added = `${widget} .gc-panel[data-image="2"]`;
    await page.locator(`${added} .gc-alpha-chart rect`).first().waitFor({ timeout: 30_000 });
    expect(await page.locator(`${added} .gc-title-text`).textContent()).to.equal('my-photo.png (64x64)');
    const predicted = (await page.locator(`${added} .gc-tag-pred`).textContent()) ?? '';
    console.log(`      dropped my-photo.png (CIFAR test #${source.testIndex}, a ${source.className}, at 64x64): ${predicted}`);
    expect(predicted).to.match(/predicted: \w+/);
    expect(await page.locator(`${added} .gc-class.gc-selected`).count()).to.equal(1);
    expect(await page.locator(`${added} .gc-tag-origin`).textContent()).to.equal('added');
    // The "add image…" button's file picker, given a text file: a message, no new panel.
    await page.locator(`${widget} .gc-file`).setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a picture at all') });
    await page.waitForFunction((sel) => /notes\.txt is not a PNG, JPEG or GIF image/.test(document.querySelector(`${sel} .gc-widget-status`)?.textContent ?? ''), widget, { timeout: 30_000 });
    expect(await page.locator(`${widget} .gc-panel`).count()).to.equal(3);
    // A 50-MB paste: refused in the page before it is sent (Jupyter's websocket limit is 10 MiB).
    await page.evaluate((sel) => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(50 * 1024 * 1024)], 'huge-scan.png', { type: 'image/png' }));
      const target = document.querySelector(sel) as HTMLElement;
      target.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
    }, widget);
    expect(await page.$eval(`${widget} .gc-widget-status`, (e) => e.textContent)).to.match(/huge-scan\.png is 50\.0 MB; the widget takes images up to 8 MB\. Resize it first\./);
    const sizes = await nb.runNewCell('console.log(widget.get("images").length, widget.selectedClass.length)');
    expect(sizes).to.equal('3 3');
  });

  it('switches the layer: every image re-explained at the new resolution', async () => {
    const page = nb.page;
    const layers = await page.$$eval(`${widget} .gc-layer option`, (os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(layers[0]).to.equal('conv6');
    const title = () => page.locator(`${widget} .gc-panel[data-image="0"] .gc-chart-title`).textContent();
    expect(await title()).to.match(/at conv6 \(8×8, 128 channels\)/);
    const before = await canvasPixels(page, widget, 1);
    const t0 = Date.now();
    await page.locator(`${widget} .gc-layer`).selectOption('conv4');
    await page.waitForFunction((sel) => /at conv4 /.test(document.querySelector(`${sel} .gc-panel[data-image="0"] .gc-chart-title`)?.textContent ?? ''), widget, { timeout: 60_000 });
    console.log(`      layer conv6 -> conv4 for 3 images: ${Date.now() - t0} ms`);
    expect(await title()).to.match(/at conv4 \(16×16, \d+ channels\)/);
    expect(await page.locator(`${widget} .gc-panel`).count()).to.equal(3);
    expect(pixelDistance(before, await canvasPixels(page, widget, 1))).to.be.greaterThan(2);
    expect(await page.locator(`${widget} .gc-layer`).isDisabled()).to.equal(false);
    const kernel = await nb.runNewCell('console.log(widget.get("layer"), widget.get("images").map((im) => im.map_height).join(","))');
    expect(kernel).to.equal('conv4 16,16,16');
    expect(widgetErrors(session.browser.console)).to.deep.equal([]);
    expect(kernelLogLines(session.server).filter((l) => /error while handling|unsupported request|rejected/.test(l))).to.deep.equal([]);
  });
  it("fetches a class's maps on demand when the widget explained only each image's top classes", async () => {
    const page = nb.page;
    // The same deer and ship with maps for their top 3 classes only (as for a 1000-class model).
    const out = await nb.runNewCell('const top3 = await gc.showGradCam(model, [deer.pixels, ship.pixels], { maxClasses: 3, titles: ["deer, top 3", "ship, top 3"] });');
    expect(out).to.not.match(/Error/);
    await page.evaluate(() => {
      const all = document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .gc-widget');
      (all[all.length - 1] as HTMLElement).dataset.test = 'top3';
    });
    const top3 = '.jp-NotebookPanel:not(.lm-mod-hidden) .gc-widget[data-test="top3"]';
    const panel = `${top3} .gc-panel[data-image="0"]`;
    await page.locator(`${panel} .gc-alpha-chart rect`).first().waitFor({ timeout: 30_000 });
    // The least probable class of the deer is surely not among its top 3.
    const last = page.locator(`${panel} .gc-class`).last();
    const c = Number(await last.getAttribute('data-class'));
    await last.click();
    await page.waitForFunction(({ sel, c }) => {
      const p = document.querySelector(sel) as HTMLElement | null;
      return p?.dataset.state !== 'waiting' && p?.querySelector('.gc-class.gc-selected')?.getAttribute('data-class') === String(c) && /^Grad-CAM · /.test(p?.querySelector('.gc-caption')?.textContent ?? '');
    }, { sel: panel, c }, { timeout: 30_000 });
    expect(await page.$$eval(`${panel} .gc-bars rect`, (r) => r.length), 'its alpha chart').to.be.above(0);
    const kernel = await nb.runNewCell(`const explained = top3.explanation(0).images[0].classes.map((x) => x.classIndex); console.log(explained.length, explained.includes(${c}))`);
    expect(kernel).to.equal('4 true');
    expect(widgetErrors(session.browser.console)).to.deep.equal([]);
  });

  it('times brush strokes on a 224x224 model too (GRADCAM_UI_BIG_MODEL, by hand; not in CI)', async function () {
    if (!BIG_MODEL) {
      console.log('      (skipped: set GRADCAM_UI_BIG_MODEL to a 224x224 layers model folder to time it)');
      this.skip();
    }
    const page = nb.page;
    const out = await nb.runNewCell(
      `const big = await gc.loadModel(${JSON.stringify(BIG_MODEL)}); const big224 = (await gc.readImageForModel("node_modules/gradcam-ts/examples/cifar10/test-00505-deer.png", 224, 224)).pixels; const wBig = await gc.showGradCam(big, [big224], { titles: ["deer at 224x224"] });`,
      300_000,
    );
    expect(out).to.not.match(/Error/);
    await page.evaluate(() => {
      const all = document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .gc-widget');
      (all[all.length - 1] as HTMLElement).dataset.test = 'big';
    });
    const big = '.jp-NotebookPanel:not(.lm-mod-hidden) .gc-widget[data-test="big"]';
    await page.locator(`${big} .gc-panel[data-image="0"] .gc-alpha-chart rect`).first().waitFor({ timeout: 60_000 });
    const times: number[] = [];
    const inKernel: number[] = [];
    for (let r = 0; r < 8; r++) {
      await page.waitForTimeout(2500); // the previous stroke's guided maps (about 2 s of kernel time here) are done
      const { ms } = await strokeAndWait(page, big, 0, [[[20 + r * 20, 100], [40 + r * 20, 120]]]);
      times.push(ms);
      inKernel.push(Number(await page.$eval(`${big} .gc-panel[data-image="0"]`, (e) => (e as HTMLElement).dataset.kernelMs)));
    }
    const shape = await nb.runNewCell('console.log(big.inputs[0].shape.slice(1).join("x"), big.outputs[0].shape[1], big.name)');
    console.log(`      brush release -> map redrawn, 224x224 model (${shape.replace(/ (\d+) /, ' input, $1 classes, ')}): median ${median(times).toFixed(0)} ms, min ${Math.min(...times).toFixed(0)} (kernel ${median(inKernel).toFixed(0)} ms)`);
  });
});

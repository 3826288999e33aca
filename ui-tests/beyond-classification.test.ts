/// <reference lib="dom" />
/**
 * Notebook 07 in the real JupyterLab 4, as committed, Run All: it trains a segmenter, a detector
 * and a regressor on synthetic shapes and opens the widget for each. Each widget lists targets
 * instead of classes (the segmenter's classes' pixels, the detector's best box of each class, the
 * regressor's two named targets, shown as values); a click on another target redraws the canvas
 * and reaches the kernel; the brush over a disc drops 'disc pixels', scored on the unedited mask.
 * The notebook's own edits (w.occlude in the cells after each widget) are checked in the kernel:
 * the page may not show them, since an edit sent before the widget's view is drawn is lost there
 * (the anywidget front end listens for the kernel's messages per view).
 */
import { expect } from 'chai';
import * as os from 'os';
import { canvasPixels, pixelDistance, widgetErrors } from './browser';
import { NotebookUi, uiSession } from './notebook-ui';
import { strokeAndWait } from './strokes';

const NOTEBOOK = '07-beyond-classification.ipynb';
/** The notebook's widgets, in the order its cells open them, and the names it gives them in the kernel. */
const WIDGETS = [
  { tag: 'segmenter', variable: 'segWidget' },
  { tag: 'detector', variable: 'detWidget' },
  { tag: 'regressor', variable: 'regWidget' },
] as const;
const scope = (tag: string) => `.jp-NotebookPanel:not(.lm-mod-hidden) .gc-widget[data-test="${tag}"]`;

describe('JupyterLab 4: notebook 07, a segmenter, a detector and a regressor in the widget', function () {
  const session = uiSession(this, 'lab', [NOTEBOOK], { frontEnd: 'anywidget' });
  let nb: NotebookUi;

  /** The target names a widget's first panel lists, in order. */
  const targetNames = (tag: string) => nb.page.$$eval(`${scope(tag)} .gc-panel[data-image="0"] .gc-class .gc-name`, (els) => els.map((e) => e.textContent ?? ''));

  /** Clicks a target of panel `image` other than the selected one (the first of `prefer` that is not); returns it. */
  async function clickAnotherTarget(tag: string, image: number, prefer: number[]): Promise<number> {
    const panel = `${scope(tag)} .gc-panel[data-image="${image}"]`;
    const selected = Number(await nb.page.getAttribute(`${panel} .gc-class.gc-selected`, 'data-class'));
    const c = prefer.find((k) => k !== selected) as number;
    const before = await canvasPixels(nb.page, scope(tag), image);
    await nb.page.locator(`${panel} .gc-class[data-class="${c}"]`).click();
    await nb.page.waitForFunction(({ sel, c }) => document.querySelector(`${sel} .gc-class.gc-selected`)?.getAttribute('data-class') === String(c), { sel: panel, c }, { timeout: 30_000 });
    expect(pixelDistance(before, await canvasPixels(nb.page, scope(tag), image)), `${tag}: the canvas of image ${image} changed`).to.be.greaterThan(2);
    return c;
  }

  it('runs notebook 07 as committed with no error output and shows three widgets', async function () {
    this.timeout(900_000); // three models are trained: about 2 minutes on a quiet 2-core machine, far more on a loaded one
    const home = await NotebookUi.openHome(session.browser, session.server);
    nb = await home.openFromFileBrowser(NOTEBOOK);
    const ms = await nb.runAllFromScratch(720_000);
    console.log(`      Run All of notebook 07 (three models trained): ${(ms / 1000).toFixed(0)} s, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    expect(await nb.errorOutputs(), 'outputs drawn as errors (stderr or error)').to.deep.equal([]);
    await nb.waitForWidget();
    const text = await nb.outputText();
    expect(text).not.to.match(/Error displaying widget|Loading widget\.\.\.|No version of module/);
    expect(text).to.match(/test IoU: disc \d\.\d\d, square \d\.\d\d/);
    expect(text).to.match(/notebook ran in \d+ s/);
    const count = await nb.page.evaluate((tags) => {
      const all = Array.from(document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output .gc-widget')) as HTMLElement[];
      all.forEach((w, i) => {
        if (tags[i]) w.dataset.test = tags[i];
      });
      return all.length;
    }, WIDGETS.map((w) => w.tag));
    expect(count, 'Grad-CAM widgets on the page').to.equal(3);
    for (const { tag } of WIDGETS) {
      await nb.page.locator(`${scope(tag)} .gc-panel[data-image="0"] .gc-alpha-chart rect`).first().waitFor({ timeout: 60_000 });
      expect(await nb.page.locator(`${scope(tag)} .gc-panel`).count(), `${tag}: panels`).to.equal(3);
    }
  });

  it("the notebook's edits covered the disc: each target's value fell, in the kernel", async () => {
    const out = await nb.runNewCell('console.log([segEdit, detEdit, regEdit].map((e) => `${e.className}: ${e.before.toFixed(3)} -> ${e.after.toFixed(3)}`).join("; "))');
    console.log(`      w.occlude over the disc: ${out}`);
    const values = [...out.matchAll(/: (-?[\d.]+) -> (-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(out).to.match(/^disc pixels: .*; best disc box: .*; radius \(raise\): /);
    expect(values).to.have.length(3);
    for (const [before, after] of values) expect(after, out).to.be.below(before);
  });

  it("the segmenter lists its classes' pixels; a click on another target redraws; the brush over a disc drops 'disc pixels'", async () => {
    expect(await targetNames('segmenter')).to.deep.equal(['background pixels', 'disc pixels', 'square pixels']);
    const c = await clickAnotherTarget('segmenter', 1, [1, 2]);
    expect(await nb.runNewCell('console.log(segWidget.selectedClass[1])')).to.equal(String(c));
    // Image 2: select 'disc pixels', then paint over its disc (box from the kernel) with the middle brush.
    const box = JSON.parse(await nb.runNewCell('console.log(JSON.stringify(test.scenes[withDisc[2]].disc!.box))')) as number[];
    const panel = `${scope('segmenter')} .gc-panel[data-image="2"]`;
    await nb.page.locator(`${panel} .gc-class[data-class="1"]`).click();
    await nb.page.locator(`${scope('segmenter')} .gc-brush-size[data-brush="M"]`).click();
    const points: [number, number][] = [];
    for (let y = box[1]; y < box[3]; y += 2) for (let x = box[0]; x < box[2]; x += 2) points.push([x, y]);
    const { drawn } = await strokeAndWait(nb.page, scope('segmenter'), 2, [points]);
    expect(drawn, 'panels drawn from the answer').to.equal(1);
    const edit = ((await nb.page.textContent(`${panel} .gc-edit`)) ?? '').replace(/\s+/g, ' ');
    console.log(`      segmenter, brush over the disc of image 2 (box ${box.join(',')}): "${edit}"`);
    const [, before, after] = /^disc pixels (<?[\d.]+)% → (<?[\d.]+)%/.exec(edit) ?? [];
    expect(Number(after.replace('<', '')), edit).to.be.below(Number(before.replace('<', '')));
    const kernel = await nb.runNewCell('const e = segWidget.lastEdit!; console.log(e.from, e.image, e.className)');
    expect(kernel).to.equal('frontend 2 disc pixels');
  });

  it('the detector lists the best box of each class; the method toggle redraws', async () => {
    expect(await targetNames('detector')).to.deep.equal(['best disc box', 'best square box']);
    // One target only: the method toggle is what changes the picture here (Grad-CAM -> Guided Grad-CAM).
    const before = await canvasPixels(nb.page, scope('detector'), 1);
    await nb.page.locator(`${scope('detector')} .gc-method[data-method="guided-gradcam"]`).click();
    await nb.page.waitForFunction((sel) => document.querySelector(`${sel} .gc-method[data-method="guided-gradcam"]`)?.getAttribute('aria-checked') === 'true', scope('detector'), { timeout: 30_000 });
    expect(pixelDistance(before, await canvasPixels(nb.page, scope('detector'), 1)), 'detector: canvas changed with the method').to.be.greaterThan(2);
  });

  it('the regressor lists its two named targets as values; a click on "radius (lower)" redraws and reaches the kernel', async () => {
    expect(await targetNames('regressor')).to.deep.equal(['radius (raise)', 'radius (lower)']);
    const values = await nb.page.$$eval(`${scope('regressor')} .gc-panel[data-image="1"] .gc-class .gc-pct`, (els) => els.map((e) => e.textContent ?? ''));
    expect(values.every((v) => !v.includes('%')), `values, not percentages: ${values.join(', ')}`).to.equal(true);
    const c = await clickAnotherTarget('regressor', 1, [1, 0]);
    expect(await nb.runNewCell('console.log(regWidget.selectedClass[1])')).to.equal(String(c));
    expect(widgetErrors(session.browser.console)).to.deep.equal([]);
  });
});

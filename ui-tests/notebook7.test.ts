/// <reference lib="dom" />
/**
 * The same notebook in Notebook 7 (`gradcam lab --notebook`): open it from the tree (it opens in
 * a new browser tab), Run All, and use the widget. Notebook 7 has no status bar, so the steps wait
 * on the notebook toolbar's execution indicator.
 */
import { expect } from 'chai';
import { canvasPixels, pixelDistance, widgetErrors } from './browser';
import { NotebookUi, uiSession } from './notebook-ui';
import { KERNEL_DISPLAY_NAME } from '../src/cli/install-kernel';

const NOTEBOOK = '02-gradcam-deer-and-ship.ipynb';

describe('Notebook 7: notebook 02 and the Grad-CAM widget, as a user sees them', function () {
  const session = uiSession(this, 'notebook', [NOTEBOOK], { frontEnd: 'labextension' }); // our extension's route (anywidget's: anywidget.test.ts)
  let home: NotebookUi;
  let nb: NotebookUi;
  let widget: string;

  it('loads the tree page with no error from our extension or the widget manager', async () => {
    home = await NotebookUi.openHome(session.browser, session.server);
    await home.page.waitForTimeout(1000);
    expect(widgetErrors(session.browser.console)).to.deep.equal([]);
  });

  it('opens notebook 02 in a new tab in our kernel and runs all cells with no error output', async () => {
    nb = await home.openFromFileBrowser(NOTEBOOK);
    expect(nb.page.url()).to.match(/\/notebooks\/02-gradcam-deer-and-ship\.ipynb/);
    expect(await nb.kernelName()).to.equal(KERNEL_DISPLAY_NAME);
    const ms = await nb.runAllFromScratch();
    console.log(`      Run All of notebook 02 in Notebook 7: ${(ms / 1000).toFixed(1)} s`);
    expect(await nb.errorOutputs()).to.deep.equal([]);
  });

  it('renders the widget, redraws on a class click, hovers a channel and toggles Guided Grad-CAM', async () => {
    widget = await nb.waitForWidget();
    const page = nb.page;
    expect(await nb.outputText()).not.to.match(/Error displaying widget|Loading widget\.\.\./);
    const before = await canvasPixels(page, widget, 1);
    await page.locator(`${widget} .gc-panel[data-image="1"] .gc-class[data-class="0"]`).click();
    expect(pixelDistance(before, await canvasPixels(page, widget, 1))).to.be.greaterThan(2);
    const out = await nb.runNewCell('widget.selectedClass');
    expect(out.replace(/\s+/g, ' ')).to.match(/\[ ?7, 0 ?\]/);
    const panel = `${widget} .gc-panel[data-image="0"]`;
    const classMap = await canvasPixels(page, widget, 0);
    const channel = await page.$eval(`${panel} .gc-bars rect`, (e) => Number(e.getAttribute('data-channel')));
    await page.hover(`${panel} .gc-hits rect[data-channel="${channel}"]`);
    expect(await page.$eval(`${panel} .gc-caption`, (e) => e.textContent ?? '')).to.match(new RegExp(`^A${channel} · α = `));
    await page.mouse.move(2, 2);
    expect(pixelDistance(classMap, await canvasPixels(page, widget, 0))).to.equal(0);
    await page.click(`${widget} .gc-method[data-method="guided-gradcam"]`);
    expect(pixelDistance(classMap, await canvasPixels(page, widget, 0))).to.be.greaterThan(2);
    expect(widgetErrors(session.browser.console)).to.deep.equal([]);
  });
  it("paints over the deer's head with the brush and reads the kernel's answer, as in JupyterLab", async () => {
    const page = nb.page;
    const panel = `${widget} .gc-panel[data-image="0"]`;
    await page.click(`${widget} .gc-method[data-method="gradcam"]`);
    await page.locator(`${widget} .gc-brush-size[data-brush="L"]`).click();
    const canvas = page.locator(`${panel} canvas`);
    await canvas.scrollIntoViewIfNeeded();
    const box = await canvas.boundingBox();
    if (!box) throw new Error('the deer has no canvas on screen');
    await page.mouse.click(box.x + box.width * (16 / 32), box.y + box.height * (8 / 32)); // a 16 px square on the head
    await page.locator(`${panel} .gc-edit`).waitFor({ timeout: 30_000 });
    const summary = ((await page.locator(`${panel} .gc-edit`).textContent()) ?? '').replace(/\s+/g, ' ');
    console.log(`      brush in Notebook 7: "${summary}"`);
    expect(summary).to.match(/^deer 100% → /);
    const out = await nb.runNewCell('console.log(widget.lastEdit!.from, widget.lastEdit!.after < widget.lastEdit!.before)');
    expect(out).to.equal('frontend true');
    expect(widgetErrors(session.browser.console)).to.deep.equal([]);
  });
});

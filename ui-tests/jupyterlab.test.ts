/// <reference lib="dom" />
/**
 * The real JupyterLab 4 a user opens with `gradcam lab`, driven like a person in Debian's headless
 * Chromium: open notebook 02 from the file browser, Run All, use the Grad-CAM widget, switch to
 * the dark theme, save and reopen with widget state, restart the kernel and run again.
 * The steps share one server and one page, in order, as one person's session would.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as path from 'path';
import { canvasPixels, median, pixelDistance, screenshotDir, textContrasts, widgetErrors } from './browser';
import { kernelLogLines, labextensionStatus } from './jupyter';
import { NotebookUi, uiSession } from './notebook-ui';
import { KERNEL_DISPLAY_NAME } from '../src/cli/install-kernel';

const NOTEBOOK = '02-gradcam-deer-and-ship.ipynb';
const SHOTS = screenshotDir();

describe('JupyterLab 4: notebook 02 and the Grad-CAM widget, as a user sees them', function () {
  const session = uiSession(this, 'lab', [NOTEBOOK], { frontEnd: 'labextension' }); // our extension's route (anywidget's: anywidget.test.ts)
  let home: NotebookUi;
  let nb: NotebookUi;
  let widget: string;

  it('lists our extension as "enabled OK" and loads the page with no error from it or the widget manager', async () => {
    expect(labextensionStatus()).to.match(/gradcam-ts-widget v[\d.]+ enabled\s+OK/);
    home = await NotebookUi.openHome(session.browser, session.server);
    await home.page.waitForTimeout(1000); // late plugin activation errors
    expect(widgetErrors(session.browser.console)).to.deep.equal([]);
  });

  it('opens notebook 02 from the file browser in our kernel and runs all cells with no error output', async () => {
    nb = await home.openFromFileBrowser(NOTEBOOK);
    expect(await nb.kernelName()).to.equal(KERNEL_DISPLAY_NAME);
    const ms = await nb.runAllFromScratch();
    console.log(`      Run All of notebook 02: ${(ms / 1000).toFixed(1)} s`);
    expect(await nb.errorOutputs(), 'outputs drawn as errors (stderr or error)').to.deep.equal([]);
    expect(await nb.outputText()).to.match(/TensorFlow\.js [\d.]+ on \w+/); // the backend report, as plain output
  });

  it('renders the widget inline, with no "Error displaying widget" and no "Loading widget..." left', async () => {
    widget = await nb.waitForWidget();
    const text = await nb.outputText();
    expect(text).not.to.match(/Error displaying widget|Loading widget\.\.\./);
    expect(await nb.page.locator(`${widget} .gc-panel`).count()).to.equal(2);
    expect(widgetErrors(session.browser.console)).to.deep.equal([]);
  });

  it('redraws the canvas when a class is clicked, and the next cell reads the click from the kernel', async () => {
    const page = nb.page;
    const before = await canvasPixels(page, widget, 0);
    const shown = Number(await page.$eval(`${widget} .gc-panel[data-image="0"] .gc-class.gc-selected`, (e) => (e as HTMLElement).dataset.class));
    const cat = 3;
    expect(shown, 'notebook 02 left the deer on "horse"').to.equal(7);
    await page.locator(`${widget} .gc-panel[data-image="0"] .gc-class[data-class="${cat}"]`).click();
    expect(pixelDistance(before, await canvasPixels(page, widget, 0)), 'canvas changed').to.be.greaterThan(2);
    const out = await nb.runNewCell('widget.selectedClass');
    expect(out.replace(/\s+/g, ' ')).to.match(new RegExp(`\\[ ?${cat}, 8 ?\\]`));
    // The listener notebook 02 registered printed the change in its own cell.
    expect(await nb.outputText()).to.match(/now showing \[ 'cat', 'ship' \]/);
  });

  it('switches class within a frame in the real JupyterLab (median of 20 clicks, reported)', async () => {
    const times = await nb.page.evaluate(async (scope) => {
      const rows = Array.from(document.querySelectorAll<HTMLButtonElement>(`${scope} .gc-panel[data-image="1"] .gc-class`));
      const out: number[] = [];
      for (let r = 0; r < 20; r++) {
        const t0 = performance.now();
        rows[r % rows.length].click();
        out.push(performance.now() - t0);
        await new Promise((res) => requestAnimationFrame(res));
      }
      return out;
    }, widget);
    console.log(`      class switch in JupyterLab 4 (shipped model, K=128): median ${median(times).toFixed(2)} ms, max ${Math.max(...times).toFixed(2)} ms`);
    expect(median(times)).to.be.lessThan(16);
  });

  it("shows a channel's activation map on hovering its alpha bar, and switches to Guided Grad-CAM", async () => {
    const page = nb.page;
    const panel = `${widget} .gc-panel[data-image="1"]`;
    const classMap = await canvasPixels(page, widget, 1);
    const channel = await page.$eval(`${panel} .gc-bars rect`, (e) => Number(e.getAttribute('data-channel')));
    await page.hover(`${panel} .gc-hits rect[data-channel="${channel}"]`);
    expect(await page.$eval(`${panel} .gc-caption`, (e) => e.textContent ?? '')).to.match(new RegExp(`^A${channel} · α = `));
    expect(pixelDistance(classMap, await canvasPixels(page, widget, 1))).to.be.greaterThan(2);
    await page.mouse.move(2, 2);
    const gradcam = await canvasPixels(page, widget, 1);
    await page.click(`${widget} .gc-method[data-method="guided-gradcam"]`);
    expect(pixelDistance(gradcam, await canvasPixels(page, widget, 1))).to.be.greaterThan(2);
    await page.click(`${widget} .gc-method[data-method="gradcam"]`);
  });

  it('stays legible in JupyterLab Dark: every text of the widget has contrast >= 4.5:1 (WCAG AA)', async () => {
    const page = nb.page;
    // The pictures show each image's true class: the deer as "deer", the ship as "ship".
    await page.locator(`${widget} .gc-panel[data-image="0"] .gc-class[data-class="4"]`).click();
    await page.locator(`${widget} .gc-panel[data-image="1"] .gc-class[data-class="8"]`).click();
    await page.locator(`${widget}`).scrollIntoViewIfNeeded();
    await page.locator(widget).screenshot({ path: path.join(SHOTS, 'widget-jupyterlab-light.png') });
    const light = await textContrasts(page, widget);
    await nb.setTheme('JupyterLab Dark');
    await page.waitForTimeout(500); // theme CSS applied
    const dark = await textContrasts(page, widget);
    await page.locator(widget).screenshot({ path: path.join(SHOTS, 'widget-jupyterlab-dark.png') });
    for (const [theme, list] of [['light', light], ['dark', dark]] as const) {
      expect(list.length, `${theme}: texts found`).to.be.greaterThan(20);
      const poor = list.filter((t) => t.ratio < 4.5).map((t) => `${t.text} ${t.ratio.toFixed(2)} (${t.fg} on ${t.bg})`);
      expect(poor, `${theme} theme: texts under 4.5:1`).to.deep.equal([]);
    }
    const selected = dark.find((t) => t.text === 'horse' || t.text === 'deer');
    console.log(`      dark theme: lowest contrast ${Math.min(...dark.map((t) => t.ratio)).toFixed(2)}:1; selected class "${selected?.text}" ${selected?.ratio.toFixed(2)}:1`);
    await nb.setTheme('JupyterLab Light');
  });

  it('re-renders the widget from the kernel after save, close and reopen (restore time reported)', async () => {
    await nb.saveWidgetStateOn();
    await nb.save();
    await nb.menu('File', 'application:close');
    await nb.page.locator('.jp-NotebookPanel:not(.lm-mod-hidden)').waitFor({ state: 'detached', timeout: 30_000 }).catch(() => undefined);
    const t0 = Date.now();
    nb = await home.openFromFileBrowser(NOTEBOOK);
    widget = await nb.waitForWidget();
    const ms = Date.now() - t0;
    console.log(`      restore with the kernel running: widget drawn ${(ms / 1000).toFixed(2)} s after the double-click`);
    expect(pixelDistance(await canvasPixels(nb.page, widget, 0), new Array(4 * 32 * 32).fill(0))).to.be.greaterThan(10);
    expect(await nb.outputText()).not.to.match(/Error displaying widget/);
    // The saved widget state holds the model every widget output names (not the committed file's old ids).
    type Saved = { metadata: { widgets?: { [mime: string]: { state: Record<string, unknown> } } }; cells: { outputs?: { data?: Record<string, { model_id?: string }> }[] }[] };
    const saved = JSON.parse(fs.readFileSync(path.join(session.server.root, NOTEBOOK), 'utf8')) as Saved;
    const models = Object.keys(saved.metadata.widgets?.['application/vnd.jupyter.widget-state+json']?.state ?? {});
    const shown = saved.cells.flatMap((c) => c.outputs ?? []).map((o) => o.data?.['application/vnd.jupyter.widget-view+json']?.model_id).filter((id): id is string => !!id);
    expect(shown, 'widget outputs saved').to.have.length.above(0);
    expect(models, 'widget state saved in the notebook').to.include.members(shown);
  });

  it('shows the saved widget after the kernel is shut down and the page reloaded (a fresh kernel holds none of its models)', async () => {
    await nb.menu('Kernel', 'kernelmenu:shutdown');
    await nb.page.waitForFunction(() => document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Toolbar-kernelName')?.textContent?.trim() === 'No Kernel', undefined, { timeout: 30_000 });
    // The first load after the shutdown starts a fresh kernel. Whether jupyterlab_widgets 3.0.17
    // then restores the notebook's saved widget state is a race of its own: its restoreWidgets
    // awaits sessionContext.ready, and when the new kernel is not attached yet, _loadFromKernel
    // throws "Kernel not set" and the notebook-state load after it is skipped ("model not found",
    // in 2 of 9 runs here). So the page is loaded once to start the kernel, then again
    // with that fresh kernel running, which holds none of the widget's models either.
    await nb.page.reload();
    await nb.waitForKernelIdle();
    const errorsBefore = widgetErrors(session.browser.console).length;
    await nb.page.reload();
    await nb.waitForKernelIdle();
    widget = await nb.waitForWidget();
    expect(await nb.outputText()).not.to.match(/Error displaying widget|Loading widget\.\.\./);
    expect(pixelDistance(await canvasPixels(nb.page, widget, 1), new Array(4 * 32 * 32).fill(0))).to.be.greaterThan(10);
    expect(widgetErrors(session.browser.console).slice(errorsBefore)).to.deep.equal([]);
  });

  it('restarts the kernel from the menu and runs all again, with no stale widget throwing', async () => {
    const errorsBefore = widgetErrors(session.browser.console).length;
    await nb.restartKernel();
    await nb.runAllFromScratch();
    expect(await nb.errorOutputs()).to.deep.equal([]);
    widget = await nb.waitForWidget();
    expect(await nb.outputText()).not.to.match(/Error displaying widget/);
    expect(widgetErrors(session.browser.console).slice(errorsBefore)).to.deep.equal([]);
    expect(kernelLogLines(session.server).filter((l) => /error while handling|unsupported request/.test(l))).to.deep.equal([]);
  });
});

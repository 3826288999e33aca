/// <reference lib="dom" />
/**
 * Deno's kernel in the real JupyterLab 4: notebook 08 as committed, Run All in the "Deno" kernel
 * (kernelspec from `deno jupyter --install`, the npm-installed deno), once in a JupyterLab with
 * anywidget and without our extension, once with the widget drawn by our extension. The widget
 * renders, a class click and a method switch redraw in the browser, the note says the kernel cannot
 * answer, and the kernel indeed never hears the click.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { canvasPixels, pixelDistance, widgetErrors } from './browser';
import { NotebookUi, uiSession } from './notebook-ui';
import type { SessionOptions } from './jupyter';
import { installDenoKernelspec } from '../notebooks/build';

const NOTEBOOK = '08-deno.ipynb';

function denoSuite(title: string, route: SessionOptions): void {
  describe(title, function () {
    // Before the session's server starts (hooks run in the order they are added): Deno's kernelspec
    // where the server's Jupyter looks (JUPYTER_PATH, which the server inherits).
    const share = fs.mkdtempSync(path.join(os.tmpdir(), 'gradcam-ui-deno-'));
    const savedPath = process.env.JUPYTER_PATH;
    before(() => {
      installDenoKernelspec(share);
      process.env.JUPYTER_PATH = [path.join(share, 'jupyter'), savedPath].filter(Boolean).join(path.delimiter);
    });
    after(() => {
      if (savedPath === undefined) delete process.env.JUPYTER_PATH;
      else process.env.JUPYTER_PATH = savedPath;
      fs.rmSync(share, { recursive: true, force: true });
    });
    const session = uiSession(this, 'lab', [NOTEBOOK], route);
    let nb: NotebookUi;
    let widget: string;

    it(`opens notebook 08 in the Deno kernel and runs it with no error output; the widget renders through ${route.frontEnd}`, async () => {
      // A Deno project has a package.json; Deno then resolves "gradcam-ts" through node_modules.
      fs.writeFileSync(path.join(session.server.root, 'package.json'), '{ "private": true }\n');
      const home = await NotebookUi.openHome(session.browser, session.server);
      nb = await home.openFromFileBrowser(NOTEBOOK);
      expect(await nb.kernelName()).to.equal('Deno');
      await nb.runAllFromScratch();
      expect(await nb.errorOutputs(), 'outputs drawn as errors (stderr or error)').to.deep.equal([]);
      widget = await nb.waitForWidget();
      expect(await nb.outputText()).not.to.match(/Error displaying widget|Loading widget\.\.\.|No version of module/);
      expect(await nb.page.locator(`${widget} .gc-panel`).count()).to.equal(2);
      expect(widgetErrors(session.browser.console)).to.deep.equal([]);
    });

    it('says in the widget that this kernel cannot answer and names the tslab kernel; offers no brush, layer menu or add image', async () => {
      const page = nb.page;
      const note = (await page.locator(`${widget} .gc-widget-status`).textContent()) ?? '';
      expect(note).to.match(/^Deno's Jupyter kernel .* "TypeScript \(gradcam-ts\)" kernel/);
      for (const absent of ['.gc-layer', '.gc-brush', '.gc-add', '.gc-edit-tools']) {
        expect(await page.locator(`${widget} ${absent}`).count(), absent).to.equal(0);
      }
    });

    it('redraws the canvas when a class is clicked and when the method changes, in the browser alone', async () => {
      const page = nb.page;
      const before = await canvasPixels(page, widget, 0);
      await page.locator(`${widget} .gc-panel[data-image="0"] .gc-class[data-class="3"]`).click();
      const afterClass = await canvasPixels(page, widget, 0);
      expect(pixelDistance(before, afterClass), 'class click redraws').to.be.greaterThan(2);
      expect(await page.$eval(`${widget} .gc-panel[data-image="0"] .gc-class.gc-selected`, (e) => (e as HTMLElement).dataset.class)).to.equal('3');
      await page.locator(`${widget} .gc-method[data-method="counterfactual"]`).click();
      expect(pixelDistance(afterClass, await canvasPixels(page, widget, 0)), 'method switch redraws').to.be.greaterThan(2);
      expect(widgetErrors(session.browser.console)).to.deep.equal([]);
    });

    it('the kernel never hears the click (Deno drops what the browser sends), and keeps running cells; the widget took this route', async () => {
      const out = await nb.runNewCell('console.log(widget.modelModule, JSON.stringify(widget.selectedClass))');
      expect(out).to.equal(`${route.frontEnd === 'anywidget' ? 'anywidget' : 'gradcam-ts-widget'} [4,8]`);
    });
  });
}

denoSuite("JupyterLab 4 with anywidget: notebook 08 in Deno's kernel and its one-way widget", { frontEnd: 'anywidget', ourExtension: false });
denoSuite("JupyterLab 4 with our extension (GRADCAM_WIDGET=labextension): notebook 08 in Deno's kernel", { frontEnd: 'labextension', ourExtension: true });

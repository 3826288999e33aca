/**
 * Every notebook runs top to bottom in our kernel (nbconvert --execute, a real Jupyter client),
 * freshly built from notebooks/src, with no error output and the pictures its title promises.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as path from 'path';
import { executeNotebook, executionEnv, NOTEBOOK_DIR, notebookFromMarkdown } from '../../notebooks/build';
import { missingPrerequisite } from '../support/kernel-fixture';

interface Output { output_type: string; data?: Record<string, unknown>; ename?: string; evalue?: string; name?: string; text?: string | string[] }
interface Notebook { cells: { cell_type: string; source: string[] | string; outputs?: Output[] }[]; metadata: Record<string, unknown> }

/** What each notebook must show: at least this many PNGs, and a widget when asked. */
const EXPECTED: Record<string, { pngs: number; widget?: boolean; needsData?: boolean }> = {
  '02-gradcam-deer-and-ship': { pngs: 4, widget: true },
  '04-why-it-failed': { pngs: 4, needsData: true },
  '05-explain-your-own-model': { pngs: 3 },
  '06-can-we-trust-the-map': { pngs: 4 },
  // Four figures (the data, the segmenter's mask, the detector's box, the regressor) and each widget's PNG fallback.
  '07-beyond-classification': { pngs: 7, widget: true },
  '03-how-grad-cam-works': { pngs: 6 },
  '01-train-cifar10': { pngs: 3, needsData: true },
  // Deno's kernel (deno jupyter, kernelspec installed by executionEnv): the figure and the widget's PNG fallback
  '08-deno': { pngs: 2, widget: true },
};

const sources = fs.readdirSync(path.join(NOTEBOOK_DIR, 'src')).filter((f) => f.endsWith('.md')).sort();

describe('notebooks run top to bottom in the gradcam-ts kernel (08-deno in Deno\'s)', function () {
  this.timeout(20 * 60 * 1000);
  let env: NodeJS.ProcessEnv;
  let cleanup = () => {};
  // Inside notebooks/ so the kernel (which runs in the notebook's folder) resolves "gradcam-ts"
  // through notebooks/node_modules exactly as the committed notebooks do.
  const out = fs.mkdtempSync(path.join(NOTEBOOK_DIR, '.test-'));

  before(async function () {
    const missing = missingPrerequisite();
    if (missing) {
      console.log(`      (skipped: ${missing})`);
      this.skip();
    }
    ({ env, cleanup } = await executionEnv());
  });
  after(() => {
    cleanup();
    fs.rmSync(out, { recursive: true, force: true });
  });

  it('every notebook has expectations here and a committed, executed .ipynb in sync with its source', () => {
    for (const file of sources) {
      const name = file.replace(/\.md$/, '');
      expect(EXPECTED, name).to.have.property(name);
      const committed = JSON.parse(fs.readFileSync(path.join(NOTEBOOK_DIR, `${name}.ipynb`), 'utf8')) as Notebook;
      const fresh = notebookFromMarkdown(fs.readFileSync(path.join(NOTEBOOK_DIR, 'src', file), 'utf8')) as Notebook;
      const text = (nb: Notebook) => nb.cells.map((c) => (Array.isArray(c.source) ? c.source.join('') : c.source));
      expect(text(committed), `${name}.ipynb is stale: run npm run notebooks`).to.deep.equal(text(fresh));
      expect(committed.cells.some((c) => (c.outputs ?? []).length > 0), `${name}.ipynb is committed with outputs`).to.equal(true);
    }
  });

  for (const file of sources) {
    const name = file.replace(/\.md$/, '');
    it(`${name} executes without errors and shows its pictures`, function () {
      const expected = EXPECTED[name] ?? { pngs: 1 };
      if (expected.needsData && !env.GRADCAM_CIFAR10_DIR) {
        console.log('      (skipped: needs CIFAR-10; set GRADCAM_CIFAR10_DIR)');
        this.skip();
      }
      const input = path.join(out, `${name}.ipynb`);
      fs.writeFileSync(input, JSON.stringify(notebookFromMarkdown(fs.readFileSync(path.join(NOTEBOOK_DIR, 'src', file), 'utf8'))));
      executeNotebook(input, input, env);
      const nb = JSON.parse(fs.readFileSync(input, 'utf8')) as Notebook;
      const outputs = nb.cells.flatMap((c) => c.outputs ?? []);
      const errors = outputs.filter((o) => o.output_type === 'error');
      expect(errors.map((e) => `${e.ename}: ${e.evalue}`), 'error outputs').to.deep.equal([]);
      const pngs = outputs.filter((o) => o.data && 'image/png' in o.data);
      expect(pngs.length, 'PNG outputs').to.be.at.least(expected.pngs);
      if (expected.widget) {
        type Saved = { model_name: string; state: { _anywidget_id?: string } };
        const widgets = (nb.metadata.widgets as Record<string, { state: Record<string, Saved> }> | undefined)?.['application/vnd.jupyter.widget-state+json'];
        // Our widget on either route: anywidget's model carrying our module, or our labextension's.
        const ours = Object.values(widgets?.state ?? {}).filter((s) => s.model_name === 'GradCamModel' || (s.model_name === 'AnyModel' && s.state._anywidget_id === 'gradcam-ts-widget.GradCamWidget'));
        expect(ours.length, 'saved widget state of the Grad-CAM widget').to.be.above(0);
      }
    });
  }
});

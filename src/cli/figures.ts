/**
 * `gradcam figures`: the paper's classic CIFAR-10 examples from the shipped model and the shipped
 * example images (no data download): a deer and a ship explained with Grad-CAM and Guided
 * Grad-CAM, and misclassified images with the maps of the predicted and the true class.
 */
import * as path from 'path';
import { initBackend } from '../backend';
import { explain } from '../cam';
import { Example, readExamples } from '../render/examples';
import { figureRows, FigureRow, predictedVersusTrueRows, writeFigure } from '../render';
import { ParsedArgs, rejectUnknown, stringFlag } from './args';
import { loadModelWithClasses } from './load';

export const FIGURES_OPTIONS = ['out', 'model', 'examples'] as const;

export async function figuresCommand(args: ParsedArgs): Promise<number> {
  rejectUnknown(args, FIGURES_OPTIONS, 'figures');
  await initBackend();
  const outDir = path.resolve(stringFlag(args, 'out') ?? 'gradcam-figures');
  const { model, classNames, dir } = await loadModelWithClasses(stringFlag(args, 'model'));
  const examples = await readExamples(stringFlag(args, 'examples'));
  const byRole = (role: Example['role']) => examples.filter((e) => e.role === role);
  const caption = (ex: Example, row: FigureRow): FigureRow => ({ ...row, caption: `test #${ex.testIndex} · ${row.caption}` });
  const written: string[] = [];

  for (const role of ['deer', 'ship'] as const) {
    const picked = byRole(role);
    if (!picked.length) continue;
    const images = picked.map((ex) => ex.pixels);
    const e = explain(model, images, { classNames, target: 'predicted', guided: true });
    const rows = figureRows(e, images, { trueLabels: picked.map((ex) => ex.label) }).map((r, i) => caption(picked[i], r));
    const file = path.join(outDir, `${role}.png`);
    writeFigure(file, rows, { title: `Grad-CAM and Guided Grad-CAM for the predicted class (${e.layer})` });
    written.push(file);
    e.images.forEach((im, i) => console.log(`${role}: test #${picked[i].testIndex} true ${picked[i].className}, predicted ${classNames[im.predicted]} (${im.probabilities[im.predicted].toFixed(2)})`));
  }

  // Candidates picked as hard mistakes; show the first two the current model still gets wrong.
  const candidates = byRole('misclassified');
  if (candidates.length) {
    const all = explain(model, candidates.map((ex) => ex.pixels), { classNames, target: 'all', guided: true });
    const order = candidates.map((_, i) => i);
    const stillWrong = order.filter((i) => all.images[i].predicted !== candidates[i].label);
    const shown = [...stillWrong, ...order.filter((i) => !stillWrong.includes(i))].slice(0, 2);
    if (stillWrong.length < 2) console.log(`note: this model gets only ${stillWrong.length} of the ${candidates.length} shipped mistakes wrong; the figure shows correct ones too.`);
    const e = { ...all, images: shown.map((i) => all.images[i]) };
    const picked = shown.map((i) => candidates[i]);
    const rows = predictedVersusTrueRows(e, picked.map((ex) => ex.pixels), picked.map((ex) => ex.label), picked.map((ex) => `test #${ex.testIndex}`));
    e.images.forEach((im, i) => console.log(`misclassified: test #${picked[i].testIndex} true ${picked[i].className}, predicted ${classNames[im.predicted]} (${im.probabilities[im.predicted].toFixed(2)})`));
    const file = path.join(outDir, 'misclassified.png');
    writeFigure(file, rows, { title: 'Mistakes: the map of the predicted class, then of the true class' });
    written.push(file);
  }
  console.log(`model ${dir}\nwrote ${written.join(', ')}`);
  model.dispose();
  return 0;
}

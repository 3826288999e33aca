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

  const wrong = byRole('misclassified');
  if (wrong.length) {
    const images = wrong.map((ex) => ex.pixels);
    const e = explain(model, images, { classNames, target: 'all', guided: true });
    const rows = predictedVersusTrueRows(e, images, wrong.map((ex) => ex.label), wrong.map((ex) => `test #${ex.testIndex}`));
    e.images.forEach((im, i) => console.log(`misclassified: test #${wrong[i].testIndex} true ${wrong[i].className}, predicted ${classNames[im.predicted]} (${im.probabilities[im.predicted].toFixed(2)})`));
    const file = path.join(outDir, 'misclassified.png');
    writeFigure(file, rows, { title: 'Shipped mistakes (picked at an earlier checkpoint): predicted-class map, then true-class map' });
    written.push(file);
  }
  console.log(`model ${dir}\nwrote ${written.join(', ')}`);
  model.dispose();
  return 0;
}

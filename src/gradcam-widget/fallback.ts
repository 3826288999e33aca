/** The picture a front end without the widget shows: one figure row per image, for its selected class. */
import type { Explanation } from '../cam';
import type { GradCamState } from '../shared/gradcam-schema';
import type { WidgetFallback } from '../jupyter/widget';
import { figureRows, FigureRow, renderFigure } from '../render';
import type { ImageStore } from './image-store';

export function fallbackPicture(state: GradCamState, store: ImageStore): WidgetFallback {
  const rows: FigureRow[] = [];
  state.images.forEach((img, i) => {
    const gradcam = store.explanation(i, 'gradcam') as Explanation;
    const all = figureRows(gradcam, [img.pixels as Uint8Array], img.true_class >= 0 ? { trueLabels: [img.true_class] } : {});
    // Rows follow the explained classes (every class, or the image's top ones): the selected one, else the best.
    // A list of targets has one row per target, in the selector's order.
    const selected = state.selected_class[i];
    const row = state.target_values ? selected : Math.max(0, gradcam.images[0].classes.findIndex((c) => c.classIndex === selected));
    rows.push({ ...all[row], caption: `${img.title} · ${all[row].caption}` });
  });
  const png = renderFigure(rows, { colormap: state.colormap, opacity: state.opacity, title: `Grad-CAM on ${state.layer}` });
  const text = state.images
    .map((img, i) => `${img.title}: ${state.class_names[state.selected_class[i]]} (Grad-CAM on ${state.layer})`)
    .join('\n');
  return { png, text: `GradCamWidget\n${text}` };
}

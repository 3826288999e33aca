/**
 * The explanation figure: one row per explained (image, class) with panels
 * [input | Grad-CAM | overlay | guided backprop | Guided Grad-CAM] and a caption such as
 * "pred: deer 0.93 · true: deer". The small input is upscaled with nearest neighbour so its
 * pixels stay crisp; the heatmap is upscaled bilinearly, as it is a smooth field.
 */
import { createCanvas } from 'canvas';
import type { Explanation } from '../cam/types';
import { ColormapName } from './colormap';
import { gradientImage, heatmapImage, overlay, RgbImage, toRgbImage } from './image';
import { putRgb } from './chart';
import { writePng } from './png';
import { bilinearResize, nearestUpscale } from './upsample';

export interface FigureRow {
  /** Input pixels 0-255, HWC. */
  image: ArrayLike<number>;
  width: number;
  height: number;
  channels?: number;
  /** Grad-CAM heatmap in [0,1] at the input size. */
  heatmap: ArrayLike<number>;
  guided?: ArrayLike<number>;
  guidedGradCam?: ArrayLike<number>;
  caption: string;
}

export interface FigureOptions {
  /** Upscale factor for each panel (default 4: 32 px -> 128 px). */
  scale?: number;
  colormap?: ColormapName;
  /** Heatmap opacity in the overlay panel (default 0.5). */
  opacity?: number;
  title?: string;
  /** Header of the heatmap columns (default 'Grad-CAM'; e.g. 'Score-CAM'). */
  methodLabel?: string;
}

const GAP = 8;
const CAPTION = 20;
const HEADER = 22;
const FONT = '13px sans-serif';


/** The panels of one row, each (width*scale) x (height*scale). */
export function rowPanels(row: FigureRow, options: FigureOptions = {}): (RgbImage | undefined)[] {
  const s = options.scale ?? 4;
  const { width: w, height: h } = row;
  const channels = row.channels ?? 3;
  const input = toRgbImage(row.image, w, h, channels);
  const big = { width: w * s, height: h * s, data: nearestUpscale(input.data, h, w, s) };
  const heat = heatmapImage(bilinearResize(row.heatmap, h, w, h * s, w * s), w * s, h * s, options.colormap ?? 'jet');
  const crisp = (g: ArrayLike<number> | undefined): RgbImage | undefined => {
    if (!g) return undefined;
    const img = gradientImage(g, w, h, channels);
    return { width: w * s, height: h * s, data: nearestUpscale(img.data, h, w, s) };
  };
  return [big, heat, overlay(big, heat, options.opacity ?? 0.5), crisp(row.guided), crisp(row.guidedGradCam)];
}

/** The figure as PNG bytes. Guided columns appear when any row has them. */
export function renderFigure(rows: FigureRow[], options: FigureOptions = {}): Buffer {
  if (!rows.length) throw new Error('renderFigure: no rows to draw.');
  const s = options.scale ?? 4;
  const label = options.methodLabel ?? 'Grad-CAM';
  const headers = ['input', label, 'overlay', 'guided backprop', `Guided ${label}`];
  const columns = rows.some((r) => r.guided) ? 5 : 3;
  const panelW = Math.max(...rows.map((r) => r.width)) * s;
  const panelH = Math.max(...rows.map((r) => r.height)) * s;
  const top = (options.title ? HEADER : 0) + HEADER;
  const width = GAP + columns * (panelW + GAP);
  const height = top + rows.length * (CAPTION + panelH + GAP);
  const canvas = createCanvas(width, height);
  const g = canvas.getContext('2d');
  g.fillStyle = '#ffffff';
  g.fillRect(0, 0, width, height);
  g.fillStyle = '#111111';
  if (options.title) {
    g.font = `bold ${FONT}`;
    g.fillText(options.title, GAP, 16);
  }
  g.font = FONT;
  g.textAlign = 'center';
  headers.slice(0, columns).forEach((h, c) => g.fillText(h, GAP + c * (panelW + GAP) + panelW / 2, top - 6));
  g.textAlign = 'left';
  rows.forEach((row, r) => {
    const y = top + r * (CAPTION + panelH + GAP);
    g.fillStyle = '#111111';
    g.fillText(row.caption, GAP, y + CAPTION - 6);
    rowPanels(row, options)
      .slice(0, columns)
      .forEach((panel, c) => {
        const x = GAP + c * (panelW + GAP);
        if (panel) putRgb(g, panel, x, y + CAPTION);
        else {
          g.fillStyle = '#eeeeee';
          g.fillRect(x, y + CAPTION, panelW, panelH);
        }
      });
  });
  return canvas.toBuffer('image/png');
}

/** Renders and writes the figure atomically. */
export function writeFigure(file: string, rows: FigureRow[], options: FigureOptions = {}): void {
  writePng(file, renderFigure(rows, options));
}

export interface CaptionOptions {
  /** True class of each image, when known (e.g. the CIFAR-10 test label). */
  trueLabels?: ArrayLike<number>;
}

function name(e: Explanation, c: number): string {
  return e.classNames?.[c] ?? `class ${c}`;
}

/**
 * Rows for an explanation: one per explained class of each image, captioned
 * "pred: deer 0.93 · true: deer" (and "· map: cat" when the map is for another class).
 * `images` are the pixels that were explained (HWC, 0-255).
 */
export function figureRows(e: Explanation, images: ArrayLike<number>[], options: CaptionOptions = {}): FigureRow[] {
  if (images.length !== e.images.length) {
    throw new Error(`figureRows: ${images.length} images for an explanation of ${e.images.length}.`);
  }
  const [height, width, channels] = e.inputShape;
  return e.images.flatMap((im, i) =>
    im.classes.map((cl) => {
      const parts = [`pred: ${name(e, im.predicted)} ${im.probabilities[im.predicted].toFixed(2)}`];
      if (options.trueLabels) parts.push(`true: ${name(e, options.trueLabels[i])}`);
      if (cl.classIndex !== im.predicted) parts.push(`map: ${name(e, cl.classIndex)}`);
      return {
        image: images[i],
        width,
        height,
        channels,
        heatmap: cl.heatmap,
        guided: cl.guided,
        guidedGradCam: cl.guidedGradCam,
        caption: parts.join(' · '),
      };
    }),
  );
}

/**
 * Rows that explain mistakes: for each image, the map of the class the model predicted, then the
 * map of the true class (one row when they agree). The explanation must hold both classes
 * (explain with target 'all', or with those two targets).
 */
export function predictedVersusTrueRows(e: Explanation, images: ArrayLike<number>[], trueLabels: ArrayLike<number>, titles?: string[]): FigureRow[] {
  return e.images.flatMap((im, i) => {
    const wanted = im.predicted === trueLabels[i] ? [im.predicted] : [im.predicted, trueLabels[i]];
    const classes = wanted.map((c) => {
      const found = im.classes.find((cl) => cl.classIndex === c);
      if (!found) throw new Error(`predictedVersusTrueRows: image ${i} was not explained for class ${c}; explain with target 'all'.`);
      return found;
    });
    const rows = figureRows({ ...e, images: [{ ...im, classes }] }, [images[i]], { trueLabels: [trueLabels[i]] });
    return titles ? rows.map((r) => ({ ...r, caption: `${titles[i]} · ${r.caption}` })) : rows;
  });
}

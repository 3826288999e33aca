/**
 * The explanation figure: one row per explained (image, class) with panels
 * [input | Grad-CAM | overlay | guided backprop | Guided Grad-CAM] and a caption such as
 * "pred: deer 0.93 · true: deer". Panels are sized for people: a small input is upscaled by a
 * whole factor with nearest neighbour so its pixels stay crisp (32 px -> 128 px), up to about
 * 256 px; a large one (224 px and up) is shown at its own size or scaled down bilinearly to
 * 256 px, so a figure of a 299 px input stays readable at 100% zoom. The heatmap is always
 * resized bilinearly, as it is a smooth field.
 */
import { createCanvas } from 'canvas';
import type { TargetRegion } from '../cam/row-targets';
import type { Explanation } from '../cam/types';
import { drawRegion } from './region';
import { ColormapName } from '../shared/colormap';
import { gradientImage, heatmapImage, overlay, RgbImage, toRgbImage } from './image';
import { putRgb } from './chart';
import { writePng } from './png';
import { bilinearResize, nearestUpscale } from '../shared/upsample';

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
  /** What the target covers (a mask, a box), outlined on the input and overlay panels. */
  region?: TargetRegion;
}

export interface FigureOptions {
  /**
   * Scale of each panel: a whole number upscales crisply, below 1 scales down. Default: see
   * panelScale (32 px -> 4, 96 px -> 2, 224 px -> 1, 299 px -> 256/299).
   */
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
/** The largest panel side the default scale aims for. */
export const MAX_PANEL = 256;
/** The largest whole-number upscale the default uses (more makes a 32 px image look blocky). */
const MAX_UPSCALE = 4;

/**
 * The default panel scale for an image of width x height: the largest whole factor up to 4 that
 * keeps the panel within 256 px, 1 when none does, below 1 for images larger than 256 px.
 */
export function panelScale(width: number, height: number): number {
  const side = Math.max(width, height);
  if (side > MAX_PANEL) return MAX_PANEL / side;
  return Math.max(1, Math.min(MAX_UPSCALE, Math.floor(MAX_PANEL / side)));
}

function checkScale(scale: number): void {
  if (!(scale > 0) || (scale > 1 && !Number.isInteger(scale))) {
    throw new RangeError(`Figure scale ${scale} must be a whole number >= 1 (crisp upscale) or between 0 and 1 (scale down).`);
  }
}

/** RGB pixels of a panel resized by `scale`: crisp blocks when upscaling, bilinear when shrinking. */
function resizeRgb(img: RgbImage, scale: number): RgbImage {
  if (scale >= 1) return { width: img.width * scale, height: img.height * scale, data: nearestUpscale(img.data, img.height, img.width, scale) };
  const width = Math.max(1, Math.round(img.width * scale));
  const height = Math.max(1, Math.round(img.height * scale));
  return { width, height, data: Uint8ClampedArray.from(bilinearResize(img.data, img.height, img.width, height, width, 3)) };
}


/** The panels of one row, each (width*scale) x (height*scale). */
export function rowPanels(row: FigureRow, options: FigureOptions = {}): (RgbImage | undefined)[] {
  const { width: w, height: h } = row;
  const s = options.scale ?? panelScale(w, h);
  checkScale(s);
  const channels = row.channels ?? 3;
  const big = resizeRgb(toRgbImage(row.image, w, h, channels), s);
  const heat = heatmapImage(bilinearResize(row.heatmap, h, w, big.height, big.width), big.width, big.height, options.colormap ?? 'jet');
  const sized = (g: ArrayLike<number> | undefined): RgbImage | undefined => (g ? resizeRgb(gradientImage(g, w, h, channels), s) : undefined);
  return [big, heat, overlay(big, heat, options.opacity ?? 0.5), sized(row.guided), sized(row.guidedGradCam)];
}

/** The figure as PNG bytes. Guided columns appear when any row has them. */
export function renderFigure(rows: FigureRow[], options: FigureOptions = {}): Buffer {
  if (!rows.length) throw new Error('renderFigure: no rows to draw.');
  const s = options.scale ?? panelScale(Math.max(...rows.map((r) => r.width)), Math.max(...rows.map((r) => r.height)));
  const label = options.methodLabel ?? 'Grad-CAM';
  const headers = ['input', label, 'overlay', 'guided backprop', `Guided ${label}`];
  const columns = rows.some((r) => r.guided) ? 5 : 3;
  const panelW = Math.max(...rows.map((r) => (s >= 1 ? r.width * s : Math.max(1, Math.round(r.width * s)))));
  const panelH = Math.max(...rows.map((r) => (s >= 1 ? r.height * s : Math.max(1, Math.round(r.height * s)))));
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
    g.fillText(fitText(options.title, width - 2 * GAP, (t) => g.measureText(t).width), GAP, 16);
  }
  g.font = FONT;
  g.textAlign = 'center';
  headers.slice(0, columns).forEach((h, c) => g.fillText(h, GAP + c * (panelW + GAP) + panelW / 2, top - 6));
  g.textAlign = 'left';
  rows.forEach((row, r) => {
    const y = top + r * (CAPTION + panelH + GAP);
    g.fillStyle = '#111111';
    g.fillText(row.caption, GAP, y + CAPTION - 6);
    rowPanels(row, { ...options, scale: s })
      .slice(0, columns)
      .forEach((panel, c) => {
        const x = GAP + c * (panelW + GAP);
        if (panel) {
          putRgb(g, panel, x, y + CAPTION);
          if (row.region && (c === 0 || c === 2)) drawRegion(g, row.region, x, y + CAPTION, panel.width, panel.height, row.width, row.height);
        } else {
          g.fillStyle = '#eeeeee';
          g.fillRect(x, y + CAPTION, panelW, panelH);
        }
      });
  });
  return canvas.toBuffer('image/png');
}

/** `text`, cut short with an ellipsis when wider than `maxWidth` (a long graph-node name). */
export function fitText(text: string, maxWidth: number, widthOf: (t: string) => number): string {
  if (widthOf(text) <= maxWidth) return text;
  let n = text.length;
  while (n > 1 && widthOf(`${text.slice(0, n)}…`) > maxWidth) n--;
  return `${text.slice(0, n)}…`;
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
  if (e.output && e.output.kind !== 'classes') return targetRows(e, images, width, height, channels);
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

/** Rows of a non-classifier: each captioned with its target and the value standing for it. */
function targetRows(e: Explanation, images: ArrayLike<number>[], width: number, height: number, channels: number): FigureRow[] {
  const value = (p: number): string => (e.output.kind === 'labels' || e.output.kind === 'detections' ? `p ${p.toFixed(2)}` : e.output.kind === 'map' ? `mean p ${p.toFixed(2)}` : e.output.kind === 'embedding' ? `cosine ${p.toFixed(3)}` : '');
  return e.images.flatMap((im, i) =>
    im.classes.map((cl) => ({
      image: images[i], width, height, channels,
      heatmap: cl.heatmap, guided: cl.guided, guidedGradCam: cl.guidedGradCam, region: cl.region,
      caption: [cl.target, value(cl.probability)].filter(Boolean).join(' · '),
    })),
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

/**
 * Grids of small pictures with a label under each: sample images per class, and the channels
 * A^k of a conv layer's activations. Cells are upscaled by nearest neighbour so every pixel of
 * a 32x32 image (or an 8x8 map) stays a crisp block, as in the figure's input panel.
 */
import { createCanvas } from 'canvas';
import { fitText, FONT, INK, putRgb, TITLE_FONT } from './chart';
import { applyColormap, ColormapName } from '../shared/colormap';
import { RgbImage, toRgbImage } from './image';
import { nearestUpscale } from '../shared/upsample';

export interface GridCell {
  /** HWC pixels 0-255, RGB (3 values a pixel) or grey (1). */
  pixels: ArrayLike<number>;
  width: number;
  height: number;
  label?: string;
}

export interface GridOptions {
  /** Cells per row (default: all in one row, at most 10). */
  columns?: number;
  /** Integer upscale factor (default: enough for cells of about 64 px). */
  scale?: number;
  title?: string;
}

const GAP = 8;
const LABEL = 18;
const HEADER = 24;

function checkScale(scale: number): void {
  if (!(Number.isInteger(scale) && scale >= 1)) throw new RangeError(`grid scale ${scale} must be a whole number >= 1.`);
}

function gridPng(images: RgbImage[], labels: (string | undefined)[], columns: number, scale: number, title?: string): Buffer {
  checkScale(scale);
  if (!(Number.isInteger(columns) && columns >= 1)) throw new RangeError(`grid columns ${columns} must be a whole number >= 1.`);
  const cellW = Math.max(...images.map((i) => i.width)) * scale;
  const cellH = Math.max(...images.map((i) => i.height)) * scale;
  const label = labels.some((l) => l) ? LABEL : 0;
  const top = GAP + (title ? HEADER : 0);
  const cols = Math.min(columns, images.length);
  const rows = Math.ceil(images.length / cols);
  // A title wider than the cells widens the picture rather than being cut short.
  const measure = createCanvas(1, 1).getContext('2d');
  measure.font = TITLE_FONT;
  const titleW = title ? Math.ceil(measure.measureText(title).width) + 2 * GAP : 0;
  const width = Math.max(GAP + cols * (cellW + GAP), Math.min(titleW, 1600));
  const height = top + rows * (cellH + label + GAP);
  const canvas = createCanvas(width, height);
  const g = canvas.getContext('2d');
  g.fillStyle = '#ffffff';
  g.fillRect(0, 0, width, height);
  g.fillStyle = INK;
  if (title) {
    g.font = TITLE_FONT;
    g.fillText(fitText(g, title, width - 2 * GAP), GAP, GAP + 14);
  }
  g.font = FONT;
  g.textAlign = 'center';
  images.forEach((img, i) => {
    const x = GAP + (i % cols) * (cellW + GAP);
    const y = top + Math.floor(i / cols) * (cellH + label + GAP);
    // Smaller cells are centred in their slot; the usual case (equal sizes) fills it exactly.
    const big = { width: img.width * scale, height: img.height * scale, data: nearestUpscale(img.data, img.height, img.width, scale) };
    putRgb(g, big, x + Math.floor((cellW - big.width) / 2), y);
    const text = labels[i];
    if (text) g.fillText(fitText(g, text, cellW + GAP - 2), x + cellW / 2, y + cellH + 13);
  });
  return canvas.toBuffer('image/png');
}

const defaultScale = (images: RgbImage[]): number => Math.max(1, Math.ceil(64 / Math.max(...images.map((i) => Math.max(i.width, i.height)))));

/** Images in a grid, each labelled underneath (e.g. 10 columns of samples per class). */
export function imageGridPng(cells: GridCell[], opts: GridOptions = {}): Buffer {
  if (!cells.length) throw new Error('imageGridPng: no cells to draw.');
  const images = cells.map((c, i) => {
    const n = c.width * c.height;
    const channels = c.pixels.length === 3 * n ? 3 : c.pixels.length === n ? 1 : 0;
    if (!channels) throw new Error(`imageGridPng: cell ${i} has ${c.pixels.length} values, expected ${c.width}x${c.height} x 3 (RGB) or x 1 (grey).`);
    return toRgbImage(c.pixels, c.width, c.height, channels);
  });
  return gridPng(images, cells.map((c) => c.label), opts.columns ?? Math.min(cells.length, 10), opts.scale ?? defaultScale(images), opts.title);
}

export interface ChannelGridOptions {
  /** Which channels k to show, in this order (default: all). */
  channels?: number[];
  /** Cells per row (default: all in one row, at most 16). */
  columns?: number;
  scale?: number;
  /** Default 'viridis'. */
  colormap?: ColormapName;
  title?: string;
  /** One label per shown channel (default "k=<index>"). */
  labels?: string[];
}

/**
 * Channels of an HWC activation tensor [h, w, K] as colour-mapped maps. Each map is min-max
 * normalised on its own, because channels differ in scale by orders of magnitude and a shared
 * scale would leave most of them blank; a constant map shows as all minimum colour.
 */
export function channelGridPng(activations: Float32Array, h: number, w: number, K: number, opts: ChannelGridOptions = {}): Buffer {
  if (activations.length !== h * w * K) throw new Error(`channelGridPng: ${activations.length} values, expected ${h}x${w}x${K} = ${h * w * K}.`);
  const channels = opts.channels ?? Array.from({ length: K }, (_, k) => k);
  if (!channels.length) throw new Error('channelGridPng: no channels to show.');
  for (const k of channels) {
    if (!(Number.isInteger(k) && k >= 0 && k < K)) throw new RangeError(`channelGridPng: channel ${k} is not in 0..${K - 1}.`);
  }
  if (opts.labels && opts.labels.length !== channels.length) {
    throw new Error(`channelGridPng: ${opts.labels.length} labels for ${channels.length} channels.`);
  }
  const images = channels.map((k) => {
    const map = new Float32Array(h * w);
    let lo = Infinity;
    let hi = -Infinity;
    for (let p = 0; p < h * w; p++) {
      const v = activations[p * K + k];
      map[p] = v;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    // NaN stays NaN here and applyColormap draws it as the low end.
    for (let p = 0; p < h * w; p++) map[p] = hi > lo ? (map[p] - lo) / (hi - lo) : 0;
    return { width: w, height: h, data: applyColormap(map, opts.colormap ?? 'viridis') };
  });
  const labels = opts.labels ?? channels.map((k) => `k=${k}`);
  return gridPng(images, labels, opts.columns ?? Math.min(channels.length, 16), opts.scale ?? defaultScale(images), opts.title);
}

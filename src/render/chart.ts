/**
 * Small drawing helpers shared by the charts (curves, bars, grids): "nice" axis ticks
 * (1, 2 or 5 x 10^n, so labels read well), tick labels, text that fits a width, RGB blits.
 */
import { CanvasRenderingContext2D } from 'canvas';
import { RgbImage } from './image';

export interface Ticks {
  /** Axis range, widened to whole steps so the first and last tick sit on the ends. */
  lo: number;
  hi: number;
  step: number;
  values: number[];
}

/** About `count` nice ticks covering [lo, hi]; an empty or non-finite range still gets an axis. */
export function niceTicks(lo: number, hi: number, count = 5): Ticks {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [0, 1];
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / Math.max(1, count);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const f = raw / magnitude;
  const step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * magnitude;
  // The epsilon keeps 0.30000000000000004 / 0.1 from adding a tick.
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const values: number[] = [];
  for (let i = first; i <= last; i++) values.push(Number((i * step).toPrecision(12)) || 0);
  return { lo: values[0], hi: values[values.length - 1], step, values };
}

/** [min, max] of the finite values (a loop, not Math.min(...v): long histories overflow the stack). */
export function extent(values: ArrayLike<number>): [number, number] | undefined {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : undefined;
}

/** A tick label with as many decimals as the step needs; exponents for tiny or huge values. */
export function formatTick(value: number, step: number): string {
  if (value === 0) return '0';
  if (Math.abs(step) < 1e-3 || Math.abs(value) >= 1e5) return value.toExponential(1);
  const decimals = Math.max(0, -Math.floor(Math.log10(Math.abs(step)) + 1e-9));
  return value.toFixed(decimals);
}

/** `text`, shortened with an ellipsis until it fits `maxWidth` in the current font. */
export function fitText(g: CanvasRenderingContext2D, text: string, maxWidth: number): string {
  if (g.measureText(text).width <= maxWidth) return text;
  let n = text.length;
  while (n > 0 && g.measureText(`${text.slice(0, n)}…`).width > maxWidth) n--;
  return n > 0 ? `${text.slice(0, n)}…` : '';
}

/** Copies an RgbImage onto the canvas at (x, y), opaque. */
export function putRgb(g: CanvasRenderingContext2D, img: RgbImage, x: number, y: number): void {
  const data = g.createImageData(img.width, img.height);
  for (let p = 0; p < img.width * img.height; p++) {
    data.data[4 * p] = img.data[3 * p];
    data.data[4 * p + 1] = img.data[3 * p + 1];
    data.data[4 * p + 2] = img.data[3 * p + 2];
    data.data[4 * p + 3] = 255;
  }
  g.putImageData(data, x, y);
}

/** The plotting area of a chart, in canvas pixels. */
export interface Frame {
  x: number;
  y: number;
  width: number;
  height: number;
}

export const INK = '#111111';
export const MUTED = '#666666';
export const GRID = '#e6e6e6';
export const FONT = '12px sans-serif';
export const TITLE_FONT = 'bold 14px sans-serif';

export interface LegendItem {
  label: string;
  color: string;
  kind: 'line' | 'dot';
}

/** A legend box in a corner of the frame, on white so data under it does not muddle the text. */
export function drawLegend(g: CanvasRenderingContext2D, frame: Frame, items: LegendItem[], corner: 'top-right' | 'bottom-right'): void {
  if (!items.length) return;
  g.font = FONT;
  const row = 16;
  const w = 30 + Math.max(...items.map((i) => g.measureText(i.label).width));
  const h = items.length * row + 6;
  const x = frame.x + frame.width - w - 6;
  const y = corner === 'top-right' ? frame.y + 6 : frame.y + frame.height - h - 6;
  g.fillStyle = 'rgba(255,255,255,0.9)';
  g.fillRect(x, y, w, h);
  g.strokeStyle = '#cccccc';
  g.lineWidth = 1;
  g.strokeRect(x + 0.5, y + 0.5, w - 1, h - 1);
  items.forEach((item, i) => {
    const cy = y + 3 + i * row + row / 2;
    g.fillStyle = item.color;
    g.strokeStyle = item.color;
    if (item.kind === 'line') {
      g.lineWidth = 2;
      g.beginPath();
      g.moveTo(x + 6, cy);
      g.lineTo(x + 22, cy);
      g.stroke();
    } else {
      g.beginPath();
      g.arc(x + 14, cy, 3.5, 0, 2 * Math.PI);
      g.fill();
    }
    g.fillStyle = INK;
    g.textAlign = 'left';
    g.fillText(item.label, x + 26, cy + 4);
  });
}

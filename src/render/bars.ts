/**
 * A bar chart of signed values: the channel weights alpha_k^c (K = 128 bars, "k=17"), or class
 * probabilities (10 bars with class names). Positive bars red and negative blue, as in the
 * widget's chart, so "pushes towards the class" and "pushes away" read the same everywhere.
 */
import { createCanvas } from 'canvas';
import { fitText, FONT, formatTick, GRID, INK, MUTED, niceTicks, TITLE_FONT } from './chart';

export interface BarChartOptions {
  /** One per value (default: the index). */
  labels?: string[];
  /** 'desc': largest value first; 'none' (default): in index order. */
  sort?: 'desc' | 'none';
  /** Show only the N values of largest absolute value. */
  top?: number;
  title?: string;
  width?: number;
  height?: number;
  /** Indices (into `values`) drawn in the accent colour, e.g. the channels shown beside the chart. */
  highlight?: number[];
}

export const BAR_COLORS = { positive: '#d62728', negative: '#1f77b4', highlight: '#2ca02c' } as const;

const LABEL_MAX = 110;

/** A value printed over its bar: two decimals for probabilities, exponents for tiny weights. */
function valueText(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < 0.001) return v.toExponential(1);
  if (a < 0.01) return v.toPrecision(1);
  return a < 10 ? v.toFixed(2) : v.toPrecision(3);
}

/** The chart as PNG bytes (default 720x360). */
export function barChartPng(values: ArrayLike<number>, opts: BarChartOptions = {}): Buffer {
  const n = values.length;
  if (!n) throw new Error('barChartPng: no values to draw.');
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(values[i])) throw new RangeError(`barChartPng: value ${i} is ${values[i]}; bars need finite numbers.`);
  }
  if (opts.labels && opts.labels.length !== n) throw new Error(`barChartPng: ${opts.labels.length} labels for ${n} values.`);
  if (opts.top !== undefined && !(Number.isInteger(opts.top) && opts.top >= 1)) throw new RangeError(`barChartPng: top ${opts.top} must be a whole number >= 1.`);
  const width = Math.round(opts.width ?? 720);
  const height = Math.round(opts.height ?? 360);
  if (!(width >= 160 && height >= 120)) throw new RangeError(`barChartPng: ${width}x${height} is too small (at least 160x120).`);

  let shown = Array.from({ length: n }, (_, i) => i);
  if (opts.top !== undefined) shown = shown.sort((a, b) => Math.abs(values[b]) - Math.abs(values[a]) || a - b).slice(0, opts.top);
  shown.sort(opts.sort === 'desc' ? (a, b) => values[b] - values[a] || a - b : (a, b) => a - b);
  const labels = shown.map((i) => opts.labels?.[i] ?? String(i));
  const highlight = new Set(opts.highlight ?? []);

  let lo = 0;
  let hi = 0;
  for (const i of shown) {
    lo = Math.min(lo, values[i]);
    hi = Math.max(hi, values[i]);
  }
  const ticks = niceTicks(lo, hi, 5);

  const canvas = createCanvas(width, height);
  const g = canvas.getContext('2d');
  g.font = FONT;
  const tickLabels = ticks.values.map((v) => formatTick(v, ticks.step));
  const left = 14 + Math.ceil(Math.max(...tickLabels.map((t) => g.measureText(t).width)));
  const right = 12;
  const slot = (width - left - right) / shown.length;
  const labelW = Math.min(LABEL_MAX, Math.ceil(Math.max(...labels.map((l) => g.measureText(l).width))));
  // Labels wider than their bar turn: 45 degrees while bars are wide (class names), vertical when
  // thin (128 channels), and bars thinner than a line of text label every m-th only.
  const turned = labelW > slot - 4;
  const angle = !turned ? 0 : slot >= 24 ? Math.PI / 4 : Math.PI / 2;
  const every = turned ? Math.max(1, Math.ceil(13 / slot)) : 1;
  // Room for the values printed past the longest bars, above and below.
  const showValues = shown.length <= 16;
  const over = showValues && hi > 0 ? 12 : 0;
  const under = showValues && lo < 0 ? 14 : 0;
  const bottom = under + (turned ? Math.ceil(labelW * Math.sin(angle) + 9 * Math.cos(angle)) + 20 : 26);
  const top = (opts.title ? 34 : 14) + over;
  const frame = { x: left, y: top, width: width - left - right, height: height - top - bottom };
  if (frame.height < 20) throw new RangeError(`barChartPng: height ${height} leaves no room for bars under ${bottom}px of labels.`);
  const y = (v: number): number => frame.y + frame.height - ((v - ticks.lo) / (ticks.hi - ticks.lo)) * frame.height;

  g.fillStyle = '#ffffff';
  g.fillRect(0, 0, width, height);
  if (opts.title) {
    g.fillStyle = INK;
    g.font = TITLE_FONT;
    g.fillText(fitText(g, opts.title, width - 16), 8, 20);
    g.font = FONT;
  }
  g.lineWidth = 1;
  g.strokeStyle = GRID;
  g.fillStyle = MUTED;
  g.textAlign = 'right';
  ticks.values.forEach((v, t) => {
    const ty = Math.round(y(v)) + 0.5;
    g.beginPath();
    g.moveTo(frame.x, ty);
    g.lineTo(frame.x + frame.width, ty);
    g.stroke();
    g.fillText(tickLabels[t], frame.x - 6, ty + 4);
  });

  const zero = Math.round(y(0));
  shown.forEach((i, s) => {
    const v = values[i];
    // Whole pixels, so each bar is one flat colour with no anti-aliased fringe.
    const x0 = Math.round(frame.x + s * slot + slot * 0.1);
    const x1 = Math.max(x0 + 1, Math.round(frame.x + (s + 1) * slot - slot * 0.1));
    const yv = Math.round(y(v));
    g.fillStyle = highlight.has(i) ? BAR_COLORS.highlight : v >= 0 ? BAR_COLORS.positive : BAR_COLORS.negative;
    // The zero line owns row `zero`: positive bars end above it, negative ones start below it.
    if (v >= 0) g.fillRect(x0, yv, x1 - x0, zero - yv);
    else g.fillRect(x0, zero + 1, x1 - x0, yv - zero);
    const cx = (x0 + x1) / 2;
    g.fillStyle = INK;
    if (showValues) {
      const text = valueText(v);
      if (g.measureText(text).width <= slot) {
        g.textAlign = 'center';
        g.fillText(text, cx, v >= 0 ? yv - 4 : yv + 13);
      }
    }
    if (s % every) return;
    const label = fitText(g, labels[s], LABEL_MAX);
    if (turned) {
      g.save();
      g.translate(cx + 4 * Math.sin(angle), frame.y + frame.height + under + 8);
      g.rotate(-angle);
      g.textAlign = 'right';
      g.fillText(label, 0, 0);
      g.restore();
    } else {
      g.textAlign = 'center';
      g.fillText(label, cx, frame.y + frame.height + under + 17);
    }
  });
  g.fillStyle = '#333333';
  g.fillRect(frame.x, zero, frame.width, 1);
  return canvas.toBuffer('image/png');
}

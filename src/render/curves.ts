/**
 * Training curves as one PNG: loss on the left (every batch as a faint point, a smoothed line
 * through them, the epoch means as dots), accuracy on the right (train and test per epoch, 0-100 %).
 * Both panels share the x axis in epochs, so a dip in one lines up with the other. Drawn from the
 * first batch on: with no finished epoch the accuracy panel says so instead of failing.
 */
import { createCanvas, CanvasRenderingContext2D } from 'canvas';
import { drawLegend, extent, fitText, FONT, formatTick, Frame, GRID, INK, LegendItem, MUTED, niceTicks, Ticks, TITLE_FONT } from './chart';

export interface TrainingHistory {
  /** Loss after global batch `step` (1-based steps; x = step / stepsPerEpoch). */
  batchLoss: { step: number; loss: number }[];
  /** One record per finished epoch (epoch 1 ends at x = 1). */
  epochs: { epoch: number; trainLoss: number; trainAccuracy: number; testAccuracy: number }[];
  stepsPerEpoch: number;
  title?: string;
}

export const CURVE_COLORS = {
  batch: '#aec7e8',
  smoothed: '#1f77b4',
  epochLoss: '#08306b',
  train: '#1f77b4',
  test: '#ff7f0e',
} as const;

const GAP = 16;
const MARGIN = { left: 52, right: 10, top: 24, bottom: 38 };

/** Centred moving average over about a twentieth of the points (at least 5): no lag, unlike an EMA. */
function smooth(ys: number[]): number[] {
  const half = ys.length < 5 ? 0 : Math.max(2, Math.floor(ys.length / 40));
  const prefix = [0];
  for (const y of ys) prefix.push(prefix[prefix.length - 1] + y);
  return ys.map((_, i) => {
    const a = Math.max(0, i - half);
    const b = Math.min(ys.length, i + half + 1);
    return (prefix[b] - prefix[a]) / (b - a);
  });
}

interface Scale {
  frame: Frame;
  x: Ticks;
  y: Ticks;
}

const px = (s: Scale, v: number): number => s.frame.x + ((v - s.x.lo) / (s.x.hi - s.x.lo)) * s.frame.width;
const py = (s: Scale, v: number): number => s.frame.y + s.frame.height - ((v - s.y.lo) / (s.y.hi - s.y.lo)) * s.frame.height;

function axes(g: CanvasRenderingContext2D, s: Scale, title: string, yLabel: (v: number) => string): void {
  const { frame } = s;
  g.font = FONT;
  g.lineWidth = 1;
  g.strokeStyle = GRID;
  g.fillStyle = MUTED;
  g.textAlign = 'right';
  for (const v of s.y.values) {
    const y = Math.round(py(s, v)) + 0.5;
    g.beginPath();
    g.moveTo(frame.x, y);
    g.lineTo(frame.x + frame.width, y);
    g.stroke();
    g.fillText(yLabel(v), frame.x - 5, y + 4);
  }
  g.textAlign = 'center';
  for (const v of s.x.values) {
    const x = Math.round(px(s, v)) + 0.5;
    g.beginPath();
    g.moveTo(x, frame.y + frame.height);
    g.lineTo(x, frame.y + frame.height + 4);
    g.stroke();
    g.fillText(formatTick(v, s.x.step), x, frame.y + frame.height + 16);
  }
  g.fillText('epoch', frame.x + frame.width / 2, frame.y + frame.height + 32);
  g.strokeStyle = '#999999';
  g.strokeRect(frame.x + 0.5, frame.y + 0.5, frame.width - 1, frame.height - 1);
  g.fillStyle = INK;
  g.font = 'bold 13px sans-serif';
  g.textAlign = 'left';
  g.fillText(title, frame.x, frame.y - 8);
}

function polyline(g: CanvasRenderingContext2D, s: Scale, xs: number[], ys: number[], color: string): void {
  if (xs.length < 2) return;
  g.strokeStyle = color;
  g.lineWidth = 2;
  g.lineJoin = 'round';
  g.beginPath();
  xs.forEach((x, i) => (i ? g.lineTo(px(s, x), py(s, ys[i])) : g.moveTo(px(s, x), py(s, ys[i]))));
  g.stroke();
}

function dots(g: CanvasRenderingContext2D, s: Scale, xs: number[], ys: number[], color: string, r = 3.5): void {
  g.fillStyle = color;
  xs.forEach((x, i) => {
    g.beginPath();
    g.arc(px(s, x), py(s, ys[i]), r, 0, 2 * Math.PI);
    g.fill();
  });
}

function clipTo(g: CanvasRenderingContext2D, f: Frame): void {
  g.save();
  g.beginPath();
  g.rect(f.x, f.y, f.width, f.height);
  g.clip();
}

/** The loss and accuracy curves as PNG bytes (default 900x340). */
export function trainingCurvesPng(h: TrainingHistory, size: { width?: number; height?: number } = {}): Buffer {
  const width = Math.round(size.width ?? 900);
  const height = Math.round(size.height ?? 340);
  if (!(width >= 320 && height >= 160)) throw new RangeError(`trainingCurvesPng: ${width}x${height} is too small (at least 320x160).`);
  const perEpoch = h.stepsPerEpoch > 0 ? h.stepsPerEpoch : 1;
  const batches = h.batchLoss.filter((b) => Number.isFinite(b.step) && Number.isFinite(b.loss));
  const epochs = h.epochs.filter((e) => Number.isFinite(e.epoch));
  const bx = batches.map((b) => b.step / perEpoch);
  const by = batches.map((b) => b.loss);
  const ex = epochs.map((e) => e.epoch);
  const eLoss = epochs.map((e) => e.trainLoss);

  const canvas = createCanvas(width, height);
  const g = canvas.getContext('2d');
  g.fillStyle = '#ffffff';
  g.fillRect(0, 0, width, height);
  let top = 8;
  if (h.title) {
    g.fillStyle = INK;
    g.font = TITLE_FONT;
    g.fillText(fitText(g, h.title, width - 16), 8, 18);
    top = 28;
  }
  const panelW = (width - GAP) / 2;
  const frameOf = (left: number): Frame => ({
    x: Math.round(left + MARGIN.left),
    y: top + MARGIN.top,
    width: Math.round(panelW - MARGIN.left - MARGIN.right),
    height: height - top - MARGIN.top - MARGIN.bottom,
  });
  // Both panels span at least one epoch so the first batches are not stretched over the width.
  const x = niceTicks(0, Math.max(1, extent(bx)?.[1] ?? 0, extent(ex)?.[1] ?? 0), 5);

  const range = extent([...by, ...eLoss].filter(Number.isFinite)) ?? [0, 1];
  const loss: Scale = { frame: frameOf(0), x, y: niceTicks(range[0], range[1], 4) };
  axes(g, loss, 'loss', (v) => formatTick(v, loss.y.step));
  clipTo(g, loss.frame);
  g.fillStyle = CURVE_COLORS.batch;
  bx.forEach((v, i) => g.fillRect(px(loss, v) - 1, py(loss, by[i]) - 1, 2, 2));
  polyline(g, loss, bx, smooth(by), CURVE_COLORS.smoothed);
  dots(g, loss, ex, eLoss, CURVE_COLORS.epochLoss);
  g.restore();
  const lossLegend: LegendItem[] = [];
  if (bx.length) lossLegend.push({ label: 'batch', color: CURVE_COLORS.batch, kind: 'dot' }, { label: 'smoothed', color: CURVE_COLORS.smoothed, kind: 'line' });
  if (ex.length) lossLegend.push({ label: 'epoch train loss', color: CURVE_COLORS.epochLoss, kind: 'dot' });
  drawLegend(g, loss.frame, lossLegend, 'top-right');
  if (!bx.length && !ex.length) note(g, loss.frame, 'no batches yet');

  const acc: Scale = { frame: frameOf(panelW + GAP), x, y: niceTicks(0, 1, 5) };
  axes(g, acc, 'accuracy', (v) => `${Math.round(v * 100)}%`);
  clipTo(g, acc.frame);
  const train = epochs.map((e) => e.trainAccuracy);
  const test = epochs.map((e) => e.testAccuracy);
  polyline(g, acc, ex, train, CURVE_COLORS.train);
  polyline(g, acc, ex, test, CURVE_COLORS.test);
  dots(g, acc, ex, train, CURVE_COLORS.train);
  dots(g, acc, ex, test, CURVE_COLORS.test);
  g.restore();
  if (epochs.length) {
    const pct = (v: number): string => (Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : 'n/a');
    drawLegend(g, acc.frame, [
      { label: `train ${pct(train[train.length - 1])}`, color: CURVE_COLORS.train, kind: 'dot' },
      { label: `test ${pct(test[test.length - 1])}`, color: CURVE_COLORS.test, kind: 'dot' },
    ], 'bottom-right');
  } else note(g, acc.frame, 'no finished epoch yet');
  return canvas.toBuffer('image/png');
}

function note(g: CanvasRenderingContext2D, f: Frame, text: string): void {
  g.fillStyle = MUTED;
  g.font = FONT;
  g.textAlign = 'center';
  g.fillText(text, f.x + f.width / 2, f.y + f.height / 2);
  g.textAlign = 'left';
}

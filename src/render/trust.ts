/**
 * The pictures of `gradcam trust`: mean deletion and insertion curves of every method side by
 * side, and the cascading-randomisation figure (Adebayo et al., NeurIPS 2018, Fig. 2): one row per
 * method, the trained model's map, then the map after each further layer is randomised from the top.
 */
import { createCanvas, CanvasRenderingContext2D } from 'canvas';
import { drawLegend, fitText, FONT, formatTick, Frame, GRID, INK, LegendItem, MUTED, niceTicks, putRgb, Ticks, TITLE_FONT } from './chart';
import { heatmapImage, overlay, RgbImage, toRgbImage } from './image';
import { nearestUpscale } from '../shared/upsample';

/** Tableau 10: distinct for up to ten methods. */
export const METHOD_COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

export interface CurveSeries {
  label: string;
  /** y at each x of `fractions`. */
  values: ArrayLike<number>;
}

export interface CurvePanel {
  title: string;
  series: CurveSeries[];
}

function drawPanel(g: CanvasRenderingContext2D, frame: Frame, panel: CurvePanel, fractions: ArrayLike<number>, xLabel: string): void {
  const x: Ticks = niceTicks(0, 1, 5);
  const y: Ticks = niceTicks(0, 1, 5);
  const px = (v: number) => frame.x + ((v - x.lo) / (x.hi - x.lo)) * frame.width;
  const py = (v: number) => frame.y + frame.height - ((v - y.lo) / (y.hi - y.lo)) * frame.height;
  g.font = FONT;
  g.lineWidth = 1;
  g.strokeStyle = GRID;
  g.fillStyle = MUTED;
  g.textAlign = 'right';
  for (const v of y.values) {
    g.beginPath();
    g.moveTo(frame.x, Math.round(py(v)) + 0.5);
    g.lineTo(frame.x + frame.width, Math.round(py(v)) + 0.5);
    g.stroke();
    g.fillText(formatTick(v, y.step), frame.x - 5, py(v) + 4);
  }
  g.textAlign = 'center';
  for (const v of x.values) g.fillText(formatTick(v, x.step), px(v), frame.y + frame.height + 16);
  g.fillText(xLabel, frame.x + frame.width / 2, frame.y + frame.height + 32);
  g.save();
  g.translate(frame.x - 36, frame.y + frame.height / 2);
  g.rotate(-Math.PI / 2);
  g.fillText('p(class)', 0, 0);
  g.restore();
  g.strokeStyle = '#999999';
  g.strokeRect(frame.x + 0.5, frame.y + 0.5, frame.width - 1, frame.height - 1);
  g.fillStyle = INK;
  g.font = 'bold 13px sans-serif';
  g.textAlign = 'left';
  g.fillText(panel.title, frame.x, frame.y - 8);
  panel.series.forEach((s, i) => {
    g.strokeStyle = METHOD_COLORS[i % METHOD_COLORS.length];
    g.lineWidth = 2;
    g.beginPath();
    for (let j = 0; j < fractions.length; j++) {
      if (j) g.lineTo(px(fractions[j]), py(s.values[j]));
      else g.moveTo(px(fractions[j]), py(s.values[j]));
    }
    g.stroke();
  });
  const legend: LegendItem[] = panel.series.map((s, i) => ({ label: s.label, color: METHOD_COLORS[i % METHOD_COLORS.length], kind: 'line' }));
  // The legend goes where the curves are not: below rising curves (insertion), above falling ones (deletion).
  const ends = panel.series.map((ser) => ser.values[ser.values.length - 1]).filter(Number.isFinite);
  const high = ends.length > 0 && ends.reduce((a, b) => a + b, 0) / ends.length > 0.5;
  drawLegend(g, frame, legend, high ? 'bottom-right' : 'top-right');
}

/** Panels of probability curves over the fraction of pixels, side by side, as PNG bytes. */
export function metricCurvesPng(fractions: ArrayLike<number>, panels: CurvePanel[], options: { title?: string; panelWidth?: number; height?: number } = {}): Buffer {
  if (!panels.length) throw new Error('metricCurvesPng: no panels to draw.');
  const panelW = options.panelWidth ?? 440;
  const height = options.height ?? 340;
  const top = options.title ? 28 : 8;
  const margin = { left: 56, right: 12, top: 24, bottom: 40 };
  const canvas = createCanvas(panelW * panels.length, height);
  const g = canvas.getContext('2d');
  g.fillStyle = '#ffffff';
  g.fillRect(0, 0, canvas.width, height);
  if (options.title) {
    g.fillStyle = INK;
    g.font = TITLE_FONT;
    g.fillText(fitText(g, options.title, canvas.width - 16), 8, 18);
  }
  panels.forEach((panel, i) => {
    const frame: Frame = { x: i * panelW + margin.left, y: top + margin.top, width: panelW - margin.left - margin.right, height: height - top - margin.top - margin.bottom };
    drawPanel(g, frame, panel, fractions, 'fraction of pixels');
  });
  return canvas.toBuffer('image/png');
}

export interface RandomisationRow {
  label: string;
  /** Heatmaps [H*W] in [0,1]: the trained model's, then one per randomisation step. */
  maps: ArrayLike<number>[];
}

/**
 * The input image, then per row the maps overlaid on it; `columns` names each map column
 * (e.g. 'trained', 'logits', 'conv6', ...). Cells are upscaled by nearest neighbour.
 */
export function randomisationFigurePng(image: ArrayLike<number>, width: number, height: number, columns: string[], rows: RandomisationRow[], options: { title?: string; scale?: number } = {}): Buffer {
  const scale = options.scale ?? 3;
  const cell = { w: width * scale, h: height * scale };
  const gap = 6;
  const labelW = 110;
  const header = (options.title ? 26 : 6) + 18;
  const canvas = createCanvas(labelW + (columns.length + 1) * (cell.w + gap) + gap, header + rows.length * (cell.h + gap) + gap);
  const g = canvas.getContext('2d');
  g.fillStyle = '#ffffff';
  g.fillRect(0, 0, canvas.width, canvas.height);
  g.fillStyle = INK;
  if (options.title) {
    g.font = TITLE_FONT;
    g.fillText(fitText(g, options.title, canvas.width - 16), 8, 18);
  }
  const rgb: RgbImage = toRgbImage(image, width, height);
  const put = (img: RgbImage, x: number, y: number) =>
    putRgb(g, { width: img.width * scale, height: img.height * scale, data: nearestUpscale(img.data, img.height, img.width, scale) }, x, y);
  g.font = FONT;
  g.textAlign = 'center';
  ['input', ...columns].forEach((c, j) => g.fillText(fitText(g, c, cell.w + gap), labelW + gap + j * (cell.w + gap) + cell.w / 2, header - 6));
  rows.forEach((row, i) => {
    const y = header + i * (cell.h + gap);
    g.textAlign = 'right';
    g.fillStyle = INK;
    g.fillText(fitText(g, row.label, labelW - 8), labelW - 4, y + cell.h / 2 + 4);
    put(rgb, labelW + gap, y);
    row.maps.forEach((m, j) => put(overlay(rgb, heatmapImage(m, width, height), 0.5), labelW + gap + (j + 1) * (cell.w + gap), y));
  });
  return canvas.toBuffer('image/png');
}

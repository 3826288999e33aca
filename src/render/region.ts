/**
 * What a non-classifier's target covers, drawn over a panel: a segmentation mask's outline and a
 * detection's box, so a figure shows what was explained and not only the map.
 */
import type { CanvasRenderingContext2D } from 'canvas';
import type { TargetRegion } from '../cam/row-targets';

const STROKE = '#00e5ff';

/** A detector's box in input pixels: coordinates within 0..1.5 are read as fractions of the input. */
export function boxInPixels(box: readonly number[], width: number, height: number): [number, number, number, number] {
  const normalised = box.every((v) => v >= -0.5 && v <= 1.5);
  const [x1, y1, x2, y2] = box;
  return normalised ? [x1 * width, y1 * height, x2 * width, y2 * height] : [x1, y1, x2, y2];
}

/**
 * Strokes `region` over the panel at (x, y) of panelW x panelH showing an input of width x height:
 * the edges between mask cells that are in and out, and the box.
 */
export function drawRegion(g: CanvasRenderingContext2D, region: TargetRegion, x: number, y: number, panelW: number, panelH: number, width: number, height: number): void {
  g.save();
  g.strokeStyle = STROKE;
  g.lineWidth = 2;
  g.beginPath();
  const { mask, box } = region;
  if (mask) {
    const cw = panelW / mask.width;
    const ch = panelH / mask.height;
    const on = (r: number, c: number): boolean => r >= 0 && c >= 0 && r < mask.height && c < mask.width && mask.data[r * mask.width + c] !== 0;
    for (let r = 0; r < mask.height; r++) {
      for (let c = 0; c < mask.width; c++) {
        if (!on(r, c)) continue;
        const [l, t, rt, b] = [x + c * cw, y + r * ch, x + (c + 1) * cw, y + (r + 1) * ch];
        if (!on(r - 1, c)) { g.moveTo(l, t); g.lineTo(rt, t); }
        if (!on(r + 1, c)) { g.moveTo(l, b); g.lineTo(rt, b); }
        if (!on(r, c - 1)) { g.moveTo(l, t); g.lineTo(l, b); }
        if (!on(r, c + 1)) { g.moveTo(rt, t); g.lineTo(rt, b); }
      }
    }
  }
  if (box) {
    const [x1, y1, x2, y2] = boxInPixels(box, width, height);
    const sx = panelW / width;
    const sy = panelH / height;
    g.rect(x + x1 * sx, y + y1 * sy, (x2 - x1) * sx, (y2 - y1) * sy);
  }
  g.stroke();
  g.restore();
}

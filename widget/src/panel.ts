/**
 * One image of the gallery: the canvas (image + map), the class selector and the alpha chart.
 * Draws only: clicks go to the model (selectClass), and the panel redraws when the model says
 * the state changed. Hovering a chart bar is transient view state (not synced).
 */
import { colormapTable } from '../../src/render/colormap';
import type { GradCamModel } from './model';
import type { DecodedImage } from './decode';
import { RGB_METHODS } from './decode';
import { AlphaChart, format } from './alpha-chart';
import { alphaBars, argmax, channelMap, classMap, classOrder, type AlphaBar, type ChannelMap } from './derive';
import { blendHeatmap, blendRgb, copyImage } from './composite';
import { METHOD_LABELS, percent } from './labels';

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A symbol with optional subscript and superscript, as DOM nodes (e.g. alpha_k^c). */
function math(symbol: string, sub?: string, sup?: string): (Node | string)[] {
  const out: (Node | string)[] = [symbol];
  if (sub) out.push(el('sub', 'gc-sub', sub));
  if (sup) out.push(el('sup', 'gc-sup', sup));
  return out;
}

export class ImagePanel {
  readonly node = el('div', 'gc-panel');
  private readonly canvas = el('canvas', 'gc-canvas');
  private readonly ctx: CanvasRenderingContext2D;
  private readonly pixels: ImageData;
  private readonly caption = el('div', 'gc-caption');
  private readonly chartTitle = el('div', 'gc-chart-title');
  private readonly chartBox = el('div', 'gc-chart');
  private readonly rows = new Map<number, HTMLButtonElement>();
  private readonly chart: AlphaChart;
  private readonly channelCache = new Map<number, ChannelMap>();
  private readonly resizeObserver: ResizeObserver | undefined;
  private readonly predicted: number;
  private hovered: AlphaBar | null = null;
  private shownClass = -1;

  constructor(
    private readonly model: GradCamModel,
    private readonly index: number,
  ) {
    const image = this.image;
    this.predicted = argmax(image.probs);
    this.node.dataset.image = String(index);
    this.canvas.width = image.width;
    this.canvas.height = image.height;
    const ctx = this.canvas.getContext('2d');
    if (!ctx) throw new Error('GradCamView: this browser gives no 2D canvas context.');
    this.ctx = ctx;
    this.pixels = ctx.createImageData(image.width, image.height);
    this.chart = new AlphaChart({ onHover: (bar) => this.onHover(bar) });

    const names = model.classNames;
    const title = el('div', 'gc-title');
    title.append(el('span', 'gc-title-text', image.title));
    if (image.true_class >= 0) title.append(el('span', 'gc-tag gc-tag-true', `✓ true: ${names[image.true_class]}`));
    title.append(
      el(
        'span',
        `gc-tag gc-tag-pred${image.true_class >= 0 && image.true_class !== this.predicted ? ' gc-wrong' : ''}`,
        `● predicted: ${names[this.predicted]}`,
      ),
    );

    const view = el('div', 'gc-view');
    view.append(this.canvas, this.caption);
    const main = el('div', 'gc-main');
    main.append(view, this.classList(image, names));
    this.chartBox.append(this.chart.node);
    this.node.append(title, main, this.chartTitle, this.chartBox);

    if (typeof ResizeObserver !== 'undefined') {
      this.resizeObserver = new ResizeObserver((entries) => {
        for (const e of entries) this.chart.resize(e.contentRect.width);
      });
      this.resizeObserver.observe(this.chartBox);
    }
    this.update();
  }

  private get image(): DecodedImage {
    return this.model.images[this.index];
  }

  /** Rows sorted by probability; predicted and true class marked. */
  private classList(image: DecodedImage, names: string[]): HTMLElement {
    const list = el('div', 'gc-classes');
    list.setAttribute('role', 'listbox');
    for (const c of classOrder(image.probs)) {
      const row = el('button', 'gc-class');
      row.type = 'button';
      row.dataset.class = String(c);
      row.setAttribute('role', 'option');
      const p = image.probs[c];
      const mark = el('span', 'gc-mark');
      if (c === this.predicted) mark.append(el('span', 'gc-mark-pred', '●'));
      if (c === image.true_class) mark.append(el('span', 'gc-mark-true', '✓'));
      const bar = el('span', 'gc-bar');
      const fill = el('span', 'gc-fill');
      fill.style.width = `${Math.max(0, Math.min(1, p)) * 100}%`;
      bar.append(fill);
      row.append(mark, el('span', 'gc-name', names[c] ?? String(c)), bar, el('span', 'gc-pct', percent(p)));
      row.title = `${names[c]}: p = ${p.toFixed(4)}, logit = ${image.logits[c].toFixed(3)}`;
      row.addEventListener('click', () => this.model.selectClass(this.index, c));
      this.rows.set(c, row);
      list.append(row);
    }
    return list;
  }

  /** Redraw after a class change (cheap: one blend, one join). */
  update(): void {
    const c = this.model.selectedClass(this.index);
    if (c !== this.shownClass) {
      this.rows.get(this.shownClass)?.classList.remove('gc-selected');
      this.rows.get(this.shownClass)?.setAttribute('aria-selected', 'false');
      this.rows.get(c)?.classList.add('gc-selected');
      this.rows.get(c)?.setAttribute('aria-selected', 'true');
      this.shownClass = c;
      this.hovered = null;
      this.chart.highlight(null);
      this.chart.update(alphaBars(this.image, c));
      this.chartTitle.replaceChildren(
        ...math('α', 'k', 'c'),
        ` of ${this.model.classNames[c]} at ${this.model.layer || 'the target layer'} (${this.image.channels} channels) · hover a bar for `,
        ...math('A', undefined, 'k'),
      );
    }
    this.drawCanvas();
  }

  /** Redraw the canvas only (method, colormap, opacity or hover changed). */
  drawCanvas(): void {
    const image = this.image;
    const c = this.shownClass;
    const { method, colormap, opacity } = this.model;
    const out = this.pixels.data;
    const names = this.model.classNames;
    if (this.hovered) {
      const k = this.hovered.channel;
      let cm = this.channelCache.get(k);
      if (!cm) this.channelCache.set(k, (cm = channelMap(image, k)));
      blendHeatmap(out, image.pixels, cm.map, colormapTable(colormap), Math.max(opacity, 0.5));
      this.caption.replaceChildren(
        ...math('A', undefined, String(k)),
        ` · α = ${format(this.hovered.value)} · max A = ${format(cm.max)}`,
      );
      this.caption.title = `activation map A^${k} of ${this.model.layer}, scaled to its maximum (mean ${format(cm.mean)})`;
      this.caption.classList.add('gc-caption-hover');
    } else {
      const rgb = RGB_METHODS.has(method);
      const map = classMap(image.maps[method], image, c, rgb ? 3 : 1);
      if (!map) copyImage(out, image.pixels);
      else if (rgb) blendRgb(out, image.pixels, map, opacity);
      else blendHeatmap(out, image.pixels, map, colormapTable(colormap), opacity);
      this.caption.textContent = map
        ? `${METHOD_LABELS[method]} · ${names[c]} (${percent(image.probs[c])})`
        : `no ${METHOD_LABELS[method]} map for this image`;
      this.caption.classList.remove('gc-caption-hover');
      this.caption.title = '';
    }
    this.ctx.putImageData(this.pixels, 0, 0);
  }

  private onHover(bar: AlphaBar | null): void {
    if (bar?.channel === this.hovered?.channel) return;
    this.hovered = bar;
    this.drawCanvas();
  }

  dispose(): void {
    this.resizeObserver?.disconnect();
    this.node.remove();
  }
}

/**
 * One image of the gallery: the canvas (image + map), the class selector and the alpha chart.
 * Draws only: clicks go to the model (selectClass), and the panel redraws when the model says
 * the state changed. Hovering a chart bar is transient view state (not synced).
 */
import { colormapTable } from '../../src/shared/colormap';
import type { GradCamModel } from './model';
import type { DecodedImage } from './decode';
import { mapRow, RGB_METHODS } from './decode';
import { AlphaChart, format } from './alpha-chart';
import { alphaBars, argmax, channelMap, classMap, classOrder, type AlphaBar, type ChannelMap } from './derive';
import { blendHeatmap, blendRgb, copyImage } from './composite';
import { METHOD_LABELS, valueText } from './labels';
import { paintStroke } from './brush';

/** What a panel needs from the view to let a person edit its image (absent: look only). */
export interface PanelTools {
  /** Side of the occlusion brush in image pixels. */
  brushSize(): number;
  /** A stroke ended: the pixels before it and with it. */
  edited(index: number, before: Uint8Array, after: Uint8Array): void;
  undo(index: number): void;
  reset(index: number): void;
  canUndo(index: number): boolean;
  /** Class c was selected but has no map here (only the top classes were explained): ask for it. */
  needClass(index: number, c: number): void;
}

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
  /** The image this panel draws (a snapshot: a new image gets a new panel; more maps are adopted). */
  private shown: DecodedImage;
  /** Pixels being painted or waiting for the kernel's answer; undefined: the entry's own. */
  private draft: Uint8Array | undefined;
  private readonly status = el('div', 'gc-status');
  private built = false;

  constructor(
    private readonly model: GradCamModel,
    private readonly index: number,
    private readonly tools?: PanelTools,
  ) {
    const image = (this.shown = model.images[index]);
    // A list of targets marks no prediction: its entries are not rivals of one softmax.
    this.predicted = model.targetValues ? -1 : argmax(image.probs);
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
    // A list of targets has no prediction to tag.
    if (this.predicted >= 0) {
      title.append(
        el(
          'span',
          `gc-tag gc-tag-pred${image.true_class >= 0 && image.true_class !== this.predicted ? ' gc-wrong' : ''}`,
          `● predicted: ${names[this.predicted]}`,
        ),
      );
    }
    if (image.origin !== 'given') title.append(el('span', 'gc-tag gc-tag-origin', image.origin === 'edited' ? 'edited' : 'added'));

    const view = el('div', 'gc-view');
    view.append(this.canvas, this.caption);
    const summary = this.editSummary();
    if (summary) view.append(summary);
    if (tools) {
      view.append(this.editTools(tools));
      this.enablePainting(tools);
    }
    view.append(this.status);
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
    this.built = true;
  }

  get image(): DecodedImage {
    return this.shown;
  }

  /** The same image with more maps (the guided ones arrive after the others): redraw, keep the rest. */
  adopt(image: DecodedImage): void {
    this.shown = image;
    this.drawCanvas();
  }

  /** "deer 97% → 12%": the original top class before and after the edit. */
  private editSummary(): HTMLElement | undefined {
    const image = this.image;
    if (image.origin !== 'edited') return undefined;
    // A classifier: its unedited top class. A list of targets: the selected one (scored on the same mask or box).
    const kinds = this.model.targetValues;
    const c = kinds ? this.model.selectedClass(this.index) : argmax(image.original_probs);
    const line = el('div', 'gc-edit');
    line.append(
      el('span', 'gc-edit-class', this.model.classNames[c] ?? String(c)),
      ` ${valueText(image.original_probs[c], kinds?.[c])} → `,
      el('span', 'gc-edit-after', valueText(image.probs[c], kinds?.[c])),
    );
    const what = kinds ? `value of ${this.model.classNames[c]} (the selected target)` : `probability of ${this.model.classNames[c]} (the unedited image's top class)`;
    line.title = `${what} before and after the edit: ${image.original_probs[c].toFixed(4)} -> ${image.probs[c].toFixed(4)}`;
    return line;
  }

  private editTools(tools: PanelTools): HTMLElement {
    const bar = el('div', 'gc-edit-tools');
    const undo = el('button', 'gc-tool gc-undo', 'undo');
    undo.type = 'button';
    undo.disabled = !tools.canUndo(this.index);
    undo.title = 'take back the last brush stroke';
    undo.addEventListener('click', () => tools.undo(this.index));
    const reset = el('button', 'gc-tool gc-reset', 'reset');
    reset.type = 'button';
    reset.disabled = this.image.origin !== 'edited';
    reset.title = 'back to the image as given';
    reset.addEventListener('click', () => tools.reset(this.index));
    bar.append(undo, reset);
    return bar;
  }

  /** Pointer strokes paint grey squares into a draft; releasing sends the draft to the kernel. */
  private enablePainting(tools: PanelTools): void {
    const { width: W, height: H } = this.image;
    let last: [number, number] | undefined;
    let before: Uint8Array | undefined;
    const at = (e: PointerEvent): [number, number] => {
      const r = this.canvas.getBoundingClientRect();
      return [((e.clientX - r.left) / r.width) * W - 0.5, ((e.clientY - r.top) / r.height) * H - 0.5];
    };
    this.canvas.classList.add('gc-paintable');
    this.canvas.title = 'paint over part of the image to cover it; release to ask the model again';
    this.canvas.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      e.preventDefault();
      try {
        this.canvas.setPointerCapture(e.pointerId); // keep the stroke when the pointer leaves the canvas
      } catch {
        // a synthetic event's pointer cannot be captured; the stroke still works inside the canvas
      }
      before = Uint8Array.from(this.shownPixels);
      this.draft = Uint8Array.from(before);
      last = at(e);
      paintStroke(this.draft, W, H, last[0], last[1], last[0], last[1], tools.brushSize());
      this.drawCanvas();
    });
    this.canvas.addEventListener('pointermove', (e) => {
      if (!last || !this.draft) return;
      const p = at(e);
      paintStroke(this.draft, W, H, last[0], last[1], p[0], p[1], tools.brushSize());
      last = p;
      this.drawCanvas();
    });
    const end = (): void => {
      if (!last || !before || !this.draft) return;
      last = undefined;
      tools.edited(this.index, before, Uint8Array.from(this.draft));
      before = undefined;
    };
    this.canvas.addEventListener('pointerup', end);
    this.canvas.addEventListener('pointercancel', end);
  }

  /** The pixels shown: the draft while painting or waiting, else the entry's. */
  private get shownPixels(): Uint8Array {
    return this.draft ?? this.image.pixels;
  }

  /** Show that the kernel is working on this panel (with the draft it works on), or stop. */
  setWaiting(draft: Uint8Array | undefined, what = 'asking the model…'): void {
    this.draft = draft;
    this.node.classList.toggle('gc-waiting', draft !== undefined);
    this.node.dataset.state = draft !== undefined ? 'waiting' : 'ready';
    this.status.textContent = draft !== undefined ? what : '';
    this.status.classList.remove('gc-status-error');
    this.drawCanvas();
  }

  /** A failure of this panel's request, in words, and the entry's own pixels again. */
  showError(message: string): void {
    this.draft = undefined;
    this.node.classList.remove('gc-waiting');
    this.node.dataset.state = 'error';
    this.status.textContent = message;
    this.status.classList.add('gc-status-error');
    this.drawCanvas();
  }

  /** Rows sorted by probability; predicted and true class marked. */
  private classList(image: DecodedImage, names: string[]): HTMLElement {
    const list = el('div', 'gc-classes');
    list.setAttribute('role', 'listbox');
    const kinds = this.model.targetValues;
    // Targets keep the order they were given in; plain values fill their bar relative to the largest.
    const order = kinds ? Array.from(image.probs, (_, c) => c) : classOrder(image.probs);
    const largest = Math.max(1e-12, ...Array.from(image.probs, (v, c) => (kinds?.[c] === 'value' ? Math.abs(v) : 0)));
    for (const c of order) {
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
      const share = kinds?.[c] === 'value' ? Math.abs(p) / largest : p;
      fill.style.width = `${Math.max(0, Math.min(1, share)) * 100}%`;
      bar.append(fill);
      row.append(mark, el('span', 'gc-name', names[c] ?? String(c)), bar, el('span', 'gc-pct', valueText(p, kinds?.[c])));
      row.title = kinds
        ? `${names[c]}: ${kinds[c] === 'value' ? 'value' : 'p'} = ${p.toFixed(4)}, score y = ${image.logits[c].toFixed(3)}`
        : `${names[c]}: p = ${p.toFixed(4)}, logit = ${image.logits[c].toFixed(3)}`;
      row.addEventListener('click', () => this.model.selectClass(this.index, c));
      this.rows.set(c, row);
      list.append(row);
    }
    return list;
  }

  /** Redraw after a class change (cheap: one blend, one join). */
  update(): void {
    const c = this.model.selectedClass(this.index);
    // A person picked a class explained later than the others: ask for it (not while building the panel).
    if (this.tools && this.built && c !== this.shownClass && mapRow(this.image, c) < 0) this.tools.needClass(this.index, c);
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
        ` of ${this.model.classNames[c]} at ${this.model.layer || 'the target layer'} (${this.image.map_height}×${this.image.map_width}, ${this.image.channels} channels) · hover a bar for `,
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
      blendHeatmap(out, this.shownPixels, cm.map, colormapTable(colormap), Math.max(opacity, 0.5));
      this.caption.replaceChildren(
        ...math('A', undefined, String(k)),
        ` · α = ${format(this.hovered.value)} · max A = ${format(cm.max)}`,
      );
      this.caption.title = `activation map A^${k} of ${this.model.layer}, scaled to its maximum (mean ${format(cm.mean)})`;
      this.caption.classList.add('gc-caption-hover');
    } else {
      const rgb = RGB_METHODS.has(method);
      const map = classMap(image.maps[method], image, c, rgb ? 3 : 1);
      const pixels = this.shownPixels;
      if (!map) copyImage(out, pixels);
      else if (rgb) blendRgb(out, pixels, map, opacity);
      else blendHeatmap(out, pixels, map, colormapTable(colormap), opacity);
      this.caption.textContent = map
        ? `${METHOD_LABELS[method]} · ${names[c]} (${valueText(image.probs[c], this.model.targetValues?.[c])})`
        : image.map_classes && !image.map_classes.includes(c)
          ? `no map for ${names[c]}: the kernel explained this image's top ${image.map_classes.length} classes (showGradCam's maxClasses)`
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

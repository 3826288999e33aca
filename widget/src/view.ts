/**
 * The Grad-CAM widget's view: a toolbar (method, colormap, opacity; and, when the kernel answers,
 * layer, brush and "add image") over a gallery row of image panels. It draws and forwards user
 * actions to the model: settings by set + save_changes, questions for the kernel by model.ask.
 * It draws into the element a widget framework gives it (ipywidgets' DOMWidgetView in
 * jupyter-widgets.ts, anywidget's render in anywidget.ts) and knows neither framework.
 */
import { COLORMAPS, MAX_UPLOAD_BYTES, type ColormapName, type MethodName } from '../../src/shared/gradcam-schema';
import type { GradCamModel } from './model';
import { ImagePanel, type PanelTools } from './panel';
import { METHOD_LABELS, METHOD_ORDER } from './labels';
import { BRUSH_FRACTIONS, brushPixels, type BrushName } from './brush';
import type { Answer } from './requests';

/** How long the widget waits for the kernel before saying it did not answer. */
const ANSWER_TIMEOUT_MS = 60_000;

export class GradCamView {
  private panels: ImagePanel[] = [];
  private gallery: HTMLElement | undefined;
  private readonly methodButtons = new Map<MethodName, HTMLButtonElement>();
  private colormapSelect: HTMLSelectElement | undefined;
  private opacityInput: HTMLInputElement | undefined;
  private opacityValue: HTMLSpanElement | undefined;
  private layerSelect: HTMLSelectElement | undefined;
  private readonly status = document.createElement('div');
  private brush: BrushName = 'M';
  /** Pixels before each brush stroke, per image: what undo goes back to. */
  private readonly undoStacks = new Map<number, Uint8Array[]>();
  private timer: number | undefined;
  /** Unsubscribes from the model, called on remove. */
  private readonly stops: (() => void)[] = [];

  constructor(
    readonly model: GradCamModel,
    readonly el: HTMLElement,
  ) {}

  render(): void {
    this.el.classList.add('gc-widget');
    this.status.className = 'gc-status gc-widget-status';
    this.status.setAttribute('role', 'status');
    this.build();
    const model = this.model;
    this.stops.push(
      model.onChange(['class_names', 'layers', 'interactive', 'kernel_note'], () => this.build()),
      model.onChange(['images'], () => this.syncPanels()),
      model.onChange(['selected_class'], () => this.panels.forEach((p) => p.update())),
      model.onChange(['method', 'colormap', 'opacity', 'layer'], () => {
        this.syncToolbar();
        this.panels.forEach((p) => p.drawCanvas());
      }),
      model.onAnswer((a: Answer) => this.answered(a)),
    );
    if (this.model.interactive) this.acceptFiles();
  }

  private build(): void {
    this.panels.forEach((p) => p.dispose());
    this.methodButtons.clear();
    this.el.replaceChildren(this.toolbar());
    // A kernel that cannot answer (Deno's) leaves out the asking controls and says so here.
    const note = this.model.interactive ? undefined : this.model.kernelNote;
    if (this.model.interactive || note) this.el.append(this.status);
    if (note) this.say(note);
    this.gallery = document.createElement('div');
    this.gallery.className = 'gc-gallery';
    this.panels = this.model.images.map((_, i) => this.newPanel(i));
    this.gallery.append(...this.panels.map((p) => p.node));
    this.el.append(this.gallery);
    this.syncToolbar();
  }

  private newPanel(i: number): ImagePanel {
    return new ImagePanel(this.model, i, this.model.interactive ? this.tools : undefined);
  }

  /** New entries get new panels, except where the panel still waits for its newest request. */
  private syncPanels(): void {
    const images = this.model.images;
    if (images.length < this.panels.length) return this.build();
    images.forEach((img, i) => {
      const panel = this.panels[i];
      if (panel?.image === img || (panel && this.model.requests.waiting(i))) return;
      if (panel && panel.image.pixels === img.pixels && panel.image.probs === img.probs) return panel.adopt(img); // more maps
      this.replacePanel(i);
    });
  }

  private replacePanel(i: number): void {
    const fresh = this.newPanel(i);
    const old = this.panels[i];
    if (old) {
      old.node.replaceWith(fresh.node);
      old.dispose();
    } else {
      this.gallery?.append(fresh.node);
    }
    this.panels[i] = fresh;
  }

  private readonly tools: PanelTools = {
    brushSize: () => brushPixels(this.brush, this.model.images[0]?.width ?? 32),
    edited: (i, before, after) => {
      const stack = this.undoStacks.get(i) ?? [];
      stack.push(before);
      this.undoStacks.set(i, stack);
      this.askForPanel(i, after, { type: 'edit', image: i, width: this.model.images[i].width, height: this.model.images[i].height }, [exactBuffer(after)]);
    },
    undo: (i) => {
      // The kernel recognises the image as given when undo arrives back at it.
      const previous = this.undoStacks.get(i)?.pop();
      if (previous) this.askForPanel(i, previous, { type: 'edit', image: i, width: this.model.images[i].width, height: this.model.images[i].height }, [exactBuffer(previous)]);
    },
    reset: (i) => {
      this.undoStacks.delete(i);
      this.askForPanel(i, undefined, { type: 'reset', image: i });
    },
    canUndo: (i) => (this.undoStacks.get(i)?.length ?? 0) > 0,
    needClass: (i, c) => {
      const name = this.model.classNames[c] ?? `class ${c}`;
      this.askForPanel(i, undefined, { type: 'class', image: i, class: c }, [], `asking the model for the maps of ${name}…`);
    },
  };

  /** Send an image question and show the panel waiting on `draft` (or on its own pixels). */
  private askForPanel(i: number, draft: Uint8Array | undefined, request: Parameters<GradCamModel['ask']>[1], buffers: ArrayBuffer[] = [], what?: string): void {
    const refused = this.model.ask(i, request, buffers);
    const panel = this.panels[i];
    if (refused) {
      panel?.showError(refused);
      return;
    }
    panel?.setWaiting(draft ?? Uint8Array.from(this.model.images[i].pixels), what);
    this.watchTimeout();
  }

  private answered(a: Answer): void {
    if (typeof a.slot === 'number' || (a.slot === undefined && a.image !== undefined)) {
      const i = (typeof a.slot === 'number' ? a.slot : a.image) as number;
      if (a.slot !== undefined && !a.newest) {
        // An older request of ours: the newest is coming. Counted for whoever checks (the UI test).
        this.el.dataset.staleAnswers = String(Number(this.el.dataset.staleAnswers ?? 0) + 1);
        return;
      }
      if (a.slot === undefined && this.model.requests.waiting(i)) return; // not ours; ours is newer
      if (a.error) {
        this.panels[i]?.showError(a.error);
        return;
      }
      const t0 = performance.now();
      this.replacePanel(i);
      // Timings for whoever measures (the UI test reports them): kernel answer, then drawing.
      const node = this.panels[i].node;
      node.dataset.drawMs = (performance.now() - t0).toFixed(1);
      if (a.ms !== undefined) node.dataset.roundTripMs = a.ms.toFixed(1);
      if (a.kernelMs !== undefined) node.dataset.kernelMs = a.kernelMs.toFixed(1);
      return;
    }
    if (a.slot === 'add' || a.slot === 'layer') {
      if (a.error) this.say(a.error, true);
      else this.say('');
      if (a.slot === 'layer') this.syncToolbar();
      if (a.slot === 'add' && !a.error) this.syncPanels();
    }
  }

  /** Requests the kernel never answered (it died, or the page outlived it) become messages. */
  private watchTimeout(): void {
    if (this.timer !== undefined) return;
    this.timer = window.setInterval(() => {
      for (const slot of this.model.requests.expire(ANSWER_TIMEOUT_MS)) {
        const message = `no answer from the kernel in ${ANSWER_TIMEOUT_MS / 1000} s; is the kernel that made this widget still running? Run its cell again.`;
        if (typeof slot === 'number') this.panels[slot]?.showError(message);
        else this.say(message, true);
      }
      if (!this.model.requests.waiting('layer') && !this.model.requests.waiting('add') && this.panels.every((_, i) => !this.model.requests.waiting(i))) {
        window.clearInterval(this.timer);
        this.timer = undefined;
      }
    }, 1000);
  }

  private say(text: string, error = false): void {
    this.status.textContent = text;
    this.status.classList.toggle('gc-status-error', error);
  }

  /** Drop or paste an image file onto the widget (or pick one with the button) to add a panel. */
  private acceptFiles(): void {
    this.el.tabIndex = 0;
    this.el.addEventListener('dragover', (e) => {
      if (!e.dataTransfer?.types.includes('Files')) return;
      e.preventDefault();
      this.el.classList.add('gc-drop');
    });
    this.el.addEventListener('dragleave', () => this.el.classList.remove('gc-drop'));
    this.el.addEventListener('drop', (e) => {
      this.el.classList.remove('gc-drop');
      const file = e.dataTransfer?.files[0];
      if (!file) return;
      e.preventDefault();
      e.stopPropagation(); // not JupyterLab's file-browser upload
      void this.addFile(file);
    });
    this.el.addEventListener('paste', (e) => {
      const file = e.clipboardData?.files[0];
      if (!file) return;
      e.preventDefault();
      e.stopPropagation();
      void this.addFile(file);
    });
  }

  private async addFile(file: File): Promise<void> {
    if (file.size > MAX_UPLOAD_BYTES) {
      this.say(`${file.name} is ${(file.size / 1024 / 1024).toFixed(1)} MB; the widget takes images up to ${MAX_UPLOAD_BYTES / 1024 / 1024} MB. Resize it first.`, true);
      return;
    }
    const bytes = await file.arrayBuffer();
    const refused = this.model.ask('add', { type: 'add', name: file.name || 'pasted image' }, [bytes]);
    if (refused) return this.say(refused, true);
    this.say(`adding ${file.name || 'the pasted image'}: asking the model…`);
    this.watchTimeout();
  }

  private toolbar(): HTMLElement {
    const bar = document.createElement('div');
    bar.className = 'gc-toolbar';

    const methods = document.createElement('div');
    methods.className = 'gc-methods';
    methods.setAttribute('role', 'radiogroup');
    const present = new Set(this.model.images.flatMap((img) => Object.keys(img.maps) as MethodName[]));
    for (const m of METHOD_ORDER.filter((m) => present.has(m))) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'gc-method';
      b.dataset.method = m;
      b.textContent = METHOD_LABELS[m];
      b.addEventListener('click', () => this.model.setSetting('method', m));
      this.methodButtons.set(m, b);
      methods.append(b);
    }

    const cmap = document.createElement('select');
    cmap.className = 'gc-colormap';
    for (const name of COLORMAPS) cmap.append(new Option(name, name));
    cmap.addEventListener('change', () => this.model.setSetting('colormap', cmap.value as ColormapName));
    this.colormapSelect = cmap;

    const opacity = document.createElement('input');
    opacity.type = 'range';
    opacity.className = 'gc-opacity';
    opacity.min = '0';
    opacity.max = '1';
    opacity.step = '0.05';
    opacity.addEventListener('input', () => this.model.setSetting('opacity', Number(opacity.value)));
    this.opacityInput = opacity;
    this.opacityValue = document.createElement('span');
    this.opacityValue.className = 'gc-opacity-value';

    bar.append(methods, labelled('colormap', cmap), labelled('opacity', opacity, this.opacityValue));
    if (this.model.interactive) bar.append(...this.askingTools());
    return bar;
  }

  /** Layer selector, brush size and "add image": the controls that ask the kernel. */
  private askingTools(): HTMLElement[] {
    const out: HTMLElement[] = [];
    const layers = this.model.layers;
    if (layers.length > 1) {
      const select = document.createElement('select');
      select.className = 'gc-layer';
      for (const name of layers) select.append(new Option(name, name));
      select.addEventListener('change', () => {
        const refused = this.model.ask('layer', { type: 'layer', layer: select.value });
        if (refused) {
          this.say(refused, true);
          select.value = this.model.layer;
          return;
        }
        select.disabled = true;
        this.say(`explaining every image at ${select.value}…`);
        this.watchTimeout();
      });
      this.layerSelect = select;
      out.push(labelled('layer', select));
    }
    const brush = document.createElement('span');
    brush.className = 'gc-brush';
    brush.setAttribute('role', 'radiogroup');
    for (const name of Object.keys(BRUSH_FRACTIONS) as BrushName[]) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'gc-brush-size';
      b.dataset.brush = name;
      b.textContent = name;
      b.title = `brush ${brushPixels(name, this.model.images[0]?.width ?? 32)} px`;
      b.addEventListener('click', () => {
        this.brush = name;
        this.syncToolbar();
      });
      brush.append(b);
    }
    out.push(group('brush', brush));
    const picker = document.createElement('input');
    picker.type = 'file';
    picker.accept = 'image/png,image/jpeg,image/gif';
    picker.className = 'gc-file';
    picker.hidden = true;
    picker.addEventListener('change', () => {
      const file = picker.files?.[0];
      picker.value = '';
      if (file) void this.addFile(file);
    });
    const add = document.createElement('button');
    add.type = 'button';
    add.className = 'gc-tool gc-add';
    add.textContent = 'add image…';
    add.title = 'explain an image of your own (or drop / paste one onto the widget)';
    add.addEventListener('click', () => picker.click());
    out.push(add, picker);
    return out;
  }

  private syncToolbar(): void {
    const { method, colormap, opacity } = this.model;
    for (const [m, b] of this.methodButtons) {
      b.classList.toggle('gc-active', m === method);
      b.setAttribute('aria-checked', String(m === method));
    }
    if (this.colormapSelect) this.colormapSelect.value = colormap;
    if (this.opacityInput && Number(this.opacityInput.value) !== opacity) this.opacityInput.value = String(opacity);
    if (this.opacityValue) this.opacityValue.textContent = `${Math.round(opacity * 100)}%`;
    if (this.layerSelect && !this.model.requests.waiting('layer')) {
      this.layerSelect.value = this.model.layer;
      this.layerSelect.disabled = false;
    }
    this.el.querySelectorAll<HTMLButtonElement>('.gc-brush-size').forEach((b) => {
      b.classList.toggle('gc-active', b.dataset.brush === this.brush);
      b.setAttribute('aria-checked', String(b.dataset.brush === this.brush));
    });
  }

  /** Stop listening and drawing (the element itself is the framework's to remove). */
  remove(): void {
    this.stops.splice(0).forEach((stop) => stop());
    if (this.timer !== undefined) window.clearInterval(this.timer);
    this.timer = undefined;
    this.panels.forEach((p) => p.dispose());
    this.panels = [];
  }
}

/** The bytes of a typed array as an ArrayBuffer of exactly that length (what a message buffer sends). */
function exactBuffer(a: Uint8Array): ArrayBuffer {
  return (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a.buffer : a.slice().buffer) as ArrayBuffer;
}

/** A caption beside a group of buttons (a <label> would forward its clicks to the first one). */
function group(text: string, controls: HTMLElement): HTMLElement {
  const box = document.createElement('span');
  box.className = 'gc-control';
  const span = document.createElement('span');
  span.textContent = text;
  box.append(span, controls);
  return box;
}

function labelled(text: string, ...controls: HTMLElement[]): HTMLElement {
  const label = document.createElement('label');
  label.className = 'gc-control';
  const span = document.createElement('span');
  span.textContent = text;
  label.append(span, ...controls);
  return label;
}

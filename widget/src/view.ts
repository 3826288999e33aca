/**
 * The Grad-CAM widget's view: a toolbar (method, colormap, opacity) over a gallery row of image
 * panels. It only draws and forwards user actions to the model (set + save_changes).
 */
import { DOMWidgetView } from '@jupyter-widgets/base';
import { COLORMAPS, type ColormapName, type MethodName } from '../../src/kernel/gradcam-schema';
import type { GradCamModel } from './model';
import { ImagePanel } from './panel';
import { METHOD_LABELS, METHOD_ORDER } from './labels';

export class GradCamView extends DOMWidgetView {
  declare model: GradCamModel;
  private panels: ImagePanel[] = [];
  private readonly methodButtons = new Map<MethodName, HTMLButtonElement>();
  private colormapSelect: HTMLSelectElement | undefined;
  private opacityInput: HTMLInputElement | undefined;
  private opacityValue: HTMLSpanElement | undefined;

  render(): void {
    this.el.classList.add('gc-widget');
    this.build();
    this.listenTo(this.model, 'change:images change:class_names', () => this.build());
    this.listenTo(this.model, 'change:selected_class', () => this.panels.forEach((p) => p.update()));
    this.listenTo(this.model, 'change:method change:colormap change:opacity', () => {
      this.syncToolbar();
      this.panels.forEach((p) => p.drawCanvas());
    });
  }

  private build(): void {
    this.panels.forEach((p) => p.dispose());
    this.methodButtons.clear();
    this.el.replaceChildren(this.toolbar());
    const gallery = document.createElement('div');
    gallery.className = 'gc-gallery';
    this.panels = this.model.images.map((_, i) => new ImagePanel(this.model, i));
    gallery.append(...this.panels.map((p) => p.node));
    this.el.append(gallery);
    this.syncToolbar();
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
    return bar;
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
  }

  remove(): ReturnType<DOMWidgetView['remove']> {
    this.panels.forEach((p) => p.dispose());
    this.panels = [];
    return super.remove();
  }
}

function labelled(text: string, ...controls: HTMLElement[]): HTMLElement {
  const label = document.createElement('label');
  label.className = 'gc-control';
  const span = document.createElement('span');
  span.textContent = text;
  label.append(span, ...controls);
  return label;
}

/**
 * The widget as an anywidget front end: the ES module the kernel puts in the model's `_esm`
 * (widget/build.ts bundles anywidget-entry.ts, this file and all they import into one file). anywidget's
 * front end (JupyterLab, Notebook 7, VS Code, Colab) imports it and calls render({ model, el })
 * for each view. AnywidgetHost makes anywidget's model the GradCamModel's host, so the same model,
 * view and panels draw here as in the labextension.
 */
import type { DecodedImage } from './decode';
import { decodeImages } from './decode';
import { GradCamModel, type ModelHost } from './model';
import { GradCamView } from './view';

type Handler = (...args: unknown[]) => void;

/** The part of anywidget's model (its `AnyModel` type) this module uses. */
export interface AnywidgetModel {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
  save_changes(): void;
  send(content: object, callbacks?: object, buffers?: ArrayBuffer[] | ArrayBufferView[]): void;
  on(event: string, fn: Handler): void;
  off(event?: string | null, fn?: Handler | null): void;
}

/**
 * anywidget's model as a ModelHost: 'images' decoded once per value the kernel sends (anywidget
 * has no deserialisers; buffers arrive as DataViews), and set_state kept on this side. anywidget's
 * model offers only set, which would send the value back with the next save_changes; the kernel
 * already holds what set_state stores (an answered image), so it must not travel back.
 */
export class AnywidgetHost implements ModelHost {
  /** anywidget does not say whether a kernel stands behind the model: a restored widget's questions time out with a message. */
  readonly comm_live = true;
  private readonly local = new Map<string, unknown>();
  private rawImages: unknown;
  private decoded: DecodedImage[] = [];
  private readonly listeners = new Map<string, Set<Handler>>();
  private readonly forwarders = new Map<string, Handler>();

  constructor(private readonly model: AnywidgetModel) {}

  get(key: string): unknown {
    if (this.local.has(key)) return this.local.get(key);
    const value = this.model.get(key);
    if (key !== 'images') return value;
    if (value !== this.rawImages) {
      this.decoded = decodeImages(value);
      this.rawImages = value;
    }
    return this.decoded;
  }

  set(key: string, value: unknown): void {
    this.local.delete(key);
    this.model.set(key, value);
  }

  save_changes(): void {
    this.model.save_changes();
  }

  set_state(state: { [key: string]: unknown }): void {
    for (const [key, value] of Object.entries(state)) this.local.set(key, value);
    for (const key of Object.keys(state)) this.emit(`change:${key}`, []);
  }

  send(content: { [key: string]: unknown }, callbacks: object, buffers?: ArrayBuffer[] | ArrayBufferView[]): void {
    this.model.send(content, callbacks, buffers);
  }

  on(event: string, fn: Handler): void {
    const set = this.listeners.get(event) ?? new Set<Handler>();
    set.add(fn);
    this.listeners.set(event, set);
    if (this.forwarders.has(event)) return;
    // One listener on anywidget's model per event; a kernel's new value replaces a local one.
    const forward = (...args: unknown[]): void => {
      if (event.startsWith('change:')) this.local.delete(event.slice('change:'.length));
      this.emit(event, args);
    };
    this.forwarders.set(event, forward);
    this.model.on(event, forward);
  }

  off(event: string, fn: Handler): void {
    this.listeners.get(event)?.delete(fn);
  }

  /** Remove our listeners from anywidget's model. */
  dispose(): void {
    for (const [event, forward] of this.forwarders) this.model.off(event, forward);
    this.forwarders.clear();
    this.listeners.clear();
  }

  private emit(event: string, args: unknown[]): void {
    for (const fn of [...(this.listeners.get(event) ?? [])]) fn(...args);
  }
}

/**
 * One GradCamModel per anywidget model, made by anywidget's model hook (initialize) as soon as the
 * module loads, not by the first view: an answer the kernel sends before any view is drawn (an
 * edit from notebook code in the same cell as showGradCam) is stored, not dropped, and every view
 * of the model shares the answers.
 */
const models = new WeakMap<AnywidgetModel, { host: AnywidgetHost; gradcam: GradCamModel }>();

function gradCamModelOf(model: AnywidgetModel): GradCamModel {
  let made = models.get(model);
  if (!made) {
    const host = new AnywidgetHost(model);
    made = { host, gradcam: new GradCamModel(host) };
    models.set(model, made);
  }
  return made.gradcam;
}

/** anywidget's model hook: listen to the kernel from the start; the returned function cleans up. */
export function initialize({ model }: { model: AnywidgetModel }): () => void {
  gradCamModelOf(model);
  return () => {
    const made = models.get(model);
    made?.gradcam.dispose();
    made?.host.dispose();
    models.delete(model);
  };
}

/** anywidget's view hook: draw the widget into `el`; the returned function removes this view. */
export function render({ model, el }: { model: AnywidgetModel; el: HTMLElement }): () => void {
  const view = new GradCamView(gradCamModelOf(model), el);
  view.render();
  return () => view.remove();
}

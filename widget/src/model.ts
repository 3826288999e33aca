/**
 * The Grad-CAM widget's model: typed reads of the synced state, a person's changes (set + save),
 * the questions to the kernel and their answers. No DOM here (ipywidgets' model/view split), and
 * no widget framework either: it runs on a ModelHost, which ipywidgets' DOMWidgetModel
 * (jupyter-widgets.ts) and anywidget's model (anywidget.ts) provide.
 */
import type { ColormapName, GradCamQuestion, GradCamReply, GradCamState, ImageEntry, MethodName } from '../../src/shared/gradcam-schema';
import { decodeImage, float32Of, RGB_METHODS, type DecodedImage } from './decode';
import { RequestBook, type Answer, type Slot } from './requests';

/** Message buffers as a front end hands them over (DataViews) or sends them (ArrayBuffers). */
export type Buffers = (ArrayBuffer | ArrayBufferView)[];
type Handler = (...args: unknown[]) => void;

/**
 * What the model needs of a widget framework's model, in ipywidgets' words. `get('images')` gives
 * the decoded images (DecodedImage[]); `set_state` changes fields locally without sending them
 * (the kernel holds them already) and tells the 'change:<field>' listeners.
 */
export interface ModelHost {
  get(key: string): unknown;
  set(key: string, value: unknown): unknown;
  save_changes(): void;
  set_state(state: { [key: string]: unknown }): void;
  send(content: { [key: string]: unknown }, callbacks: object, buffers?: ArrayBuffer[] | ArrayBufferView[]): void;
  on(event: string, fn: Handler): unknown;
  off(event: string, fn: Handler): unknown;
  /** False when the model was restored from a saved notebook and no kernel stands behind it. */
  readonly comm_live: boolean;
}

/** Message buffers as DataViews over exactly their bytes (they arrive as ArrayBuffers or views). */
function asDataView(b: ArrayBuffer | ArrayBufferView): DataView {
  return b instanceof ArrayBuffer ? new DataView(b) : new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** The maps of a 'maps' reply as typed arrays, checked against the image they belong to. */
function decodeMaps(reply: Extract<GradCamReply, { type: 'maps' }>, buffers: Buffers, image: DecodedImage): DecodedImage['maps'] {
  const out: DecodedImage['maps'] = {};
  reply.buffer_paths.forEach((path, i) => {
    const method = String(path[0]) as MethodName;
    const per = RGB_METHODS.has(method) ? 3 : 1;
    const shipped = image.map_classes?.length ?? image.probs.length;
    out[method] = float32Of(`maps.${method}`, asDataView(buffers[i]), shipped * image.height * image.width * per);
  });
  return out;
}

/** Puts the reply's buffers into its entry (paths are relative to the entry). */
function entryOfReply(reply: Extract<GradCamReply, { type: 'image' }>, buffers: Buffers): ImageEntry {
  const entry = JSON.parse(JSON.stringify(reply.entry)) as { [key: string]: unknown };
  reply.buffer_paths.forEach((path, i) => {
    let obj = entry;
    for (const key of path.slice(0, -1)) obj = obj[key] as { [key: string]: unknown };
    obj[path[path.length - 1]] = asDataView(buffers[i]);
  });
  return entry as unknown as ImageEntry;
}

export class GradCamModel {
  /** The widget's questions to the kernel that are still unanswered, by panel. */
  readonly requests = new RequestBook();
  private readonly answerListeners = new Set<(a: Answer) => void>();
  private readonly onCustom = (content: unknown, buffers?: unknown): void => this.receiveReply(content as GradCamReply, (buffers as Buffers | undefined) ?? []);

  constructor(private readonly host: ModelHost) {
    host.on('msg:custom', this.onCustom);
  }

  /** Stop hearing the kernel (the host outlives this model, e.g. one view of several). */
  dispose(): void {
    this.host.off('msg:custom', this.onCustom);
    this.answerListeners.clear();
  }

  /** Call `fn` when any of the fields changes; returns the unsubscribe. */
  onChange(fields: readonly (keyof GradCamState)[], fn: () => void): () => void {
    const handler = (): void => fn();
    for (const f of fields) this.host.on(`change:${f}`, handler);
    return () => fields.forEach((f) => this.host.off(`change:${f}`, handler));
  }

  /** Call `fn` with each answer of the kernel (this page's requests and others'); returns the unsubscribe. */
  onAnswer(fn: (a: Answer) => void): () => void {
    this.answerListeners.add(fn);
    return () => this.answerListeners.delete(fn);
  }

  /**
   * Ask the kernel (edit, reset, add, layer, class) on behalf of `slot`; the answer reaches the
   * onAnswer listeners. Returns why it cannot be asked (no live kernel), or undefined.
   */
  ask(slot: Slot, request: GradCamQuestion, buffers: ArrayBuffer[] = []): string | undefined {
    if (!this.interactive) return this.kernelNote ?? 'this widget was made with interactive: false; the kernel answers no questions.';
    if (!this.host.comm_live) {
      return "this widget was restored from the notebook and the kernel that made it is gone; run its cell again to ask the model.";
    }
    const id = this.requests.open(slot);
    this.host.send({ ...request, request: id }, {}, buffers);
    return undefined;
  }

  private receiveReply(reply: GradCamReply, buffers: Buffers): void {
    if (!reply || typeof reply !== 'object' || typeof reply.request !== 'string') return;
    if (reply.type === 'superseded') {
      // A newer request of the same panel is on its way; only if it is another page's does this
      // panel stop waiting (that page's answer will be drawn here too).
      const dropped = this.requests.close(reply.request, {});
      if (dropped.newest) this.answered(dropped);
      return;
    }
    let answer: Answer;
    if (reply.type === 'image') {
      // Always stored (it is the kernel's state now); the view draws it only if it answers the
      // panel's newest request or the panel is waiting for none.
      const images = [...this.images];
      images[reply.image] = decodeImage(entryOfReply(reply, buffers));
      const selected = [...(this.host.get('selected_class') as number[])];
      selected[reply.image] = reply.selected_class;
      this.host.set_state({ images, selected_class: selected });
      answer = { ...this.requests.close(reply.request, { image: reply.image }), kernelMs: reply.kernel_ms };
    } else if (reply.type === 'maps') {
      // The guided maps of an image already answered: merged into its entry, nothing to wait for.
      const images = [...this.images];
      const image = images[reply.image];
      if (!image) return;
      images[reply.image] = { ...image, maps: { ...image.maps, ...decodeMaps(reply, buffers, image) } };
      this.host.set_state({ images });
      return;
    } else if (reply.type === 'error') {
      answer = this.requests.close(reply.request, { image: reply.image, error: reply.message });
    } else {
      answer = this.requests.close(reply.request, {});
    }
    this.answered(answer);
  }

  private answered(answer: Answer): void {
    for (const fn of [...this.answerListeners]) fn(answer);
  }

  // Typed accessors, so views never cast.
  get images(): DecodedImage[] {
    return this.host.get('images') as DecodedImage[];
  }
  get classNames(): string[] {
    return this.host.get('class_names') as string[];
  }
  /** For a list of targets (not a classifier's classes): how each target's value reads; undefined for classes. */
  get targetValues(): ('probability' | 'value')[] | undefined {
    const v = this.host.get('target_values') as unknown;
    return Array.isArray(v) ? (v as ('probability' | 'value')[]) : undefined;
  }
  get method(): MethodName {
    return this.host.get('method') as MethodName;
  }
  get colormap(): ColormapName {
    return this.host.get('colormap') as ColormapName;
  }
  get opacity(): number {
    return this.host.get('opacity') as number;
  }
  get layer(): string {
    return this.host.get('layer') as string;
  }
  get layers(): string[] {
    return (this.host.get('layers') as string[] | undefined) ?? [];
  }
  get interactive(): boolean {
    return this.host.get('interactive') === true;
  }
  /** Why the kernel cannot answer at all (Deno's kernel), to show in the widget; undefined otherwise. */
  get kernelNote(): string | undefined {
    const note = this.host.get('kernel_note');
    return typeof note === 'string' && note !== '' ? note : undefined;
  }
  /** Any synced field, for what the typed accessors do not cover. */
  get(key: string): unknown {
    return this.host.get(key);
  }
  /** The selected class of image i (the kernel sends one per image; missing ones read as 0). */
  selectedClass(i: number): number {
    const sel = this.host.get('selected_class') as number[];
    return sel[i] ?? 0;
  }

  /** Select class c for image i and sync it to the kernel. */
  selectClass(i: number, c: number): void {
    const sel = [...(this.host.get('selected_class') as number[])];
    while (sel.length < this.images.length) sel.push(0);
    if (sel[i] === c) return;
    sel[i] = c;
    this.host.set('selected_class', sel);
    this.host.save_changes();
  }

  /** Set one of the shared display settings and sync it. */
  setSetting<K extends 'method' | 'colormap' | 'opacity'>(key: K, value: GradCamState[K]): void {
    this.host.set(key, value);
    this.host.save_changes();
  }
}

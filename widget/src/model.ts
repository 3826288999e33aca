/**
 * The Grad-CAM widget's model: the synced state and the (de)serialisers of its binary buffers.
 * No DOM here (ipywidgets' model/view split): views read typed arrays and call set + save_changes.
 */
import type * as Backbone from 'backbone';
import { DOMWidgetModel, type IBackboneModelOptions, type ISerializers } from '@jupyter-widgets/base';
import {
  GRADCAM_WIDGET_SPEC,
  type ColormapName,
  type GradCamQuestion,
  type GradCamReply,
  type GradCamState,
  type ImageEntry,
  type MethodName,
} from '../../src/shared/gradcam-schema';
import { decodeImage, exact, float32Of, RGB_METHODS, type DecodedImage } from './decode';
import { RequestBook, type Answer, type Slot } from './requests';

function deserializeImages(value: unknown): DecodedImage[] {
  if (!Array.isArray(value)) throw new TypeError(`GradCamModel: 'images' must be a list, got ${typeof value}.`);
  return (value as ImageEntry[]).map((img) => decodeImage(img));
}

/** Back to the wire, e.g. when JupyterLab saves the widget state in the notebook. */
function serializeImages(value: DecodedImage[]): ImageEntry[] {
  return value.map((img) => ({
    ...img,
    pixels: exact(img.pixels),
    probs: exact(img.probs),
    logits: exact(img.logits),
    alphas: exact(img.alphas),
    activations: exact(img.activations),
    original_probs: exact(img.original_probs),
    ...(img.map_classes ? { map_classes: exact(img.map_classes) } : {}),
    maps: Object.fromEntries(Object.entries(img.maps).map(([m, a]) => [m, exact(a)])),
  }));
}

/** Message buffers as DataViews over exactly their bytes (they arrive as ArrayBuffers or views). */
function asDataView(b: ArrayBuffer | ArrayBufferView): DataView {
  return b instanceof ArrayBuffer ? new DataView(b) : new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** The maps of a 'maps' reply as typed arrays, checked against the image they belong to. */
function decodeMaps(reply: Extract<GradCamReply, { type: 'maps' }>, buffers: (ArrayBuffer | ArrayBufferView)[], image: DecodedImage): DecodedImage['maps'] {
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
function entryOfReply(reply: Extract<GradCamReply, { type: 'image' }>, buffers: (ArrayBuffer | ArrayBufferView)[]): ImageEntry {
  const entry = JSON.parse(JSON.stringify(reply.entry)) as { [key: string]: unknown };
  reply.buffer_paths.forEach((path, i) => {
    let obj = entry;
    for (const key of path.slice(0, -1)) obj = obj[key] as { [key: string]: unknown };
    obj[path[path.length - 1]] = asDataView(buffers[i]);
  });
  return entry as unknown as ImageEntry;
}

export class GradCamModel extends DOMWidgetModel {
  static serializers: ISerializers = {
    ...DOMWidgetModel.serializers,
    images: { deserialize: deserializeImages, serialize: serializeImages },
  };

  static model_name = GRADCAM_WIDGET_SPEC._model_name;
  static model_module = GRADCAM_WIDGET_SPEC._model_module;
  static model_module_version = GRADCAM_WIDGET_SPEC._model_module_version;
  static view_name = GRADCAM_WIDGET_SPEC._view_name;
  static view_module = GRADCAM_WIDGET_SPEC._view_module;
  static view_module_version = GRADCAM_WIDGET_SPEC._view_module_version;

  defaults(): Backbone.ObjectHash {
    const state: Omit<GradCamState, 'images'> & { images: DecodedImage[] } = {
      class_names: [],
      layer: '',
      images: [],
      layers: [],
      interactive: false,
      selected_class: [],
      method: 'gradcam',
      colormap: 'jet',
      opacity: 0.5,
    };
    return {
      ...super.defaults(),
      ...GRADCAM_WIDGET_SPEC,
      ...state,
    };
  }

  /** The widget's questions to the kernel that are still unanswered, by panel. */
  readonly requests = new RequestBook();

  initialize(attributes: Backbone.ObjectHash, options: IBackboneModelOptions): void {
    super.initialize(attributes, options);
    this.on('msg:custom', (content: unknown, buffers: (ArrayBuffer | ArrayBufferView)[] = []) => this.receiveReply(content as GradCamReply, buffers));
  }

  /**
   * Ask the kernel (edit, reset, add, layer) on behalf of `slot`; the answer arrives as a
   * 'gc:answer' event. Returns why it cannot be asked (no live kernel), or undefined.
   */
  ask(slot: Slot, request: GradCamQuestion, buffers: ArrayBuffer[] = []): string | undefined {
    if (!this.interactive) return 'this widget was made with interactive: false; the kernel answers no questions.';
    if (!this.comm_live) {
      return "this widget was restored from the notebook and the kernel that made it is gone; run its cell again to ask the model.";
    }
    const id = this.requests.open(slot);
    this.send({ ...request, request: id }, {}, buffers);
    return undefined;
  }

  private receiveReply(reply: GradCamReply, buffers: (ArrayBuffer | ArrayBufferView)[]): void {
    if (!reply || typeof reply !== 'object' || typeof reply.request !== 'string') return;
    if (reply.type === 'superseded') {
      // A newer request of the same panel is on its way; only if it is another page's does this
      // panel stop waiting (that page's answer will be drawn here too).
      const dropped = this.requests.close(reply.request, {});
      if (dropped.newest) this.trigger('gc:answer', dropped);
      return;
    }
    let answer: Answer;
    if (reply.type === 'image') {
      // Always stored (it is the kernel's state now); the view draws it only if it answers the
      // panel's newest request or the panel is waiting for none.
      const images = [...this.images];
      images[reply.image] = decodeImage(entryOfReply(reply, buffers));
      const selected = [...(this.get('selected_class') as number[])];
      selected[reply.image] = reply.selected_class;
      this.set_state({ images, selected_class: selected });
      answer = { ...this.requests.close(reply.request, { image: reply.image }), kernelMs: reply.kernel_ms };
    } else if (reply.type === 'maps') {
      // The guided maps of an image already answered: merged into its entry, nothing to wait for.
      const images = [...this.images];
      const image = images[reply.image];
      if (!image) return;
      images[reply.image] = { ...image, maps: { ...image.maps, ...decodeMaps(reply, buffers, image) } };
      this.set_state({ images });
      return;
    } else if (reply.type === 'error') {
      answer = this.requests.close(reply.request, { image: reply.image, error: reply.message });
    } else {
      answer = this.requests.close(reply.request, {});
    }
    this.trigger('gc:answer', answer);
  }

  // Typed accessors, so views never cast.
  get images(): DecodedImage[] {
    return this.get('images') as DecodedImage[];
  }
  get classNames(): string[] {
    return this.get('class_names') as string[];
  }
  get method(): MethodName {
    return this.get('method') as MethodName;
  }
  get colormap(): ColormapName {
    return this.get('colormap') as ColormapName;
  }
  get opacity(): number {
    return this.get('opacity') as number;
  }
  get layer(): string {
    return this.get('layer') as string;
  }
  get layers(): string[] {
    return (this.get('layers') as string[] | undefined) ?? [];
  }
  get interactive(): boolean {
    return this.get('interactive') === true;
  }
  /** The selected class of image i (the kernel sends one per image; missing ones read as 0). */
  selectedClass(i: number): number {
    const sel = this.get('selected_class') as number[];
    return sel[i] ?? 0;
  }

  /** Select class c for image i and sync it to the kernel. */
  selectClass(i: number, c: number): void {
    const sel = [...(this.get('selected_class') as number[])];
    while (sel.length < this.images.length) sel.push(0);
    if (sel[i] === c) return;
    sel[i] = c;
    this.set('selected_class', sel);
    this.save_changes();
  }

  /** Set one of the shared display settings and sync it. */
  setSetting<K extends 'method' | 'colormap' | 'opacity'>(key: K, value: GradCamState[K]): void {
    this.set(key, value);
    this.save_changes();
  }
}

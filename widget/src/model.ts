/**
 * The Grad-CAM widget's model: the synced state and the (de)serialisers of its binary buffers.
 * No DOM here (ipywidgets' model/view split): views read typed arrays and call set + save_changes.
 */
import type * as Backbone from 'backbone';
import { DOMWidgetModel, type ISerializers } from '@jupyter-widgets/base';
import {
  GRADCAM_WIDGET_SPEC,
  type ColormapName,
  type GradCamState,
  type ImageEntry,
  type MethodName,
} from '../../src/kernel/gradcam-schema';
import { decodeImage, exact, type DecodedImage } from './decode';

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
    maps: Object.fromEntries(Object.entries(img.maps).map(([m, a]) => [m, exact(a)])),
  }));
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

/**
 * The Grad-CAM widget's synced state: the one contract between the kernel side (src/gradcam-widget) and
 * the browser (widget/). Both import this file; nothing else crosses the comm.
 *
 * Arrays travel as binary buffers (ipywidgets `buffer_paths`), never as JSON number lists: every
 * field typed `Bytes` below is a little-endian typed array's bytes. All classes' maps arrive once,
 * so switching class in the browser needs no kernel round trip.
 */

export const WIDGET_MODULE = 'gradcam-ts-widget';
export const WIDGET_MODULE_VERSION = '0.1.0';
export const GRADCAM_MODEL_NAME = 'GradCamModel';
export const GRADCAM_VIEW_NAME = 'GradCamView';

/**
 * The widget's identity as ipywidgets' six state fields: the kernel opens the comm with it, the
 * browser model has it as defaults, and a saved notebook's widget state carries it.
 */
export const GRADCAM_WIDGET_SPEC = {
  _model_name: GRADCAM_MODEL_NAME,
  _model_module: WIDGET_MODULE,
  _model_module_version: WIDGET_MODULE_VERSION,
  _view_name: GRADCAM_VIEW_NAME,
  _view_module: WIDGET_MODULE,
  _view_module_version: WIDGET_MODULE_VERSION,
} as const;

/** Raw bytes of a typed array (DataView in the browser, Uint8Array/Buffer on the kernel side). */
export type Bytes = ArrayBufferView;

/** The colormaps (named once, in colormap.ts). */
export type { ColormapName } from './colormap';
export { COLORMAP_NAMES as COLORMAPS } from './colormap';
import { COLORMAP_NAMES as COLORMAPS } from './colormap';
import type { ColormapName } from './colormap';

/** Methods whose maps are shipped (the registry's names); the widget offers exactly the keys present in `maps`. */
export type { MethodName } from './methods';
import type { MethodName } from './methods';

export type ImageEntry = {
  /** Caption, e.g. "test #1234". */
  title: string;
  /** Index into class_names, or -1 when the true class is unknown. */
  true_class: number;
  /** Input size (the model's, e.g. 32x32). */
  height: number;
  width: number;
  /** uint8 RGB, row-major HWC, height*width*3. */
  pixels: Bytes;
  /** float32 [C]: softmax probabilities and the logits they came from. */
  probs: Bytes;
  logits: Bytes;
  /** Layer-resolution size and channel count of the target layer. */
  map_height: number;
  map_width: number;
  channels: number;
  /**
   * int32 [M]: the classes whose maps and alphas are shipped, in that order (each image's M most
   * probable ones, for models with many classes). Absent: every class, in class order (M = C).
   */
  map_classes?: Bytes;
  /**
   * Per method, float32 [M, height, width] in [0,1], already upsampled bilinearly to the input
   * size; for 'guided-gradcam'/'guided-backprop' float32 [M, height, width, 3] in [0,1].
   */
  maps: { [method: string]: Bytes };
  /** float32 [M, K]: alpha_k^c of Grad-CAM for every shipped class. */
  alphas: Bytes;
  /** float32 [map_height, map_width, K]: the activations A^k, for the per-channel hover view. */
  activations: Bytes;
  /**
   * Where the pixels came from: as given to showGradCam, edited in the widget (occlusion brush),
   * or added in the widget (a dropped, pasted or picked file). Absent in states saved before 0.2.
   */
  origin?: ImageOrigin;
  /** float32 [C]: probabilities of the image before any edit ("before -> after"); equals probs when unedited. */
  original_probs?: Bytes;
};

export type ImageOrigin = 'given' | 'edited' | 'added';

// Type aliases (not interfaces) so the state is assignable to the widget layer's WidgetState.
export type GradCamState = {
  class_names: string[];
  layer: string;
  /** Layers the widget's layer selector offers (best first); empty when the kernel answers no requests. */
  layers: string[];
  /** True while the kernel that made the widget answers its requests (edit, add, layer). */
  interactive: boolean;
  /** Why the kernel cannot answer (Deno's kernel is one-way) and where it could, shown in the widget. */
  kernel_note?: string;
  images: ImageEntry[];
  /** One selected class per image (the predicted class initially). Synced back to the kernel. */
  selected_class: number[];
  method: MethodName;
  colormap: ColormapName;
  /** Heatmap opacity over the image, 0..1. */
  opacity: number;
  /**
   * Present when class_names lists targets rather than a classifier's classes (a segmenter's
   * classes, a regressor's values, a detector's best box...): whether each target's value in
   * `probs` reads as a probability or a plain value. The list keeps its order, marks no prediction,
   * and an edit reports the selected target before and after.
   */
  target_values?: ('probability' | 'value')[];
};

/** The fields a front end may change; everything else is computed by the kernel. */
export const FRONTEND_FIELDS = ['selected_class', 'method', 'colormap', 'opacity'] as const;

/**
 * Why a front end's value for `key` is not acceptable in `state`, or undefined when it is. The
 * kernel applies this to every update from the browser before it reaches notebook code.
 */
export function invalidFrontendValue(key: string, value: unknown, state: GradCamState): string | undefined {
  switch (key) {
    case 'selected_class': {
      const n = state.images.length;
      const c = state.class_names.length;
      if (!Array.isArray(value) || value.length !== n) return `expected ${n} class indices (one per image)`;
      const bad = value.find((v) => !Number.isInteger(v) || v < 0 || v >= c);
      return bad === undefined ? undefined : `${JSON.stringify(bad)} is not a class index 0..${c - 1}`;
    }
    case 'method': {
      const offered = Object.keys(state.images[0]?.maps ?? {});
      return typeof value === 'string' && offered.includes(value) ? undefined : `expected one of the computed methods ${offered.join(', ')}`;
    }
    case 'colormap':
      return typeof value === 'string' && (COLORMAPS as readonly string[]).includes(value) ? undefined : `expected one of ${COLORMAPS.join(', ')}`;
    case 'opacity':
      return typeof value === 'number' && value >= 0 && value <= 1 ? undefined : 'expected a number from 0 to 1';
    default:
      return `${key} is set by the kernel, not the front end (the front end may set ${FRONTEND_FIELDS.join(', ')})`;
  }
}

// ---------------------------------------------------------------------------------------------
// Requests: the questions the widget asks the kernel (custom messages, both ways). Every request
// carries an id chosen by the front end; every answer names the request it answers, so a front
// end draws only the answer to its newest request for a panel (older ones are superseded).

/** The occlusion patch's colour (brush and w.occlude): mid grey hides content without adding an edge or colour. */
export const OCCLUSION_GREY: readonly [number, number, number] = [128, 128, 128];

/** Largest image file the widget sends (the Jupyter server drops websocket messages over 10 MiB). */
export const MAX_UPLOAD_BYTES = 8 * 1024 * 1024;

export type GradCamRequest =
  /** Explain these pixels (buffers[0]: uint8 RGB HWC at the model's input size) in place of image `image`. */
  | { type: 'edit'; request: string; image: number; width: number; height: number }
  /** Put image `image` back as it was given (or added). */
  | { type: 'reset'; request: string; image: number }
  /** Append an image file (buffers[0]: its bytes, PNG/JPEG/GIF) as a new panel. */
  | { type: 'add'; request: string; name: string }
  /** Re-explain every image at another layer. */
  | { type: 'layer'; request: string; layer: string }
  /** Add class `class`'s maps to image `image` (a model with more classes than the widget explained up front). */
  | { type: 'class'; request: string; image: number; class: number };

/** A request before the front end gives it an id. */
export type GradCamQuestion = GradCamRequest extends infer R ? (R extends unknown ? Omit<R, 'request'> : never) : never;

export type GradCamReply =
  /**
   * The new ImageEntry of image `image` (`image === images.length` appends) as JSON, its arrays as
   * the message's buffers at `buffer_paths` (relative to the entry); `selected_class` for that image;
   * `kernel_ms`, the kernel's time from receiving the request to this answer (waiting included).
   */
  | { type: 'image'; request: string; image: number; entry: unknown; buffer_paths: (string | number)[][]; selected_class: number; kernel_ms?: number }
  /**
   * The guided maps (Guided Grad-CAM, guided backprop) of image `image`, every class, sent after
   * its 'image' answer: they cost a pass through the whole network per class, so the cheap maps
   * are drawn first. `maps` is { method: bytes } as JSON with its buffers at `buffer_paths`.
   */
  | { type: 'maps'; request: string; image: number; maps: unknown; buffer_paths: (string | number)[][] }
  /** A layer change was applied (the state update carrying the new images came just before). */
  | { type: 'done'; request: string }
  /** The request was dropped because a newer one for the same panel (or the layer) arrived first. */
  | { type: 'superseded'; request: string }
  /** The request failed; `message` names the problem and the fix. */
  | { type: 'error'; request: string; image?: number; message: string };

/** The first problem with a request from the front end, or undefined when it is well formed. */
export function invalidRequest(content: unknown, state: GradCamState): string | undefined {
  if (content === null || typeof content !== 'object' || Array.isArray(content)) return 'a request must be an object';
  const fields = content as { [k: string]: unknown };
  const bad = Object.keys(fields).find((k) => k === '__proto__' || k === 'constructor' || k === 'prototype');
  if (bad) return `a request may not have a field named ${bad}`;
  // Own fields only: a field the message lacks must not be found on Object.prototype.
  const r: { [k: string]: unknown } = Object.create(null);
  for (const k of Object.keys(fields)) r[k] = fields[k];
  if (typeof r.request !== 'string' || r.request.length === 0 || r.request.length > 100) return "a request needs a 'request' id (a short string)";
  const imageIndex = (allowed: number): string | undefined =>
    Number.isInteger(r.image) && (r.image as number) >= 0 && (r.image as number) < allowed
      ? undefined
      : `image ${JSON.stringify(r.image)} is not an image index 0..${allowed - 1}`;
  switch (r.type) {
    case 'edit':
      return imageIndex(state.images.length) ??
        (Number.isInteger(r.width) && Number.isInteger(r.height) ? undefined : 'an edit needs integer width and height');
    case 'reset':
      return imageIndex(state.images.length);
    case 'add':
      return typeof r.name === 'string' && r.name.length <= 500 ? undefined : "an added image needs a file 'name'";
    case 'class': {
      const c = state.class_names.length;
      return imageIndex(state.images.length) ??
        (Number.isInteger(r.class) && (r.class as number) >= 0 && (r.class as number) < c ? undefined : `class ${JSON.stringify(r.class)} is not a class index 0..${c - 1}`);
    }
    case 'layer':
      return typeof r.layer === 'string' && state.layers.includes(r.layer)
        ? undefined
        : `layer ${JSON.stringify(r.layer)} is not one of the offered layers (${state.layers.join(', ')})`;
    default:
      return `unknown request type ${JSON.stringify(r.type)} (expected edit, reset, add, layer or class)`;
  }
}

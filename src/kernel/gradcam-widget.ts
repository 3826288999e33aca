/**
 * The Grad-CAM widget's kernel side: `showGradCam(model, images)` explains every image for every
 * class with each method in one go (the engine runs the trunk once per image), ships the maps as
 * binary buffers, and displays the widget with a PNG fallback of its current state.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend';
import { explain, CamMethodName, Explanation } from '../cam';
import type { ImageBatch } from '../cam';
import { figureRows, FigureRow, gradientImage, renderFigure } from '../render';
import {
  ColormapName, GRADCAM_WIDGET_SPEC, GradCamState, ImageEntry, invalidFrontendValue, MethodName,
} from './gradcam-schema';
import { WidgetFallback, WidgetModel, WidgetOptions } from './widget';

export interface ShowGradCamOptions {
  /** Target conv layer; default: the last layer with a 4-D output. */
  layer?: string;
  classNames?: readonly string[];
  /** True class per image (marked in the class selector), -1 or omitted when unknown. */
  trueLabels?: ArrayLike<number>;
  /** Caption per image. */
  titles?: string[];
  /**
   * Methods to compute; Grad-CAM and Guided Grad-CAM always. The widget's toggle offers exactly
   * these. Score-CAM and Ablation-CAM cost K forward passes per image, and EigenCAM ignores the
   * class, so they are opt-in. Default: gradcam, guided-gradcam, counterfactual, gradcam++.
   */
  methods?: MethodName[];
  method?: MethodName;
  colormap?: ColormapName;
  opacity?: number;
  /** Create the widget without displaying it (e.g. to display it later or in another cell). */
  display?: boolean;
  /** Passed to the widget layer (tests give a runtime here). */
  widget?: WidgetOptions<WidgetModel<GradCamState>>;
}

export const DEFAULT_METHODS: readonly MethodName[] = ['gradcam', 'guided-gradcam', 'counterfactual', 'gradcam++'];
/** The engine method behind each widget method; the two guided ones come from Grad-CAM's guided pass. */
const CAM_OF: Partial<Record<MethodName, CamMethodName>> = {
  gradcam: 'gradcam', counterfactual: 'counterfactual', 'gradcam++': 'gradcam++', scorecam: 'scorecam',
  hirescam: 'hirescam', xgradcam: 'xgradcam', layercam: 'layercam', eigencam: 'eigencam', ablationcam: 'ablationcam',
  randomcam: 'randomcam',
};

/** Pixels of each image as HWC bytes, whatever form the caller passed them in. */
function pixelsOf(images: ImageBatch): Uint8Array[] {
  const list: ArrayLike<number>[] = images instanceof tf.Tensor
    ? tf.tidy(() => tf.unstack(images.rank === 3 ? tf.expandDims(images) : images).map((t) => t.dataSync()))
    : Array.isArray(images)
      ? images.map((im) => (im instanceof tf.Tensor ? im.dataSync() : im))
      : [images as ArrayLike<number>];
  return list.map((a) => Uint8Array.from(a as ArrayLike<number>, (v) => Math.round(Math.min(255, Math.max(0, v)))));
}

/** Guided gradients of every class scaled for display into [0,1], as the Grad-CAM authors do. */
function guidedForDisplay(e: Explanation, i: number, key: 'guided' | 'guidedGradCam'): Float32Array {
  const [H, W, C] = e.inputShape;
  const classes = e.images[i].classes;
  const out = new Float32Array(classes.length * H * W * C);
  classes.forEach((cl, c) => {
    const img = gradientImage(cl[key] as Float32Array, W, H, C);
    for (let p = 0; p < H * W * C; p++) out[c * H * W * C + p] = img.data[p] / 255;
  });
  return out;
}

function stack(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export class GradCamWidget extends WidgetModel<GradCamState> {
  /** The selected class of each image (synced from the browser). */
  get selectedClass(): number[] {
    return this.get('selected_class');
  }

  /** Selects a class for one image (0 by default), from kernel code. */
  selectClass(classIndex: number, image = 0): void {
    const next = [...this.selectedClass];
    next[image] = classIndex;
    this.set({ selected_class: next });
  }
}

/** The figure of the widget's current state: one row per image, for its selected class. */
function fallbackPicture(state: GradCamState, explanations: Map<MethodName, Explanation>): WidgetFallback {
  const gradcam = explanations.get('gradcam') as Explanation;
  const rows: FigureRow[] = [];
  state.images.forEach((img, i) => {
    const one = { ...gradcam, images: [gradcam.images[i]] };
    const all = figureRows(one, [img.pixels as Uint8Array], img.true_class >= 0 ? { trueLabels: [img.true_class] } : {});
    rows.push({ ...all[state.selected_class[i]], caption: `${img.title} · ${all[state.selected_class[i]].caption}` });
  });
  const png = renderFigure(rows, { colormap: state.colormap, opacity: state.opacity, title: `Grad-CAM on ${state.layer}` });
  const text = state.images
    .map((img, i) => `${img.title}: ${state.class_names[state.selected_class[i]]} (Grad-CAM on ${state.layer})`)
    .join('\n');
  return { png, text: `GradCamWidget\n${text}` };
}

/** Computes every method for every class and builds the widget state (no display). */
export function gradCamState(
  model: tf.LayersModel,
  images: ImageBatch,
  options: ShowGradCamOptions = {},
): { state: GradCamState; explanations: Map<MethodName, Explanation> } {
  const pixels = pixelsOf(images);
  const methods = [...new Set<MethodName>(['gradcam', 'guided-gradcam', ...(options.methods ?? DEFAULT_METHODS)])];
  const explanations = new Map<MethodName, Explanation>();
  for (const m of methods) {
    const cam = CAM_OF[m];
    if (!cam) continue;
    explanations.set(m, explain(model, pixels, {
      method: cam, layer: options.layer, classNames: options.classNames, target: 'all', guided: m === 'gradcam',
    }));
  }
  const gradcam = explanations.get('gradcam') as Explanation;
  const [H, W] = gradcam.inputShape;
  const [h, w, K] = gradcam.layerShape;
  const classNames = [...(gradcam.classNames ?? gradcam.images[0].classes.map((c) => `class ${c.classIndex}`))];
  const entries: ImageEntry[] = pixels.map((px, i) => {
    const im = gradcam.images[i];
    const maps: ImageEntry['maps'] = {};
    for (const m of methods) {
      if (m === 'guided-gradcam') maps[m] = guidedForDisplay(gradcam, i, 'guidedGradCam');
      else if (m === 'guided-backprop') maps[m] = guidedForDisplay(gradcam, i, 'guided');
      else maps[m] = stack((explanations.get(m) as Explanation).images[i].classes.map((c) => c.heatmap));
    }
    return {
      title: options.titles?.[i] ?? `image ${i + 1}`,
      true_class: options.trueLabels?.[i] ?? -1,
      height: H, width: W, pixels: px, probs: im.probabilities, logits: im.logits,
      map_height: h, map_width: w, channels: K, maps,
      alphas: stack(im.classes.map((c) => c.weights)),
      activations: im.activations,
    };
  });
  const method = options.method ?? 'gradcam';
  if (!methods.includes(method)) throw new Error(`method '${method}' is not among the computed methods (${methods.join(', ')}).`);
  return {
    explanations,
    state: {
      class_names: classNames,
      layer: gradcam.layer,
      images: entries,
      selected_class: gradcam.images.map((im) => im.predicted),
      method,
      colormap: options.colormap ?? 'jet',
      opacity: options.opacity ?? 0.5,
    },
  };
}

/**
 * Explains `images` with `model` and shows the interactive widget in the running cell:
 * `const w = await showGradCam(model, [img]); w.on('change:selected_class', (c) => ...)`.
 */
export async function showGradCam(model: tf.LayersModel, images: ImageBatch, options: ShowGradCamOptions = {}): Promise<GradCamWidget> {
  await initBackend();
  const { state, explanations } = gradCamState(model, images, options);
  const widget = new GradCamWidget(
    GRADCAM_WIDGET_SPEC,
    state,
    {
      ...options.widget,
      fallback: (wgt) => fallbackPicture(wgt.state, explanations),
      validate: (key, value, wgt) => invalidFrontendValue(key, value, wgt.state),
    },
  );
  if (options.display !== false) widget.display();
  return widget;
}

/**
 * Sanity check by model-parameter randomisation (Adebayo et al., NeurIPS 2018). The layers with
 * weights are re-initialised from the top down, cascading (all layers above stay random) and
 * independently (one layer at a time), and each method's maps are recomputed for the same classes
 * and compared with the trained model's maps by Spearman rank correlation and SSIM. A map that
 * explains the model must change when the model's weights are destroyed; one that does not is
 * explaining the image (an edge detector would pass for a saliency map otherwise).
 * Everything runs on a copy of the model (serialised and reloaded), disposed at the end: the
 * user's model is never touched.
 */
import * as tf from '@tensorflow/tfjs';
import { CamMethodName, createCam, Explanation } from '../cam';
import { spearman, ssim } from './similarity';
import type { ScoredTarget } from './scorer';

export type RandomisationMode = 'cascading' | 'independent';

/** Mean Spearman after randomising every layer must fall below this for a method to pass. */
export const SANITY_THRESHOLD = 0.5;

export interface RandomisationOptions {
  methods: CamMethodName[];
  /** Target layer for the maps (default: the cam room's default). */
  layer?: string;
  classNames?: readonly string[];
  modes?: RandomisationMode[];
  seed?: number;
  /** How many of the images keep their maps for the figure (default 1). */
  keepMapsFor?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface RandomisationStep {
  /** The layer randomised last (cascading: and every layer above it), or 'none' for the trained model. */
  layer: string;
  /** Per method: mean over images. */
  spearman: Partial<Record<CamMethodName, number>>;
  ssim: Partial<Record<CamMethodName, number>>;
  /** Per method: heatmaps [H*W] of the first `keepMapsFor` images. */
  maps: Partial<Record<CamMethodName, Float32Array[]>>;
}

export interface RandomisationResult {
  /** Layers with weights, top (output) first: the cascade's order. */
  layers: string[];
  cascading: RandomisationStep[];
  independent: RandomisationStep[];
  /** Per method: mean Spearman after the full cascade below SANITY_THRESHOLD. */
  passes: Partial<Record<CamMethodName, boolean>>;
}

/** A separate model with the same graph and weights (serialised to memory, reloaded). */
export async function copyModel(model: tf.LayersModel): Promise<tf.LayersModel> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => {
    artifacts = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  if (!artifacts) throw new Error(`Could not serialise model '${model.name}' to copy it for randomisation.`);
  return tf.loadLayersModel(tf.io.fromMemory(artifacts));
}

/** New weights for a layer: each tensor redrawn from a normal with that tensor's own mean and std. */
function randomiseLayer(layer: tf.layers.Layer, seed: number): void {
  tf.tidy(() => {
    layer.setWeights(layer.getWeights().map((w, i) => {
      const { mean, variance } = tf.moments(w);
      return tf.randomNormal(w.shape, mean.dataSync()[0], Math.sqrt(variance.dataSync()[0]), 'float32', seed * 31 + i);
    }));
  });
}

function heatmaps(e: Explanation): Float32Array[] {
  return e.images.map((im) => im.classes[0].heatmap);
}

export async function modelRandomisation(model: tf.LayersModel, images: tf.Tensor4D, classes: ArrayLike<ScoredTarget>, options: RandomisationOptions): Promise<RandomisationResult> {
  const N = images.shape[0];
  if (classes.length !== N) throw new Error(`model randomisation: got ${classes.length} classes for ${N} images; give one class per image.`);
  const [, H, W] = images.shape;
  // scikit-image's 7x7 window, or the largest odd window that fits smaller maps.
  const side = Math.min(H, W);
  const window = Math.min(7, side % 2 ? side : side - 1);
  const modes = options.modes ?? ['cascading', 'independent'];
  const keep = options.keepMapsFor ?? 1;
  const target = Array.from(classes);
  const explainAll = (m: tf.LayersModel): Partial<Record<CamMethodName, Float32Array[]>> =>
    Object.fromEntries(options.methods.map((method) => [method, heatmaps(createCam(m, { method, layer: options.layer, classNames: options.classNames }).explain(images, { target }))]));
  const original = explainAll(model);
  const copy = await copyModel(model);
  try {
    const weighted = copy.layers.filter((l) => l.getWeights().length > 0).reverse();
    const trained = weighted.map((l) => l.getWeights().map((w) => tf.keep(w.clone())));
    const compare = (layer: string, maps: Partial<Record<CamMethodName, Float32Array[]>>): RandomisationStep => {
      const step: RandomisationStep = { layer, spearman: {}, ssim: {}, maps: {} };
      for (const method of options.methods) {
        const got = maps[method] as Float32Array[];
        const ref = original[method] as Float32Array[];
        step.spearman[method] = got.reduce((s, g, i) => s + spearman(ref[i], g), 0) / N;
        step.ssim[method] = got.reduce((s, g, i) => s + ssim(ref[i], g, H, W, 1, window), 0) / N;
        step.maps[method] = got.slice(0, keep);
      }
      return step;
    };
    const total = modes.length * weighted.length;
    let done = 0;
    const result: RandomisationResult = { layers: weighted.map((l) => l.name), cascading: [], independent: [], passes: {} };
    try {
      for (const mode of modes) {
        const steps = result[mode];
        steps.push(compare('none', original));
        weighted.forEach((layer, i) => {
          if (mode === 'independent' && i > 0) weighted[i - 1].setWeights(trained[i - 1]);
          randomiseLayer(layer, (options.seed ?? 0) + i);
          steps.push(compare(layer.name, explainAll(copy)));
          options.onProgress?.(++done, total);
        });
        weighted.forEach((layer, i) => layer.setWeights(trained[i])); // next mode starts trained
      }
    } finally {
      trained.forEach((ws) => tf.dispose(ws));
    }
    const last = result.cascading[result.cascading.length - 1];
    if (last) for (const method of options.methods) result.passes[method] = (last.spearman[method] as number) < SANITY_THRESHOLD;
    return result;
  } finally {
    copy.dispose();
  }
}

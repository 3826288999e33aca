/** The widget's first state: every image explained for every class with each method (no display). */
import * as tf from '@tensorflow/tfjs';
import { candidateLayers, candidateNodes } from '../cam';
import type { ExplainableModel, Explanation, ImageBatch } from '../cam';
import type { GradCamState, ImageEntry, MethodName } from '../shared/gradcam-schema';
import { ImageStore } from './image-store';
import { kernelNote, oneWayKernel } from './one-way';
import { DEFAULT_MAX_CLASSES, DEFAULT_METHODS, ShowGradCamOptions } from './options';
import { pixelsOf } from './pixels';
import { ImageFacts, WidgetExplainer } from './widget-explainer';

export function gradCamState(
  model: ExplainableModel,
  images: ImageBatch,
  options: ShowGradCamOptions = {},
): { state: GradCamState; explanations: Map<MethodName, Explanation>; store: ImageStore } {
  const pixels = pixelsOf(images);
  const maxClasses = options.maxClasses ?? DEFAULT_MAX_CLASSES;
  if (!Number.isInteger(maxClasses) || maxClasses < 1) throw new Error(`maxClasses must be a whole number of classes, 1 or more; got ${maxClasses}.`);
  const explainer = new WidgetExplainer(model, options.methods ?? DEFAULT_METHODS, options.classNames, maxClasses, { targets: options.targets, names: options.targetNames });
  const layer = explainer.resolveLayer(options.layer);
  const facts: ImageFacts[] = pixels.map((_, i) => ({
    title: options.titles?.[i] ?? `image ${i + 1}`,
    trueClass: options.trueLabels?.[i] ?? -1,
    origin: 'given',
  }));
  const { images: explained, batch } = explainer.explain(pixels, facts, layer);
  const gradcam = batch.get('gradcam') as Explanation;
  const listing = explainer.listing;
  const classNames = listing.kind === 'targets' ? listing.names : [...(gradcam.classNames ?? Array.from(gradcam.images[0].probabilities, (_, c) => `class ${c}`))];
  const method = options.method ?? 'gradcam';
  if (!explainer.methods.includes(method)) throw new Error(`method '${method}' is not among the computed methods (${explainer.methods.join(', ')}).`);
  // A kernel that never hears the browser (Deno's) cannot answer, whatever was asked for.
  const oneWay = oneWayKernel(options.widget?.runtime);
  const interactive = oneWay === undefined && (options.interactive ?? true);
  return {
    explanations: batch,
    store: ImageStore.given(pixels, explained, facts, layer, explainer),
    state: {
      class_names: classNames,
      layer,
      layers: interactive ? layerNames(model) : [],
      interactive,
      ...(oneWay !== undefined ? { kernel_note: kernelNote(oneWay) } : {}),
      images: explained.map((e) => e.entry) as ImageEntry[],
      selected_class: explained.map((e) => explainer.initialSelection(e.entry)),
      ...(listing.kind === 'targets' ? { target_values: listing.values } : {}),
      method,
      colormap: options.colormap ?? 'jet',
      opacity: options.opacity ?? 0.5,
    },
  };
}

/** The layers (or graph nodes) the layer menu offers, best first. */
function layerNames(model: ExplainableModel): string[] {
  return model instanceof tf.GraphModel ? candidateNodes(model).map((c) => c.name) : candidateLayers(model).map((l) => l.name);
}

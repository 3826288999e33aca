/**
 * splitAt(model, layer): the engine's unit, made once per model and layer and handed to every
 * method. The one place that dispatches on the model's format (layers re-run node by node, a
 * graph executed from a node); methods never look at the model itself.
 */
import * as tf from '@tensorflow/tfjs';
import { splitGraphModel } from './graph-model-split';
import { splitLayersModel } from './layers-model-split';
import type { ExplainableModel, ModelSplit, SplitOptions } from './split-types';

export type { CamSource, ExplainableModel, ModelSplit, ScoreSource, SplitOptions, TrunkValues } from './split-types';
export { isModelSplit } from './split-types';
export { candidateLayers, describeCandidates, resolveLayer } from './layer-choice';

/** The model split at `layerName` (a layer, or a graph node), or at the default layer: the last with a spatial map. */
export function splitAt(model: ExplainableModel, layerName?: string, options: SplitOptions = {}): ModelSplit {
  return model instanceof tf.GraphModel ? splitGraphModel(model, layerName, options) : splitLayersModel(model, layerName, options);
}

/** The earlier name of splitAt. */
export const splitModel = splitAt;

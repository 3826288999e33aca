/** The explanation engine: Grad-CAM family, guided backprop. Tensors in, typed arrays out. */
export { explain, createCam, CAM_METHODS } from './explain';
export type { ExplainCallOptions } from './explain';
export { BaseCAM, MAP_EPSILON } from './base-cam';
export type { CamInputs, CamOptions, ExplainOptions } from './base-cam';
export { GradCAM } from './grad-cam';
export { GradCAMPlusPlus } from './grad-cam-plus-plus';
export { ScoreCAM } from './score-cam';
export { CounterfactualCAM } from './counterfactual';
export { guidedBackprop } from './guided';
export { GradientUnavailableError } from './gradient-check';
export type { GuidedBackpropOptions, GuidedBackpropResult } from './guided';
export { splitModel, candidateLayers, resolveLayer } from './split';
export type { ModelSplit, ScoreSource, TrunkValues } from './split';
export type { ClassTarget, TargetSpec } from './targets';
export type { ImageLike, ImageBatch } from './input';
export type { CamMethodName, ClassExplanation, Explanation, ImageExplanation } from './types';

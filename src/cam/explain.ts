/** The one-call entry point: pick a method by name, explain a batch. */
import * as tf from '@tensorflow/tfjs';
import { BaseCAM, CamOptions, ExplainOptions } from './base-cam';
import { CounterfactualCAM } from './counterfactual';
import { GradCAM } from './grad-cam';
import { GradCAMPlusPlus } from './grad-cam-plus-plus';
import { ImageBatch } from './input';
import type { ExplainableModel } from './split';
import { ScoreCAM } from './score-cam';
import { CamMethodName, Explanation } from './types';
import { HiResCAM } from './hires-cam';
import { XGradCAM } from './xgrad-cam';
import { LayerCAM } from './layer-cam';
import { EigenCAM } from './eigen-cam';
import { AblationCAM } from './ablation-cam';
import { RandomCAM } from './random-cam';

export const CAM_METHODS: Record<CamMethodName, new (model: ExplainableModel, options?: CamOptions) => BaseCAM> = {
  gradcam: GradCAM,
  'gradcam++': GradCAMPlusPlus,
  scorecam: ScoreCAM,
  counterfactual: CounterfactualCAM,
  hirescam: HiResCAM,
  xgradcam: XGradCAM,
  layercam: LayerCAM,
  eigencam: EigenCAM,
  ablationcam: AblationCAM,
  randomcam: RandomCAM,
};

/** How each method is named in figures and tables. */
export const CAM_METHOD_LABELS: Record<CamMethodName, string> = {
  gradcam: 'Grad-CAM', 'gradcam++': 'Grad-CAM++', scorecam: 'Score-CAM', counterfactual: 'Counterfactual',
  hirescam: 'HiResCAM', xgradcam: 'XGrad-CAM', layercam: 'LayerCAM', eigencam: 'EigenCAM', ablationcam: 'Ablation-CAM',
  randomcam: 'Random',
};

export interface ExplainCallOptions extends CamOptions, ExplainOptions {
  /** Default 'gradcam'. */
  method?: CamMethodName;
}

export function createCam(model: ExplainableModel, options: CamOptions & { method?: CamMethodName } = {}): BaseCAM {
  const method = options.method ?? 'gradcam';
  const Method = CAM_METHODS[method];
  if (!Method) {
    throw new Error(`Unknown method '${method}'; use one of ${Object.keys(CAM_METHODS).join(', ')}.`);
  }
  return new Method(model, options);
}

/**
 * Explains `images` (a [N,H,W,C] tensor or an array of images, raw pixel values as the model
 * expects them). Example: `explain(model, [imageAt(test, 7)], { target: 'all', guided: true })`.
 */
export function explain(model: ExplainableModel, images: ImageBatch, options: ExplainCallOptions = {}): Explanation {
  return createCam(model, options).explain(images, options);
}

/** The one-call entry point: pick a method by name, explain a batch. */
import type { CamMethodName } from '../shared/methods';
import { BaseCAM, CamOptions, ExplainOptions } from './base-cam';
import { ImageBatch } from './input';
import { camClass } from './registry';
import type { CamSource } from './split-types';
import { Explanation } from './types';

export { CAM_METHODS, CAM_METHOD_LABELS } from './registry';

export interface ExplainCallOptions extends CamOptions, ExplainOptions {
  /** Default 'gradcam'. */
  method?: CamMethodName;
}

/** A method on a model (split at options.layer) or on a split made once with splitAt and shared. */
export function createCam(source: CamSource, options: CamOptions & { method?: CamMethodName } = {}): BaseCAM {
  const Method = camClass(options.method ?? 'gradcam');
  return new Method(source, options);
}

/**
 * Explains `images` (a [N,H,W,C] tensor or an array of images, raw pixel values as the model
 * expects them). Example: `explain(model, [imageAt(test, 7)], { target: 'all', guided: true })`.
 */
export function explain(source: CamSource, images: ImageBatch, options: ExplainCallOptions = {}): Explanation {
  return createCam(source, options).explain(images, options);
}

/** The one-call entry point: pick a method by name, explain a batch. */
import type { CamMethodName } from '../shared/methods';
import { BaseCAM, CamOptions, ExplainOptions } from './base-cam';
import { ImageBatch } from './input';
import { camClass } from './registry';
import { isTarget } from './target-values';
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
  return createCam(source, { ...options, output: options.output ?? outputOfTarget(options.target) }).explain(images, options);
}

/** The output a target names (targets.ofOutput), if every target of the spec names the same one. */
export function outputOfTarget(spec: ExplainOptions['target']): string | undefined {
  const list = Array.isArray(spec) ? spec : [spec];
  const named = new Set(list.map((t) => (isTarget(t) ? t.output : undefined)).filter((n): n is string => n !== undefined));
  if (named.size > 1) throw new Error(`The targets name different outputs (${[...named].join(', ')}); explain one output per call.`);
  return [...named][0];
}

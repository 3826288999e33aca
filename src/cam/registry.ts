/**
 * The class behind each engine method of the registry (src/shared/methods.ts). The record's type
 * makes the compiler refuse a registry method without a class, or a class without an entry.
 */
import type { BaseCAM, CamOptions } from './base-cam';
import type { CamSource } from './split-types';
import { CAM_METHOD_NAMES, CamMethodName, METHOD_LABELS } from '../shared/methods';
import { AblationCAM } from './ablation-cam';
import { CounterfactualCAM } from './counterfactual';
import { EigenCAM } from './eigen-cam';
import { GradCAM } from './grad-cam';
import { GradCAMPlusPlus } from './grad-cam-plus-plus';
import { HiResCAM } from './hires-cam';
import { LayerCAM } from './layer-cam';
import { RandomCAM } from './random-cam';
import { ScoreCAM } from './score-cam';
import { XGradCAM } from './xgrad-cam';

export type CamConstructor = new (source: CamSource, options?: CamOptions) => BaseCAM;

export const CAM_METHODS: Readonly<Record<CamMethodName, CamConstructor>> = {
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

/** How each engine method is named in figures and tables (the registry's labels). */
export const CAM_METHOD_LABELS = Object.fromEntries(CAM_METHOD_NAMES.map((m) => [m, METHOD_LABELS[m]])) as Readonly<Record<CamMethodName, string>>;

/** The class of `name`, or a sentence that lists the methods. */
export function camClass(name: string): CamConstructor {
  if (!(CAM_METHOD_NAMES as readonly string[]).includes(name)) {
    throw new Error(`Unknown method '${name}'; use one of ${CAM_METHOD_NAMES.join(', ')}.`);
  }
  return CAM_METHODS[name as CamMethodName];
}

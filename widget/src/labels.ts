/** Display names of the methods, in the order the toggle lists them. */
import type { MethodName } from '../../src/kernel/gradcam-schema';

export const METHOD_LABELS: Record<MethodName, string> = {
  gradcam: 'Grad-CAM',
  'gradcam++': 'Grad-CAM++',
  scorecam: 'Score-CAM',
  counterfactual: 'Counterfactual',
  'guided-gradcam': 'Guided Grad-CAM',
  'guided-backprop': 'Guided backprop',
  hirescam: 'HiResCAM',
  xgradcam: 'XGrad-CAM',
  layercam: 'LayerCAM',
  eigencam: 'EigenCAM',
  ablationcam: 'Ablation-CAM',
  randomcam: 'Random',
};

export const METHOD_ORDER = Object.keys(METHOD_LABELS) as MethodName[];

export function percent(p: number): string {
  return p >= 0.995 ? '100%' : p < 0.001 ? '<0.1%' : `${(100 * p).toFixed(p < 0.1 ? 1 : 0)}%`;
}

/**
 * Every explanation method, named once. The engine's classes (cam/registry.ts), the CLI's
 * choices and usage, the widget's state schema and its toggle all derive from this list, so a
 * new method is one line here plus its class. Node-free and tfjs-free: the browser imports it.
 */

/** What a method needs from the model beyond its forward pass. */
export type MethodNeeds =
  /** d score / dA at the target layer. */
  | 'layer gradients'
  /** Scores of perturbed inputs or activations (gradient-free). */
  | 'extra forward passes'
  /** The activations alone. */
  | 'activations'
  /** The guided-ReLU input gradient (guided backprop). */
  | 'guided input gradients';

export interface MethodInfo {
  readonly name: string;
  /** How figures, tables and the widget name it. */
  readonly label: string;
  readonly needs: MethodNeeds;
  /** 'cam': a class-activation map of the engine (a BaseCAM subclass). 'guided': pixel-space maps from the guided pass. */
  readonly family: 'cam' | 'guided';
  /** One line for usage texts. */
  readonly summary: string;
}

/** In the order the widget's toggle and the CLI's usage list them. */
export const METHODS = [
  { name: 'gradcam', label: 'Grad-CAM', needs: 'layer gradients', family: 'cam', summary: 'alpha = mean of dy/dA (Selvaraju et al.)' },
  { name: 'gradcam++', label: 'Grad-CAM++', needs: 'layer gradients', family: 'cam', summary: 'positive gradients weighted by higher-order terms' },
  { name: 'scorecam', label: 'Score-CAM', needs: 'extra forward passes', family: 'cam', summary: 'each channel masks the input; its score is the weight' },
  { name: 'counterfactual', label: 'Counterfactual', needs: 'layer gradients', family: 'cam', summary: 'Grad-CAM of -y: what speaks against the class' },
  { name: 'guided-gradcam', label: 'Guided Grad-CAM', needs: 'guided input gradients', family: 'guided', summary: 'guided backprop x upsampled Grad-CAM' },
  { name: 'guided-backprop', label: 'Guided backprop', needs: 'guided input gradients', family: 'guided', summary: 'input gradient through positive-only ReLUs' },
  { name: 'hirescam', label: 'HiResCAM', needs: 'layer gradients', family: 'cam', summary: 'gradient x activation per position' },
  { name: 'xgradcam', label: 'XGrad-CAM', needs: 'layer gradients', family: 'cam', summary: 'gradients weighted by normalised activations' },
  { name: 'layercam', label: 'LayerCAM', needs: 'layer gradients', family: 'cam', summary: 'positive gradient x activation per position' },
  { name: 'eigencam', label: 'EigenCAM', needs: 'activations', family: 'cam', summary: 'first principal component of A (no class)' },
  { name: 'ablationcam', label: 'Ablation-CAM', needs: 'extra forward passes', family: 'cam', summary: 'score drop when each channel is zeroed' },
  { name: 'randomcam', label: 'Random', needs: 'activations', family: 'cam', summary: 'random weights: the baseline a method must beat' },
] as const satisfies readonly MethodInfo[];

type Entry = (typeof METHODS)[number];
/** Every method the widget can show. */
export type MethodName = Entry['name'];
/** The engine's class-activation-map methods. */
export type CamMethodName = Extract<Entry, { family: 'cam' }>['name'];

export const METHOD_NAMES: readonly MethodName[] = METHODS.map((m) => m.name);
export const CAM_METHOD_NAMES: readonly CamMethodName[] = METHODS.filter((m): m is Extract<Entry, { family: 'cam' }> => m.family === 'cam').map((m) => m.name);

export const METHOD_LABELS = Object.fromEntries(METHODS.map((m) => [m.name, m.label])) as Readonly<Record<MethodName, string>>;

/** The registry entry of `name`, or undefined for a name that is not a method (own keys only: input may be hostile). */
export function methodInfo(name: string): MethodInfo | undefined {
  return METHODS.find((m) => m.name === name);
}

export function isCamMethod(name: string): name is CamMethodName {
  return (CAM_METHOD_NAMES as readonly string[]).includes(name);
}

export function isMethodName(name: string): name is MethodName {
  return (METHOD_NAMES as readonly string[]).includes(name);
}

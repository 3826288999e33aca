/**
 * The split of a tf.LayersModel at its target layer A: the trunk (input -> A and the values that
 * skip over A) and the head (A -> pre-softmax scores), both re-run node by node so a final softmax
 * can be left out and guided ReLUs scoped to one pass.
 */
import * as tf from '@tensorflow/tfjs';
import { activationOf, Layer, runGraph, SymbolicTensor } from './graph';
import { withExactAvgPoolGradient } from './avg-pool-gradient';
import { gradientFailure, onBackward, releaseFailedTape } from './gradient-check';
import { describeCandidates, resolveTarget } from './layer-choice';
import type { ModelSplit, ScoreSource, TrunkValues } from './split-types';

/** The score tensor and whether a final softmax had to be removed to reach it. */
function scoreOutput(model: tf.LayersModel): { score: SymbolicTensor; linear: Set<Layer>; source: ScoreSource } {
  const out = model.outputs[0];
  const layer = out.sourceLayer;
  if (activationOf(layer) !== 'softmax') return { score: out, linear: new Set(), source: 'logits' };
  const cls = layer.getClassName();
  if (cls !== 'Dense' && cls !== 'Softmax' && cls !== 'Activation') {
    throw new Error(`The model ends in a softmax fused into a ${cls} layer ('${layer.name}'); only Dense, Softmax and Activation are supported.`);
  }
  return { score: out, linear: new Set([layer]), source: 'pre-softmax (removed final softmax)' };
}

export function splitLayersModel(model: tf.LayersModel, layerName?: string): ModelSplit {
  if (model.inputs.length !== 1 || model.outputs.length < 1) {
    throw new Error(`Model '${model.name}' has ${model.inputs.length} inputs; Grad-CAM here supports single-input image models.`);
  }
  const input = model.inputs[0];
  if (input.shape.length !== 4) {
    throw new Error(`Model '${model.name}' takes input of shape ${JSON.stringify(input.shape)}; expected images [N,H,W,C].`);
  }
  const { layer, output } = resolveTarget(model, layerName);
  let A: SymbolicTensor;
  try {
    A = output ?? (layer.output as SymbolicTensor);
  } catch {
    throw new Error(`Layer '${layer.name}' is used more than once in the model, so its output is ambiguous; pick another layer. ${describeCandidates(model)}`);
  }
  const { score, linear, source } = scoreOutput(model);

  // Which symbolic tensors depend on A; the head's other inputs come from the trunk.
  const dependsMemo = new Map<number, boolean>();
  const dependsOnA = (st: SymbolicTensor): boolean => {
    let d = dependsMemo.get(st.id);
    if (d === undefined) {
      d = st.id === A.id || st.inputs.some(dependsOnA);
      dependsMemo.set(st.id, d);
    }
    return d;
  };
  if (!dependsOnA(score)) throw new Error(`Layer '${layer.name}' does not feed the model's output; choose a layer on the path to it.`);
  const side: SymbolicTensor[] = [];
  const seen = new Set<number>();
  const collect = (st: SymbolicTensor): void => {
    if (seen.has(st.id) || st.id === A.id) return;
    seen.add(st.id);
    if (!dependsOnA(st)) side.push(st);
    else st.inputs.forEach(collect);
  };
  collect(score);

  const [, H, W, C] = input.shape;
  const [, h, w, K] = A.shape;
  const scoreShape = score.shape;
  const numClasses = scoreShape[scoreShape.length - 1];
  if (H == null || W == null || C == null || h == null || w == null || K == null || numClasses == null) {
    throw new Error(`Model '${model.name}' needs fixed input and layer sizes (input ${JSON.stringify(input.shape)}, '${layer.name}' ${JSON.stringify(A.shape)}).`);
  }
  // Scores pass through a marker whose gradient notes that differentiation began, so only errors
  // from a backward pass are traced to a layer (a wrong class name is reported as it is).
  let backwardStarted = false;
  const marked = onBackward(() => {
    backwardStarted = true;
  });
  const feedsFor = (t: TrunkValues): Map<number, tf.Tensor> =>
    new Map<number, tf.Tensor>([[A.id, t.activations], ...side.map((s, i): [number, tf.Tensor] => [s.id, t.side[i]])]);

  return {
    model,
    layerName: layer.name,
    scoreSource: source,
    inputShape: [H, W, C],
    layerShape: [h, w, K],
    numClasses,
    trunk(x) {
      backwardStarted = false;
      const [a, ...rest] = withExactAvgPoolGradient(() => runGraph([A, ...side], new Map([[input.id, x]]), { linear }));
      return { activations: a as tf.Tensor4D, side: rest };
    },
    head(t) {
      return marked(withExactAvgPoolGradient(() => runGraph([score], feedsFor(t), { linear }))[0]) as tf.Tensor2D;
    },
    full(x, guided) {
      backwardStarted = false;
      const [a, ...rest] = withExactAvgPoolGradient(() => runGraph([A, ...side, score], new Map([[input.id, x]]), { linear, guided }));
      const scores = marked(rest.pop() as tf.Tensor) as tf.Tensor2D;
      return { trunk: { activations: a as tf.Tensor4D, side: rest }, scores };
    },
    explainFailure(err, guided) {
      releaseFailedTape();
      return backwardStarted ? gradientFailure(model, err, guided) : err instanceof Error ? err : new Error(String(err));
    },
  };
}

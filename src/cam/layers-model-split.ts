/**
 * The split of a tf.LayersModel at its target layer A: the trunk (input -> A and the values that
 * skip over A) and the head (A -> pre-softmax scores), both re-run node by node so a final softmax
 * can be left out and guided ReLUs scoped to one pass.
 */
import * as tf from '@tensorflow/tfjs';
import { activationOf, Layer, runGraph, SymbolicTensor } from './graph';
import { withExactAvgPoolGradient } from './avg-pool-gradient';
import { globalAveragePool, layerFusionEnabled, planFusedChains } from './fused-layers';
import { forwardFailure, gradientFailure, onBackward, releaseFailedTape } from './gradient-check';
import { describeCandidates, resolveTarget, tokenLayout } from './layer-choice';
import { fromGrid, toGrid } from './node-layout';
import type { NodeLayout } from './node-layout';
import { OutputActivation, outputKind } from './outputs';
import { scoreSourceOf } from './split-types';
import type { ModelSplit, SplitOptions, TrunkValues } from './split-types';

/** Output i's name: the layer that makes it (what Keras calls the output). */
function outputNameOf(model: tf.LayersModel, i: number): string {
  return model.outputs[i].sourceLayer.name;
}

/**
 * The chosen output (by name, default the first) and the layer whose softmax or sigmoid is left
 * out so that its scores are the values before the activation.
 */
function scoreOutput(model: tf.LayersModel, name: string | undefined): { score: SymbolicTensor; linear: Set<Layer>; activation: OutputActivation; name: string } {
  const names = model.outputs.map((_, i) => outputNameOf(model, i));
  const index = name === undefined ? 0 : names.indexOf(name);
  if (index < 0) {
    throw new Error(`Model '${model.name}' has no output '${name}'; its outputs are ${names.map((n) => `'${n}'`).join(', ')}. Pass one of them as options.output (--output).`);
  }
  const out = model.outputs[index];
  const layer = out.sourceLayer;
  const act = activationOf(layer);
  if (act !== 'softmax' && act !== 'sigmoid') return { score: out, linear: new Set(), activation: 'linear', name: names[index] };
  return { score: out, linear: new Set([layer]), activation: act, name: names[index] };
}

export function splitLayersModel(model: tf.LayersModel, layerName?: string, options: SplitOptions = {}): ModelSplit {
  if (model.inputs.length !== 1 || model.outputs.length < 1) {
    throw new Error(`Model '${model.name}' has ${model.inputs.length} inputs; Grad-CAM here supports single-input image models.`);
  }
  const input = model.inputs[0];
  if (input.shape.length !== 4) {
    throw new Error(`Model '${model.name}' takes input of shape ${JSON.stringify(input.shape)}; expected images [N,H,W,C].`);
  }
  const { score, linear, activation, name: outputName } = scoreOutput(model, options.output);
  const { layer, output } = resolveTarget(model, layerName, score, options.tokens);
  let A: SymbolicTensor;
  try {
    A = output ?? (layer.output as SymbolicTensor);
  } catch {
    throw new Error(`Layer '${layer.name}' is used more than once in the model, so its output is ambiguous; pick another layer. ${describeCandidates(model, score)}`);
  }

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
  // A's readers on the way to the score (each depends on A, so the walk meets them all): one
  // GlobalAveragePooling2D allows the pooled head.
  const readersOfA = new Set<SymbolicTensor>();
  const seen = new Set<number>();
  const collect = (st: SymbolicTensor): void => {
    if (seen.has(st.id) || st.id === A.id) return;
    seen.add(st.id);
    if (!dependsOnA(st)) side.push(st);
    else {
      if (st.inputs.some((i) => i.id === A.id)) readersOfA.add(st);
      st.inputs.forEach(collect);
    }
  };
  collect(score);
  const [pooledBy] = readersOfA;
  const poolsA = readersOfA.size === 1 && side.length === 0 && A.shape.length === 4 && pooledBy.inputs.length === 1 &&
    pooledBy.sourceLayer.getClassName() === 'GlobalAveragePooling2D' && pooledBy.shape.length === 2;

  const [, H, W, C] = input.shape;
  // A token sequence [N,T,D] is read on its grid (extra tokens in front travel with the side values).
  const layout: NodeLayout = A.shape.length === 3 ? (tokenLayout(A, options.tokens) as NodeLayout) : { kind: 'channels-last' };
  const [h, w, K] = layout.kind === 'tokens' ? [layout.height, layout.width, A.shape[2]] : A.shape.slice(1);
  const outShape = score.shape.slice(1);
  const numClasses = outShape[outShape.length - 1];
  if (H == null || W == null || C == null || h == null || w == null || K == null || numClasses == null || outShape.some((d) => d == null)) {
    throw new Error(`Model '${model.name}' needs fixed input and layer sizes (input ${JSON.stringify(input.shape)}, '${layer.name}' ${JSON.stringify(A.shape)}).`);
  }
  const outputInfo = { name: outputName, shape: outShape as number[], activation, kind: outputKind(outShape as number[], activation, outputName) };
  // Scores pass through a marker whose gradient notes that differentiation began, so only errors
  // from a backward pass are traced to a layer (a wrong class name is reported as it is).
  let backwardStarted = false;
  const marked = onBackward(() => {
    backwardStarted = true;
  });
  const trunkOf = (a: tf.Tensor, rest: tf.Tensor[]): TrunkValues => {
    const { grid, extra } = toGrid(a, layout);
    return { activations: grid, side: extra ? [...rest, extra] : rest };
  };
  // Conv (+ batch norm) (+ ReLU/ReLU6) chains run as one op each, except where the explanation
  // reads a value inside one (A, the side values, the scores).
  const fused = planFusedChains(model.outputs, new Set([A.id, score.id, ...side.map((s) => s.id)]), linear);
  const run = { linear, fused };
  const feedsFor = (t: TrunkValues): Map<number, tf.Tensor> => {
    const extra = t.side.length > side.length ? t.side[side.length] : undefined;
    return new Map<number, tf.Tensor>([[A.id, fromGrid(t.activations, extra, layout)], ...side.map((s, i): [number, tf.Tensor] => [s.id, t.side[i]])]);
  };

  const pooled = poolsA ? {
    pool: (a: tf.Tensor4D) => (globalAveragePool(pooledBy.sourceLayer, a) ?? tf.mean(a, [1, 2])) as tf.Tensor2D,
    head: (p: tf.Tensor2D) => marked(withExactAvgPoolGradient(() => runGraph([score], new Map([[pooledBy.id, p]]), run))[0]),
  } : undefined;

  return {
    model,
    layerName: layer.name,
    get pooled() {
      return layerFusionEnabled() ? pooled : undefined;
    },
    scoreSource: scoreSourceOf(outputInfo),
    output: outputInfo,
    outputNames: model.outputs.map((_, i) => outputNameOf(model, i)),
    inputShape: [H, W, C],
    layerShape: [h, w, K],
    numClasses,
    trunk(x) {
      backwardStarted = false;
      const [a, ...rest] = withExactAvgPoolGradient(() => runGraph([A, ...side], new Map([[input.id, x]]), run));
      return trunkOf(a, rest);
    },
    head(t) {
      return marked(withExactAvgPoolGradient(() => runGraph([score], feedsFor(t), run))[0]);
    },
    full(x, guided) {
      backwardStarted = false;
      const [a, ...rest] = withExactAvgPoolGradient(() => runGraph([A, ...side, score], new Map([[input.id, x]]), { ...run, guided }));
      const scores = marked(rest.pop() as tf.Tensor);
      return { trunk: trunkOf(a, rest), scores };
    },
    explainFailure(err, guided) {
      releaseFailedTape();
      return backwardStarted ? gradientFailure(model, err, guided) : forwardFailure(err);
    },
  };
}

/**
 * The split for a TF.js graph model (tf.loadGraphModel: the converter's output for SavedModels,
 * TF Hub models and Keras models converted to tfjs_graph_model). The trunk executes the graph
 * up to the target node; the head executes it again from that node (GraphModel.execute accepts
 * values for intermediate nodes) to the scored output, and tf.grad differentiates that
 * execution. Nodes that skip over the target (residual branches) are fed to the head too. The
 * input is adapted (channels-first, a dynamic size: graph-input.ts) and the node read as a grid
 * (a channels-first map, a token sequence: node-layout.ts).
 * Guided backprop swaps the ReLU and ReLU6 gradients for the guided rule for the length of one
 * synchronous pass (the graph runs tfjs's own ops, so there is no layer to put a gate after).
 */
import * as tf from '@tensorflow/tfjs';
import { withExactAvgPoolGradient } from './avg-pool-gradient';
import { Candidate, candidateNodes, describeNodes } from './graph-candidates';
import { graphInput, GraphInput } from './graph-input';
import { graphNodes, graphOutputNames, nodeNameOf, scoreNode } from './graph-nodes';
import { forwardFailure, GradientUnavailableError, onBackward, releaseFailedTape } from './gradient-check';
import { registerMissingGradients } from './missing-gradients';
import { fromGrid, toGrid } from './node-layout';
import { outputKind, scoredShapeOf } from './outputs';
import { scoreSourceOf } from './split-types';
import type { ModelSplit, SplitOptions, TrunkValues } from './split-types';

export { graphOutputNames } from './graph-nodes';

const ACTIVATION_OPS = new Set(['Relu', 'Relu6']);

const outputShapes = new WeakMap<tf.GraphModel, Map<string, number[]>>();


/** The scored node's shape without the batch, from one execution (a model.json may carry no signature). */
function scoredShape(model: tf.GraphModel, scoreName: string, input: GraphInput): number[] {
  let known = outputShapes.get(model);
  if (!known) outputShapes.set(model, (known = new Map()));
  const key = `${scoreName}@${input.shape.join('x')}`;
  let shape = known.get(key);
  if (!shape) {
    try {
      shape = tf.tidy(() => (model.execute(input.toModel(tf.zeros([1, ...input.shape])), scoreName) as tf.Tensor).shape.slice(1));
    } catch (err) {
      throw forwardFailure(err);
    }
    known.set(key, shape);
  }
  return shape;
}

/** Runs `f` with the ReLU and ReLU6 gradients replaced by the guided rule, then puts them back. */
function withGuidedActivations<T>(f: () => T): T {
  const saved = [...ACTIVATION_OPS].map((op): [string, tf.GradConfig | undefined] => [op, tf.getGradient(op)]);
  for (const op of ACTIVATION_OPS) {
    tf.registerGradient({
      kernelName: op,
      inputsToSave: ['x'],
      gradFunc: (dy, saved) => {
        const [x] = saved;
        const inside = op === 'Relu6' ? tf.logicalAnd(tf.greater(x, 0), tf.less(x, 6)) : tf.greater(x, 0);
        return { x: () => tf.mul(tf.relu(dy as tf.Tensor), tf.cast(inside, 'float32')) };
      },
    });
  }
  try {
    return f();
  } finally {
    for (const [op, config] of saved) {
      if (config) tf.registerGradient(config);
      else tf.unregisterGradient(op);
    }
  }
}

export function splitGraphModel(model: tf.GraphModel, nodeName?: string, options: SplitOptions = {}): ModelSplit {
  registerMissingGradients();
  const input = graphInput(model, options.inputSize);
  const nodes = graphNodes(model);
  const score = scoreNode(model, nodes, options.output);
  const candidates = candidateNodes(model, input, options.output, options.tokens);
  let target: Candidate | undefined;
  if (nodeName === undefined) {
    target = candidates[0];
    if (!target) throw new Error(`This graph model has no spatial map [N,h,w,K] (or token sequence on a square grid) that feeds its output; Grad-CAM needs a feature map.`);
  } else {
    target = candidates.find((c) => c.name === nodeName || c.name === nodeNameOf(nodeName));
    if (!target) {
      const why = nodes.has(nodeNameOf(nodeName)) ? 'is not a 4-D feature map that feeds the scores (nor a token sequence on a square grid)' : 'is not a node of this graph';
      throw new Error(`Node '${nodeName}' ${why}. ${describeNodes(candidates)}`);
    }
  }
  const A = target.name;
  const layout = target.layout;
  // Nodes the head needs that do not depend on A: fed from the trunk so the head never needs the input.
  const dependsMemo = new Map<string, boolean>();
  const dependsOnA = (name: string): boolean => {
    let d = dependsMemo.get(name);
    if (d === undefined) {
      dependsMemo.set(name, false);
      const node = nodes.get(name);
      d = name === A || (!!node && node.op !== 'Const' && (node.input ?? []).some((i) => dependsOnA(nodeNameOf(i))));
      dependsMemo.set(name, d);
    }
    return d;
  };
  const side = new Set<string>();
  const seen = new Set<string>();
  const collect = (name: string): void => {
    if (seen.has(name) || name === A) return;
    seen.add(name);
    const node = nodes.get(name);
    if (!node || node.op === 'Const') return;
    if (!dependsOnA(name)) side.add(name);
    else (node.input ?? []).forEach((i) => collect(nodeNameOf(i)));
  };
  collect(score.name);
  const sideNames = [...side];
  const [H, W, C] = input.shape;
  const outShape = scoredShapeOf(scoredShape(model, score.name, input));
  const output = { name: score.output, shape: outShape, activation: score.activation, kind: outputKind(outShape, score.activation, score.output) };
  const numClasses = outShape[outShape.length - 1] ?? 1;

  let backwardStarted = false;
  const marked = onBackward(() => {
    backwardStarted = true;
  });
  const run = (feeds: tf.Tensor | tf.NamedTensorMap, names: string[]): tf.Tensor[] => {
    const outs = withExactAvgPoolGradient(() => model.execute(feeds, names));
    return Array.isArray(outs) ? outs : [outs];
  };
  // A sigmoid fused into the scored node: its logit, taken back (same gradient; p is kept off 0 and 1).
  // Read in the output's scored shape (leading 1s dropped, short rows flattened: outputs.ts).
  const scored = (raw: tf.Tensor): tf.Tensor => {
    const v = tf.reshape(raw, [raw.shape[0], ...outShape]);
    if (!score.fusedSigmoid) return v;
    const p = tf.clipByValue(v, 1e-7, 1 - 1e-7);
    return tf.sub(tf.log(p), tf.log1p(tf.neg(p)));
  };
  // The tokens left out of A's grid travel with the side values (last), and go back in front for the head.
  const trunkOf = (node: tf.Tensor, rest: tf.Tensor[]): TrunkValues => {
    const { grid, extra } = toGrid(node, layout);
    return { activations: grid, side: extra ? [...rest, extra] : rest };
  };
  const headFeeds = (t: TrunkValues): tf.NamedTensorMap => {
    const extra = t.side.length > sideNames.length ? t.side[sideNames.length] : undefined;
    return Object.fromEntries([[A, fromGrid(t.activations, extra, layout)], ...sideNames.map((n, i): [string, tf.Tensor] => [n, t.side[i]])]);
  };

  return {
    model,
    layerName: A,
    scoreSource: scoreSourceOf(output),
    output,
    outputNames: graphOutputNames(model).map((o) => o.key ?? o.node),
    inputShape: [H, W, C],
    layerShape: target.grid,
    numClasses,
    trunk(x) {
      backwardStarted = false;
      const [a, ...rest] = run(input.toModel(x), [A, ...sideNames]);
      return trunkOf(a, rest);
    },
    head(t) {
      return marked(scored(run(headFeeds(t), [score.name])[0]));
    },
    full(x, guided) {
      backwardStarted = false;
      const pass = (): tf.Tensor[] => run(input.toModel(x), [A, ...sideNames, score.name]);
      const [a, ...rest] = guided ? withGuidedActivations(pass) : pass();
      const scores = marked(scored(rest.pop() as tf.Tensor));
      return { trunk: trunkOf(a, rest), scores };
    },
    explainFailure(err, guided) {
      releaseFailedTape();
      if (!backwardStarted) return forwardFailure(err);
      const raw = err instanceof Error ? err.message : String(err);
      // A kernel the backend lacks (tfjs-wasm has no DepthwiseConv2dNativeBackpropFilter, which fused
      // depthwise convolutions ask for): another node will not help, another backend will.
      const missing = /Kernel '(\w+)' not registered for backend/.exec(raw);
      const nearer = `Fix: choose a node nearer the scores (options.layer / --layer). ${describeNodes(candidates)}`;
      const otherBackend = `Fix: use a backend that has ${missing?.[1]}: GRADCAM_BACKEND=cpu (slower) or GRADCAM_BACKEND=tensorflow (@tensorflow/tfjs-node); or a node past the last op that needs it (--layer). ${describeNodes(candidates)}`;
      return new GradientUnavailableError(
        `Cannot differentiate this graph model on the ${tf.getBackend()} backend: ${raw}. ` +
          (guided
            ? 'Guided backprop needs the gradient of every op from the input to the scores. Fix: explain without guided backprop (guided: false; the CLI then draws Grad-CAM alone)'
            : `Grad-CAM needs the gradient of every op between node '${A}' and the scores. ${missing ? otherBackend : nearer}`),
        undefined,
        err,
      );
    },
  };
}

/** The nodes of a graph model Grad-CAM can explain, best first (the default is the first). */
export function graphCandidates(model: tf.GraphModel, options: SplitOptions = {}): Candidate[] {
  return candidateNodes(model, graphInput(model, options.inputSize), options.output, options.tokens);
}

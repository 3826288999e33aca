/**
 * The split for a TF.js graph model (tf.loadGraphModel: the converter's output for SavedModels,
 * TF Hub models and Keras models converted to tfjs_graph_model). The trunk executes the graph
 * up to the target node; the head executes it again from that node (GraphModel.execute accepts
 * values for intermediate nodes) to the pre-softmax scores, and tf.grad differentiates that
 * execution. Nodes that skip over the target (residual branches) are fed to the head too.
 * Guided backprop swaps the ReLU and ReLU6 gradients for the guided rule for the length of one
 * synchronous pass (the graph runs tfjs's own ops, so there is no layer to put a gate after).
 */
import * as tf from '@tensorflow/tfjs';
import { withExactAvgPoolGradient } from './avg-pool-gradient';
import { GradientUnavailableError, onBackward, releaseFailedTape } from './gradient-check';
import { OutputActivation, outputKind } from './outputs';
import { scoreSourceOf } from './split-types';
import type { ModelSplit, SplitOptions, TrunkValues } from './split-types';

interface GraphNode {
  name: string;
  op: string;
  input?: string[];
}

interface GraphModelInternals {
  artifacts?: { modelTopology?: { node?: GraphNode[] } };
}

/** How many candidates an error message names. */
const NAMED_IN_ERRORS = 12;
const ACTIVATION_OPS = new Set(['Relu', 'Relu6']);

/** 'name:0' and '^name' (a control input) to 'name'. */
function nodeNameOf(input: string): string {
  return input.replace(/^\^/, '').replace(/:\d+$/, '');
}

function graphNodes(model: tf.GraphModel): Map<string, GraphNode> {
  const nodes = (model as unknown as GraphModelInternals).artifacts?.modelTopology?.node;
  if (!Array.isArray(nodes)) throw new Error('This GraphModel carries no graph (modelTopology.node); load it from its model.json with tf.loadGraphModel.');
  return new Map(nodes.map((n) => [n.name, n]));
}

interface SignatureOutputs {
  signature?: { outputs?: Record<string, { name?: string }> };
}

/** Each output's names: its graph node, and its signature key when the model.json has one. */
export function graphOutputNames(model: tf.GraphModel): { node: string; key?: string }[] {
  const keys = Object.entries((model as unknown as { artifacts?: SignatureOutputs }).artifacts?.signature?.outputs ?? {});
  return model.outputs.map((o) => {
    const node = nodeNameOf(o.name);
    const key = keys.find(([, v]) => v.name !== undefined && nodeNameOf(v.name) === node)?.[0];
    return { node, key };
  });
}

/** The node whose value is scored, and the final softmax or sigmoid skipped to reach it. */
function scoreNode(model: tf.GraphModel, nodes: Map<string, GraphNode>, wanted?: string): { name: string; output: string; activation: OutputActivation } {
  const outputs = graphOutputNames(model);
  const chosen = wanted === undefined ? outputs[0] : outputs.find((o) => o.key === wanted || o.node === nodeNameOf(wanted));
  if (!chosen) {
    const listed = outputs.map((o) => `'${o.key ?? o.node}'`).join(', ');
    throw new Error(`This graph model has no output '${wanted}'; its outputs are ${listed}. Pass one of them as options.output (--output).`);
  }
  let name = chosen.node;
  // Identity / IdentityN nodes the converter puts in front of the output.
  for (let node = nodes.get(name); node && /^Identity/.test(node.op) && node.input?.length; node = nodes.get(name)) name = nodeNameOf(node.input[0]);
  const node = nodes.get(name);
  const output = chosen.key ?? chosen.node;
  if (node?.op === 'Softmax' && node.input?.length) return { name: nodeNameOf(node.input[0]), output, activation: 'softmax' };
  if (node?.op === 'Sigmoid' && node.input?.length) return { name: nodeNameOf(node.input[0]), output, activation: 'sigmoid' };
  return { name, output, activation: 'linear' };
}

/** Every non-constant node the scores depend on, each with its depth (longest path from an input). */
function upstreamDepths(nodes: Map<string, GraphNode>, from: string): Map<string, number> {
  const depth = new Map<string, number>();
  const visit = (name: string): number => {
    const known = depth.get(name);
    if (known !== undefined) return known;
    const node = nodes.get(name);
    if (!node || node.op === 'Const') return -1;
    depth.set(name, 0); // (a graph model has no cycles without control flow; this guards anyway)
    const d = node.op === 'Placeholder' ? 0 : 1 + Math.max(0, ...(node.input ?? []).map((i) => visit(nodeNameOf(i))));
    depth.set(name, d);
    return d;
  };
  visit(from);
  return depth;
}

interface Candidate {
  name: string;
  shape: number[];
  depth: number;
}

/**
 * Nodes Grad-CAM can explain, best first: 4-D outputs [N,h,w,K] with h*w > 1 that the scores
 * depend on, deepest first (then the 1x1 ones). Shapes come from one execution on a blank image.
 */
export function candidateNodes(model: tf.GraphModel, output?: string): Candidate[] {
  // Shapes need one execution of the whole graph: once per model and output, not once per explanation.
  let byOutput = candidatesOf.get(model);
  if (!byOutput) candidatesOf.set(model, (byOutput = new Map()));
  let known = byOutput.get(output ?? '');
  if (!known) {
    known = rankNodes(model, output);
    byOutput.set(output ?? '', known);
  }
  return known;
}

const candidatesOf = new WeakMap<tf.GraphModel, Map<string, Candidate[]>>();

/** Ops that only pass a value on: a map right before the scored node through them is the output itself. */
const PASS_THROUGH_OPS = new Set(['Reshape', 'Identity', 'Transpose', 'Squeeze', 'ExpandDims']);

function rankNodes(model: tf.GraphModel, output?: string): Candidate[] {
  const nodes = graphNodes(model);
  const score = scoreNode(model, nodes, output);
  const depths = upstreamDepths(nodes, score.name);
  const own = new Set<string>();
  for (let name: string | undefined = score.name; name; ) {
    own.add(name);
    const node = nodes.get(name);
    name = node && PASS_THROUGH_OPS.has(node.op) && node.input?.length ? nodeNameOf(node.input[0]) : undefined;
  }
  const names = [...depths.keys()].filter((n) => nodes.get(n)?.op !== 'Placeholder' && !own.has(n));
  const shapes = tf.tidy(() => {
    const input = model.inputs[0];
    const shape = (input.shape ?? []).map((d, i) => (i === 0 || d === -1 || d === null ? 1 : d));
    const outs = model.execute(tf.zeros(shape), names);
    return (Array.isArray(outs) ? outs : [outs]).map((t) => t.shape);
  });
  const maps = names
    .map((name, i) => ({ name, shape: shapes[i], depth: depths.get(name) ?? 0 }))
    .filter((c) => c.shape.length === 4)
    .sort((a, b) => b.depth - a.depth);
  const extent = (c: Candidate): number => (c.shape[1] ?? 1) * (c.shape[2] ?? 1);
  return [...maps.filter((c) => extent(c) > 1), ...maps.filter((c) => extent(c) <= 1)];
}

function describeNodes(candidates: Candidate[]): string {
  if (!candidates.length) return 'The graph has no node with a 4-D output that feeds the scores.';
  const named = candidates.slice(0, NAMED_IN_ERRORS).map((c) => `'${c.name}' [${c.shape.slice(1).join('x')}]`);
  const more = candidates.length > NAMED_IN_ERRORS ? ` and ${candidates.length - NAMED_IN_ERRORS} more` : '';
  return `Candidate nodes (4-D outputs that feed the scores, h*w > 1 first, best first): ${named.join(', ')}${more}.`;
}

const outputShapes = new WeakMap<tf.GraphModel, Map<string, number[]>>();

/** The scored node's shape without the batch, from one execution (a model.json may carry no signature). */
function scoredShape(model: tf.GraphModel, scoreName: string, [H, W, C]: number[]): number[] {
  let known = outputShapes.get(model);
  if (!known) outputShapes.set(model, (known = new Map()));
  let shape = known.get(scoreName);
  if (!shape) {
    shape = tf.tidy(() => (model.execute(tf.zeros([1, H, W, C]), scoreName) as tf.Tensor).shape.slice(1));
    known.set(scoreName, shape);
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
  if (model.inputs.length !== 1) throw new Error(`This graph model has ${model.inputs.length} inputs; Grad-CAM here supports single-input image models.`);
  const inputShape = model.inputs[0].shape ?? [];
  if (inputShape.length !== 4 || inputShape.slice(1).some((d) => d === -1 || d == null)) {
    throw new Error(`This graph model takes input of shape ${JSON.stringify(inputShape)}; expected images [N,H,W,C] with fixed H, W and C.`);
  }
  const nodes = graphNodes(model);
  const score = scoreNode(model, nodes, options.output);
  const candidates = candidateNodes(model, options.output);
  let target: Candidate | undefined;
  if (nodeName === undefined) {
    target = candidates[0];
    if (!target) throw new Error(`This graph model has no node with a 4-D output [N,h,w,K] that feeds its scores; Grad-CAM needs a feature map.`);
  } else {
    target = candidates.find((c) => c.name === nodeName || c.name === nodeNameOf(nodeName));
    if (!target) {
      const why = nodes.has(nodeNameOf(nodeName)) ? 'is not a 4-D feature map that feeds the scores' : 'is not a node of this graph';
      throw new Error(`Node '${nodeName}' ${why}. ${describeNodes(candidates)}`);
    }
  }
  const A = target.name;
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
  const [, H, W, C] = inputShape as number[];
  const [, h, w, K] = target.shape;
  const outShape = scoredShape(model, score.name, [H, W, C]);
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
  const headFeeds = (t: TrunkValues): tf.NamedTensorMap => Object.fromEntries([[A, t.activations], ...sideNames.map((n, i): [string, tf.Tensor] => [n, t.side[i]])]);

  return {
    model,
    layerName: A,
    scoreSource: scoreSourceOf(output),
    output,
    outputNames: graphOutputNames(model).map((o) => o.key ?? o.node),
    inputShape: [H, W, C],
    layerShape: [h, w, K],
    numClasses,
    trunk(x) {
      backwardStarted = false;
      const [a, ...rest] = run(x, [A, ...sideNames]);
      return { activations: a as tf.Tensor4D, side: rest };
    },
    head(t) {
      return marked(run(headFeeds(t), [score.name])[0]);
    },
    full(x, guided) {
      backwardStarted = false;
      const pass = (): tf.Tensor[] => run(x, [A, ...sideNames, score.name]);
      const [a, ...rest] = guided ? withGuidedActivations(pass) : pass();
      const scores = marked(rest.pop() as tf.Tensor);
      return { trunk: { activations: a as tf.Tensor4D, side: rest }, scores };
    },
    explainFailure(err, guided) {
      releaseFailedTape();
      if (!backwardStarted) return err instanceof Error ? err : new Error(String(err));
      const raw = err instanceof Error ? err.message : String(err);
      return new GradientUnavailableError(
        `Cannot differentiate this graph model on the ${tf.getBackend()} backend: ${raw}. ` +
          (guided
            ? 'Guided backprop needs the gradient of every op from the input to the scores. Fix: explain without guided backprop (guided: false; the CLI then draws Grad-CAM alone)'
            : `Grad-CAM needs the gradient of every op between node '${A}' and the scores. Fix: choose a node nearer the scores (options.layer / --layer). ${describeNodes(candidates)}`),
        undefined,
        err,
      );
    },
  };
}

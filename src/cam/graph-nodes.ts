/**
 * Reading a TF.js graph model's graph: its nodes, its outputs by node and signature key, the node
 * that is scored (a final Softmax or Sigmoid skipped), and how deep each node lies.
 */
import * as tf from '@tensorflow/tfjs';
import type { OutputActivation } from './outputs';

export interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: { fused_ops?: { list?: { s?: string[] } } };
}

/** The activations a fused node (_FusedMatMul, _FusedConv2D...) applies, decoded from its attr. */
export function fusedOps(node: GraphNode | undefined): string[] {
  return (node?.attr?.fused_ops?.list?.s ?? []).map((s) => atob(s)); // (atob, not Buffer: the engine bundles for browsers)
}

export interface GraphModelInternals {
  artifacts?: { modelTopology?: { node?: GraphNode[] } };
}

/** 'name:0' and '^name' (a control input) to 'name'. */
export function nodeNameOf(input: string): string {
  return input.replace(/^\^/, '').replace(/:\d+$/, '');
}

export function graphNodes(model: tf.GraphModel): Map<string, GraphNode> {
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
/**
 * The scored node. `fusedSigmoid`: the sigmoid is fused into the node itself (TensorFlow's grappler
 * folds it into a _FusedMatMul or _FusedConv2D), so there is no node before it to read; the split
 * takes the logit back from the probability, log(p) - log(1 - p), which has the same gradient.
 */
export function scoreNode(model: tf.GraphModel, nodes: Map<string, GraphNode>, wanted?: string): { name: string; output: string; activation: OutputActivation; fusedSigmoid?: boolean } {
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
  if (fusedOps(node).includes('Sigmoid')) return { name, output, activation: 'sigmoid', fusedSigmoid: true };
  return { name, output, activation: 'linear' };
}

/** Every non-constant node the scores depend on, each with its depth (longest path from an input). */
export function upstreamDepths(nodes: Map<string, GraphNode>, from: string): Map<string, number> {
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


/** Ops tfjs runs only in executeAsync (control flow, data-dependent shapes): they cannot be differentiated. */
const DYNAMIC_OPS = /^(Switch|Merge|Enter|Exit|NextIteration|LoopCond|StatelessIf|If|StatelessWhile|While|NonMaxSuppressionV\d|Where|TensorArray\w*|TensorList\w*)$/;

/** The first node between the inputs and `from` that tfjs can run only asynchronously, if any. */
function dynamicNodeBefore(nodes: Map<string, GraphNode>, from: string): GraphNode | undefined {
  for (const name of upstreamDepths(nodes, from).keys()) {
    const node = nodes.get(name);
    if (node && DYNAMIC_OPS.test(node.op)) return node;
  }
  return undefined;
}

/**
 * Refuses an output computed through control flow or non-max suppression (a detector's post-NMS
 * boxes, a model that maps a while loop over its batch): tfjs runs those only asynchronously and
 * has no gradient for them. Names the op and the outputs that avoid it, if any.
 */
export function checkDifferentiablePath(model: tf.GraphModel, nodes: Map<string, GraphNode>, score: { name: string; output: string }): void {
  const dynamic = dynamicNodeBefore(nodes, score.name);
  if (!dynamic) return;
  const others = graphOutputNames(model).filter((o) => (o.key ?? o.node) !== score.output && !dynamicNodeBefore(nodes, o.node)).map((o) => `'${o.key ?? o.node}'`);
  throw new Error(
    `Output '${score.output}' is computed through node '${dynamic.name}' (${dynamic.op}), control flow or non-max suppression that TensorFlow.js runs only asynchronously and cannot differentiate, so Grad-CAM cannot explain it. ` +
      (others.length
        ? `Explain an output computed before it instead: --output (options.output) ${others.join(', ')}.`
        : 'No output of this model avoids such ops; export the model with its raw outputs (before non-max suppression and without a loop over the batch).'),
  );
}

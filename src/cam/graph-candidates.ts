/**
 * The nodes of a graph model Grad-CAM can explain, best first: spatial maps (channels last or
 * first) and token sequences on a square grid that the scored output depends on, deepest first,
 * those with h*w > 1 before the 1x1 ones. A token sequence counts only before some attention
 * (a BatchMatMul or Einsum) on its way to the output: after the last one, only the class token
 * reaches the head, so the other tokens' gradients are zero. Shapes come from one execution on a
 * blank image, once per model, output and input size.
 */
import * as tf from '@tensorflow/tfjs';
import { forwardFailure } from './gradient-check';
import type { GraphInput } from './graph-input';
import { checkDifferentiablePath, graphNodes, GraphNode, nodeNameOf, scoreNode, upstreamDepths } from './graph-nodes';
import { gridShape, layoutOf, NodeLayout, TokenGrid } from './node-layout';

export interface Candidate {
  name: string;
  /** The node's value shape, batch first, as the graph has it. */
  shape: number[];
  layout: NodeLayout;
  /** [h, w, K] of A read from it. */
  grid: [number, number, number];
  depth: number;
}

/** How many candidates an error message names. */
const NAMED_IN_ERRORS = 12;
/** Ops that only pass a value on: a map right before the scored node through them is the output itself. */
const PASS_THROUGH_OPS = new Set(['Reshape', 'Identity', 'Transpose', 'Squeeze', 'ExpandDims']);
/** Ops whose 4-D output is a rearranged value, never a feature map to explain. */
const RESHAPING_OPS = new Set(['Reshape', 'Transpose']);
/** Ops that mix tokens (attention). */
const TOKEN_MIXING_OPS = new Set(['BatchMatMul', 'BatchMatMulV2', 'BatchMatMulV3', 'Einsum']);

const candidatesOf = new WeakMap<tf.GraphModel, Map<string, Candidate[]>>();

export function candidateNodes(model: tf.GraphModel, input: GraphInput, output?: string, tokens?: TokenGrid): Candidate[] {
  let byKey = candidatesOf.get(model);
  if (!byKey) candidatesOf.set(model, (byKey = new Map()));
  const key = JSON.stringify([output ?? '', input.shape, tokens ?? {}]);
  let known = byKey.get(key);
  if (!known) {
    known = rankNodes(model, input, output, tokens);
    byKey.set(key, known);
  }
  return known;
}

/** Every node from which a token-mixing op is reachable. */
function beforeMixing(nodes: Map<string, GraphNode>): Set<string> {
  const out = new Set<string>();
  const visit = (name: string): void => {
    if (out.has(name)) return;
    out.add(name);
    for (const i of nodes.get(name)?.input ?? []) visit(nodeNameOf(i));
  };
  for (const node of nodes.values()) if (TOKEN_MIXING_OPS.has(node.op)) for (const i of node.input ?? []) visit(nodeNameOf(i));
  return out;
}

function rankNodes(model: tf.GraphModel, input: GraphInput, output: string | undefined, tokens: TokenGrid | undefined): Candidate[] {
  const nodes = graphNodes(model);
  const score = scoreNode(model, nodes, output);
  checkDifferentiablePath(model, nodes, score);
  const depths = upstreamDepths(nodes, score.name);
  const own = new Set<string>();
  for (let name: string | undefined = score.name; name; ) {
    own.add(name);
    const node = nodes.get(name);
    name = node && PASS_THROUGH_OPS.has(node.op) && node.input?.length ? nodeNameOf(node.input[0]) : undefined;
  }
  const names = [...depths.keys()].filter((n) => nodes.get(n)?.op !== 'Placeholder' && !own.has(n));
  let shapes: number[][];
  try {
    shapes = tf.tidy(() => {
      const outs = model.execute(input.toModel(tf.zeros([1, ...input.shape])), names);
      return (Array.isArray(outs) ? outs : [outs]).map((t) => t.shape);
    });
  } catch (err) {
    throw forwardFailure(err);
  }
  const mixing = beforeMixing(nodes);
  // How many of a node's consumers lead to attention: a block's normalised input feeds three (q, k, v).
  const toMixing = new Map<string, number>();
  for (const node of nodes.values()) {
    if (!mixing.has(node.name)) continue;
    for (const i of node.input ?? []) toMixing.set(nodeNameOf(i), (toMixing.get(nodeNameOf(i)) ?? 0) + 1);
  }
  const found: Candidate[] = [];
  names.forEach((name, i) => {
    const shape = shapes[i];
    const layout = layoutOf(shape, tokens);
    if (!layout) return;
    // A reshaped or transposed 4-D value is an attention internal or a layout change, not a feature map.
    if (layout.kind === 'channels-last' && RESHAPING_OPS.has(nodes.get(name)?.op ?? '')) return;
    if (layout.kind === 'tokens' && !mixing.has(name)) return;
    found.push({ name, shape, layout, grid: gridShape(shape, layout), depth: depths.get(name) ?? 0 });
  });
  // A transformer's best token grid is a block's input to attention (pytorch-grad-cam's blocks[-1].norm1):
  // token grids feeding three attention branches first, then other token grids, then maps; deepest first.
  const rank = (c: Candidate): number => (c.layout.kind !== 'tokens' ? 2 : (toMixing.get(c.name) ?? 0) >= 3 ? 0 : 1);
  found.sort((a, b) => rank(a) - rank(b) || b.depth - a.depth);
  const extent = (c: Candidate): number => c.grid[0] * c.grid[1];
  return [...found.filter((c) => extent(c) > 1), ...found.filter((c) => extent(c) <= 1)];
}

export function describeNodes(candidates: Candidate[]): string {
  if (!candidates.length) return 'The graph has no spatial map or token sequence that feeds the output.';
  const named = candidates.slice(0, NAMED_IN_ERRORS).map((c) => `'${c.name}' [${c.grid.join('x')}${c.layout.kind === 'tokens' ? ' tokens' : ''}]`);
  const more = candidates.length > NAMED_IN_ERRORS ? ` and ${candidates.length - NAMED_IN_ERRORS} more` : '';
  return `Candidate nodes (maps and token grids that feed the output, h*w > 1 first, best first): ${named.join(', ')}${more}.`;
}

/**
 * Which layer of a LayersModel to explain. The default is the last layer whose output is a
 * feature map with spatial extent (h*w > 1) on the path to the class scores: the pooled and
 * flattened outputs after it (a GlobalAveragePooling, or an AveragePooling2D down to 1x1) give a
 * Grad-CAM map of one flat colour, and a layer off the path to the scores has no gradient. Only
 * a model whose every feature map is 1x1 falls back to one of those.
 */
import * as tf from '@tensorflow/tfjs';
import type { Layer, SymbolicTensor } from './graph';
import { layoutOf, TokenGrid } from './node-layout';

/** How many candidates an error message names before summarising the rest. */
const NAMED_IN_ERRORS = 12;

function shapeOf(layer: Layer): (number | null)[] | undefined {
  const shape = layer.outputShape;
  if (Array.isArray(shape[0])) return undefined; // a multi-output layer
  return shape as (number | null)[];
}

/**
 * Each layer on the path to the scores with the symbolic tensors it yields there. A nested model
 * has a node of its own inside plus one per use outside, so its outputs are read from the graph
 * walk, not from `layer.output`.
 */
function outputsFeedingScores(model: tf.LayersModel, scored: SymbolicTensor = model.outputs[0]): Map<Layer, SymbolicTensor[]> {
  const found = new Map<Layer, SymbolicTensor[]>();
  const seen = new Set<number>();
  const walk = (st: SymbolicTensor): void => {
    if (seen.has(st.id)) return;
    seen.add(st.id);
    const list = found.get(st.sourceLayer) ?? [];
    list.push(st);
    found.set(st.sourceLayer, list);
    st.inputs.forEach(walk);
  };
  walk(scored);
  return found;
}

/** Layers that only pass their input on (reshaped or activated): the map before them is the output's own. */
const PASS_THROUGH = new Set(['Activation', 'Softmax', 'Reshape', 'Permute', 'ReLU']);

/**
 * The layer that makes the scored output, and the layers just before it up to the first one that
 * is more than a reshape or an activation: a map there is the output itself (a segmentation
 * map, a detector's raw grid), which explains nothing, so the default looks further back.
 */
function outputLayers(scored: SymbolicTensor): Set<Layer> {
  const out = new Set<Layer>();
  for (let st: SymbolicTensor | undefined = scored; st; ) {
    out.add(st.sourceLayer);
    st = PASS_THROUGH.has(st.sourceLayer.getClassName()) && st.inputs.length === 1 ? st.inputs[0] : undefined;
  }
  return out;
}

/** h*w of a feature map (unknown sizes are taken as spatial). */
function extent(st: SymbolicTensor): number {
  const [, h, w] = st.shape;
  return (h ?? 2) * (w ?? 2);
}

/** A 4-D [N,h,w,K] output, whatever its spatial size. */
function isFeatureMap(layer: Layer): boolean {
  if (layer.getClassName() === 'InputLayer') return false;
  try {
    return shapeOf(layer)?.length === 4;
  } catch {
    return false; // a layer used with several shapes
  }
}

/**
 * Target layers with the one output each yields on the path to the scores, best first: feature
 * maps with h*w > 1, latest in the graph first, then (only useful when nothing else is there)
 * the 1x1 maps, latest first.
 */
export function candidateTargets(model: tf.LayersModel, scored: SymbolicTensor = model.outputs[0]): { layer: Layer; output: SymbolicTensor }[] {
  const feeding = outputsFeedingScores(model, scored);
  const own = outputLayers(scored);
  const maps = model.layers
    .filter((l) => l.getClassName() !== 'InputLayer' && !own.has(l))
    .map((layer) => ({ layer, outputs: feeding.get(layer) ?? [] }))
    // Layers applied more than once (shared weights) are left out: their output is ambiguous.
    .filter(({ outputs }) => outputs.length === 1 && outputs[0].shape.length === 4)
    .map(({ layer, outputs }) => ({ layer, output: outputs[0] }))
    .reverse();
  return [...maps.filter((m) => extent(m.output) > 1), ...maps.filter((m) => extent(m.output) <= 1)];
}

/**
 * The layers Grad-CAM can explain, best first (the default target is the first): feature maps
 * that feed the class scores, those with h*w > 1 before the 1x1 ones, each group latest first.
 */
export function candidateLayers(model: tf.LayersModel, scored?: SymbolicTensor): Layer[] {
  return candidateTargets(model, scored).map((c) => c.layer);
}

/** "Candidate layers (best first): 'a' [7x7x1280], 'b' ..." for error messages. */
export function describeCandidates(model: tf.LayersModel, scored?: SymbolicTensor): string {
  const candidates = candidateTargets(model, scored);
  if (!candidates.length) return 'The model has no layer with a 4-D output that feeds its output.';
  const named = candidates.slice(0, NAMED_IN_ERRORS).map(({ layer, output }) => {
    const [, h, w, k] = output.shape;
    return `'${layer.name}' [${h}x${w}x${k}]`;
  });
  const more = candidates.length > NAMED_IN_ERRORS ? ` and ${candidates.length - NAMED_IN_ERRORS} more` : '';
  return `Candidate layers (4-D outputs that feed the scores, h*w > 1 before 1x1, best first): ${named.join(', ')}${more}.`;
}

/**
 * The named layer, or the default (the first candidate), with its output on the path to the
 * scores (undefined for a named layer off that path); errors list the candidates.
 */
export function resolveTarget(model: tf.LayersModel, name?: string, scored?: SymbolicTensor, tokens?: TokenGrid): { layer: Layer; output?: SymbolicTensor } {
  if (name === undefined) {
    const [best] = candidateTargets(model, scored);
    if (best) return best;
    // A transformer without a conv map on the path: its latest token sequence [N,T,D] that lies on a grid.
    const seq = tokenLayers(model, scored, tokens)[0];
    if (seq) return seq;
    throw new Error(
      `Model '${model.name}' has no convolutional layer (no layer with a 4-D output [N,h,w,K]) on the path to its output; ` +
        'Grad-CAM needs a feature map to explain. Layers: ' +
        model.layers.map((l) => `'${l.name}' (${l.getClassName()})`).join(', ') + '.',
    );
  }
  const layer = model.layers.find((l) => l.name === name);
  if (!layer) throw new Error(`Model '${model.name}' has no layer named '${name}'. ${describeCandidates(model, scored)}`);
  const outputs = outputsFeedingScores(model, scored).get(layer) ?? [];
  const shape = outputs.length === 1 ? outputs[0].shape : isFeatureMap(layer) ? shapeOf(layer) : undefined;
  if (shape?.length === 3 && outputs.length === 1 && tokenLayout(outputs[0], tokens)) return { layer, output: outputs[0] };
  if (shape?.length !== 4) {
    const seq = shape?.length === 3
      ? ` A token sequence [N,T,D] is read on a grid when T is a square plus up to 4 extra tokens; otherwise give its grid as options.tokens ({ extra, height, width }).`
      : '';
    throw new Error(
      `Layer '${name}' outputs shape ${JSON.stringify(shape ?? layer.outputShape)}, not a 4-D feature map [N,h,w,K].${seq} ${describeCandidates(model, scored)}`,
    );
  }
  return outputs.length === 1 ? { layer, output: outputs[0] } : { layer };
}

/** How a 3-D output [N,T,D] lies on a grid, if it does (a square count after up to 4 extra tokens, or `tokens`). */
export function tokenLayout(st: SymbolicTensor, tokens?: TokenGrid): ReturnType<typeof layoutOf> {
  if (st.shape.length !== 3 || st.shape.slice(1).some((d) => d == null)) return undefined;
  const layout = layoutOf(st.shape as number[], tokens);
  return layout?.kind === 'tokens' ? layout : undefined;
}

/** Layers yielding a token sequence on a grid on the path to the scores, latest first (not the output's own). */
function tokenLayers(model: tf.LayersModel, scored: SymbolicTensor = model.outputs[0], tokens?: TokenGrid): { layer: Layer; output: SymbolicTensor }[] {
  const feeding = outputsFeedingScores(model, scored);
  const own = outputLayers(scored);
  return model.layers
    .filter((l) => !own.has(l) && feeding.get(l)?.length === 1 && tokenLayout((feeding.get(l) as SymbolicTensor[])[0], tokens))
    .map((layer) => ({ layer, output: (feeding.get(layer) as SymbolicTensor[])[0] }))
    .reverse();
}

/** The named layer, or the default target layer (see resolveTarget). */
export function resolveLayer(model: tf.LayersModel, name?: string): Layer {
  return resolveTarget(model, name).layer;
}

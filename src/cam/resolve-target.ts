/**
 * A Target resolved against one image's output (before its activation): the class 'predicted'
 * becomes the argmax, a segmentation's default mask the pixels where its class wins, the best
 * detection its anchor, an embedding's default concept the image's own. The result scores the
 * row (row-targets.ts); what it says in captions and where its "probability" comes from live here.
 */
import * as tf from '@tensorflow/tfjs';
import { argmax } from '../shared/arrays';
import type { OutputInfo } from './outputs';
import { KIND_DESCRIPTIONS } from './outputs';
import type { RowTarget } from './row-targets';
import type { BoxCorners, ClassRef, Target } from './target-values';
import { classIndex, TargetContext } from './class-index';

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

function softmaxAt(values: Float32Array, c: number): number {
  let max = -Infinity;
  for (const v of values) max = Math.max(max, v);
  let sum = 0;
  for (const v of values) sum += Math.exp(v - max);
  return Math.exp(values[c] - max) / sum;
}

/** The default target of an output kind for class c (or its prediction). */
export function defaultTarget(output: OutputInfo, c: number | 'predicted'): Target {
  switch (output.kind) {
    case 'classes': return { kind: 'class-logit', class: c };
    case 'labels': return { kind: 'sigmoid-label', label: c, negative: false };
    case 'regression': return { kind: 'regression', index: c === 'predicted' ? 0 : c, direction: 'raise' };
    case 'map': return { kind: 'segmentation', class: c };
    case 'detections': return { kind: 'detection', anchor: 'best', class: c === 'predicted' ? 'best' : c };
    case 'embedding': return { kind: 'embedding' };
  }
}

/** The output ranks each target kind scores: vectors, maps or detection lists. */
const RANK_OF: Readonly<Record<Target['kind'], number>> = {
  'class-logit': 1, 'class-probability': 1, 'sigmoid-label': 1, regression: 1, embedding: 1, segmentation: 3, detection: 2,
};

function nameOf(c: number, ctx: TargetContext): string {
  return ctx.classNames?.[c] ?? `class ${c}`;
}

function classOf(ref: ClassRef | 'predicted', n: number, ctx: TargetContext, predicted: () => number): number {
  const c = classIndex(ref, n, ctx.classNames);
  return c === 'predicted' ? predicted() : c;
}

export function resolveTarget(target: Target, out: Float32Array, ctx: TargetContext): RowTarget {
  const { output } = ctx;
  if (RANK_OF[target.kind] !== output.shape.length) {
    throw new Error(
      `A ${target.kind} target cannot score output '${output.name}' of shape [N,${output.shape.join(',')}] (${KIND_DESCRIPTIONS[output.kind]}); ` +
        `${target.kind} targets score outputs of rank ${RANK_OF[target.kind] + 1}. Choose the output it belongs to (options.output / --output) or a target for ${KIND_DESCRIPTIONS[output.kind]}.`,
    );
  }
  const D = out.length;
  switch (target.kind) {
    case 'class-logit': {
      const c = classOf(target.class, D, ctx, () => argmax(out));
      const probability = output.activation === 'sigmoid' ? sigmoid(out[c]) : softmaxAt(out, c);
      return { classIndex: c, label: nameOf(c, ctx), probability, element: { index: c, sign: 1 }, resolved: { ...target, class: c } };
    }
    case 'class-probability': {
      const c = classOf(target.class, D, ctx, () => argmax(out));
      const score = (o: tf.Tensor): tf.Tensor1D => tf.reshape(tf.slice(tf.softmax(tf.reshape(o, [o.shape[0], D]) as tf.Tensor2D), [0, c], [-1, 1]), [-1]) as tf.Tensor1D;
      return { classIndex: c, label: `p(${nameOf(c, ctx)})`, probability: softmaxAt(out, c), score, resolved: { ...target, class: c } };
    }
    case 'sigmoid-label': {
      const c = classOf(target.label, D, ctx, () => argmax(out));
      const p = sigmoid(out[c]);
      return { classIndex: c, label: target.negative ? `${nameOf(c, ctx)} (against)` : nameOf(c, ctx), probability: target.negative ? 1 - p : p, element: { index: c, sign: target.negative ? -1 : 1 }, resolved: { ...target, label: c } };
    }
    case 'regression': {
      if (!Number.isInteger(target.index) || target.index < 0 || target.index >= D) {
        throw new RangeError(`Regression value ${target.index} is out of range: output '${output.name}' has ${D} value${D === 1 ? '' : 's'} (0..${D - 1}).`);
      }
      const v = output.activation === 'sigmoid' ? sigmoid(out[target.index]) : out[target.index];
      const what = D === 1 ? output.name : `${output.name}[${target.index}]`;
      const lower = target.direction === 'lower';
      return { classIndex: -1, label: `${what} = ${v.toPrecision(4)} (what ${lower ? 'lowers' : 'raises'} it)`, probability: v, element: { index: target.index, sign: lower ? -1 : 1 }, resolved: target };
    }
    case 'segmentation':
      return segmentationRow(target, out, ctx);
    case 'detection':
      return detectionRow(target, out, ctx);
    case 'embedding':
      return embeddingRow(target, out, ctx);
  }
}

/** The class winning each pixel of an [H,W,C] output. */
function pixelClasses(out: Float32Array, C: number): Int32Array {
  return Int32Array.from({ length: out.length / C }, (_, p) => argmax(out, p * C, C));
}

function segmentationRow(target: Extract<Target, { kind: 'segmentation' }>, out: Float32Array, ctx: TargetContext): RowTarget {
  const [H, W, C] = ctx.output.shape;
  const winners = pixelClasses(out, C);
  // The default class: the one covering most pixels, leaving class 0 (background) to images with nothing else.
  const c = classOf(target.class, C, ctx, () => {
    const area = new Int32Array(C);
    winners.forEach((w) => area[w]++);
    const foreground = C > 1 && area.some((a, k) => k > 0 && a > 0);
    return foreground ? 1 + argmax(area, 1, C - 1) : argmax(area);
  });
  let mask: Float32Array;
  if (target.mask !== undefined) {
    if (target.mask.length !== H * W) throw new Error(`A segmentation mask needs ${H}x${W} = ${H * W} values (the output's pixels), got ${target.mask.length}.`);
    mask = Float32Array.from(target.mask);
  } else {
    mask = Float32Array.from(winners, (w) => (w === c ? 1 : 0));
  }
  const pixels = mask.reduce((a, b) => a + (b !== 0 ? 1 : 0), 0);
  // What stands for a probability: class c's mean probability over the mask (a sigmoid for one
  // channel, else a softmax over the channels, the model's own activation or not), so covering part
  // of the object shows as a drop while the mask stays the same.
  const probOf = (p: number): number => (C === 1 || ctx.output.activation === 'sigmoid' ? sigmoid(out[p * C + c]) : softmaxAt(out.subarray(p * C, (p + 1) * C), c));
  let weighted = 0;
  let weight = 0;
  mask.forEach((m, p) => {
    if (m !== 0) [weighted, weight] = [weighted + Math.abs(m) * probOf(p), weight + Math.abs(m)];
  });
  const maskTensor = (): tf.Tensor => tf.tensor2d(mask, [1, H * W]);
  const score = (o: tf.Tensor): tf.Tensor1D => {
    const n = o.shape[0];
    const plane = tf.reshape(tf.slice(o, [0, 0, 0, c], [n, H, W, 1]), [n, H * W]);
    return tf.sum(tf.mul(plane, maskTensor()), 1) as tf.Tensor1D;
  };
  return { classIndex: c, label: `${nameOf(c, ctx)} over ${pixels} px`, probability: weight > 0 ? weighted / weight : 0, score, region: { mask: { data: mask, height: H, width: W } }, resolved: { ...target, class: c, mask } };
}

function detectionRow(target: Extract<Target, { kind: 'detection' }>, out: Float32Array, ctx: TargetContext): RowTarget {
  const [A, F] = ctx.output.shape;
  const layout = target.layout ?? {};
  const boxAt = layout.box ?? 0;
  const first = layout.classes ?? (layout.objectness !== undefined ? 5 : 4);
  const numClasses = F - first;
  if (numClasses < 1 || boxAt + 4 > F) {
    throw new Error(`Output '${ctx.output.name}' rows have ${F} values; a detection layout needs 4 box values and at least one class score (layout ${JSON.stringify(layout)}). Pass targets.detection({ layout: { box, objectness, classes } }).`);
  }
  const detScore = (a: number, k: number): number => out[a * F + first + k] + (layout.objectness !== undefined ? out[a * F + layout.objectness] : 0);
  let a: number;
  let k: number;
  if (target.anchor === 'best') {
    const fixed = target.class === 'best' ? undefined : classOf(target.class, numClasses, ctx, () => 0);
    // With a box, the detection the box refers to: the highest probability x IoU with it (as
    // pytorch-grad-cam matches a box before scoring it); without, the highest raw score.
    const given = target.box;
    const rank = (i: number, j: number): number => {
      if (!given) return detScore(i, j);
      const overlap = cornerIou(Array.from(out.subarray(i * F + boxAt, i * F + boxAt + 4)) as unknown as BoxCorners, given);
      return overlap > 0 ? sigmoid(detScore(i, j)) * overlap : -Infinity;
    };
    let best = -Infinity;
    a = -1;
    k = fixed ?? 0;
    for (let i = 0; i < A; i++) {
      for (let j = fixed ?? 0; j < (fixed ?? numClasses - 1) + 1; j++) {
        const r = rank(i, j);
        if (r > best) [best, a, k] = [r, i, j];
      }
    }
    if (a < 0) {
      throw new Error(`No raw detection of output '${ctx.output.name}' overlaps the box [${(given ?? []).join(', ')}] (${A} anchors). Give the box in the detector's own coordinates, or an anchor: targets.detection({ anchor, box }).`);
    }
  } else {
    a = target.anchor;
    if (!Number.isInteger(a) || a < 0 || a >= A) throw new RangeError(`Detection ${a} is out of range: output '${ctx.output.name}' has ${A} anchors (0..${A - 1}).`);
    k = target.class === 'best' ? argmax(out, a * F + first, numClasses) : classOf(target.class, numClasses, ctx, () => 0);
  }
  const box = Array.from(out.subarray(a * F + boxAt, a * F + boxAt + 4), (v) => Math.round(v * 100) / 100);
  const probability = sigmoid(out[a * F + first + k]) * (layout.objectness !== undefined ? sigmoid(out[a * F + layout.objectness]) : 1);
  const label = `box ${a}: ${nameOf(k, ctx)} [${box.join(', ')}]`;
  const index = a * F + first + k;
  const region = { box: Array.from(out.subarray(a * F + boxAt, a * F + boxAt + 4)) as [number, number, number, number] };
  const resolved: Target = { ...target, anchor: a, class: k };
  if (!target.box && layout.objectness === undefined) return { classIndex: k, label, probability, element: { index, sign: 1 }, region, resolved };
  const given = target.box;
  const score = (o: tf.Tensor): tf.Tensor1D => {
    const n = o.shape[0];
    const row = tf.reshape(tf.slice(o, [0, a, 0], [n, 1, F]), [n, F]);
    let s = tf.reshape(tf.slice(row, [0, first + k], [n, 1]), [n]);
    if (layout.objectness !== undefined) s = tf.add(s, tf.reshape(tf.slice(row, [0, layout.objectness], [n, 1]), [n]));
    return (given ? tf.mul(s, boxIou(tf.slice(row, [0, boxAt], [n, 4]) as tf.Tensor2D, given)) : s) as tf.Tensor1D;
  };
  return { classIndex: k, label: given ? `${label} x IoU` : label, probability, score, region, resolved };
}

/** IoU of two boxes (x1, y1, x2, y2), in plain numbers. */
function cornerIou(p: BoxCorners, g: BoxCorners): number {
  const w = Math.max(0, Math.min(p[2], g[2]) - Math.max(p[0], g[0]));
  const h = Math.max(0, Math.min(p[3], g[3]) - Math.max(p[1], g[1]));
  const union = Math.max(0, p[2] - p[0]) * Math.max(0, p[3] - p[1]) + Math.max(0, g[2] - g[0]) * Math.max(0, g[3] - g[1]) - w * h;
  return union > 0 ? (w * h) / union : 0;
}

/** IoU of each predicted box [n,4] (x1,y1,x2,y2) with one given box: [n], differentiable in the prediction. */
function boxIou(pred: tf.Tensor2D, [gx1, gy1, gx2, gy2]: BoxCorners): tf.Tensor1D {
  const [x1, y1, x2, y2] = tf.unstack(pred, 1);
  const w = tf.relu(tf.sub(tf.minimum(x2, gx2), tf.maximum(x1, gx1)));
  const h = tf.relu(tf.sub(tf.minimum(y2, gy2), tf.maximum(y1, gy1)));
  const inter = tf.mul(w, h);
  const area = tf.mul(tf.relu(tf.sub(x2, x1)), tf.relu(tf.sub(y2, y1)));
  const union = tf.sub(tf.add(area, Math.max(0, gx2 - gx1) * Math.max(0, gy2 - gy1)), inter);
  return tf.div(inter, tf.maximum(union, 1e-9)) as tf.Tensor1D;
}

function embeddingRow(target: Extract<Target, { kind: 'embedding' }>, out: Float32Array, ctx: TargetContext): RowTarget {
  const D = out.length;
  const concept = target.concept === undefined ? Float32Array.from(out) : Float32Array.from(target.concept);
  if (concept.length !== D) throw new Error(`The concept embedding has ${concept.length} values; output '${ctx.output.name}' has ${D}.`);
  const norm = (v: Float32Array): number => Math.sqrt(v.reduce((a, b) => a + b * b, 0));
  const cosine = out.reduce((a, v, i) => a + v * concept[i], 0) / Math.max(norm(out) * norm(concept), 1e-12);
  const score = (o: tf.Tensor): tf.Tensor1D => {
    const rows = tf.reshape(o, [o.shape[0], D]);
    const c = tf.tensor2d(concept, [1, D]);
    const dot = tf.sum(tf.mul(rows, c), 1);
    return tf.div(dot, tf.maximum(tf.mul(tf.norm(rows, 'euclidean', 1), norm(concept)), 1e-12)) as tf.Tensor1D;
  };
  return { classIndex: -1, label: target.concept === undefined ? 'similarity to its own embedding' : 'similarity to the concept', probability: cosine, score, resolved: { ...target, concept } };
}

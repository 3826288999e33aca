/**
 * Targets as values: each turns the model's output for one image into one differentiable score,
 * like pytorch-grad-cam's target callables. Build them with the `targets` constructors; every
 * method, guided backprop, the metrics and the widget take them through one path in the engine.
 */

/** A class by index or name, or the one the model predicts. */
export type ClassRef = number | string;

/** A box [x1, y1, x2, y2] in the detector's own box coordinates. */
export type BoxCorners = readonly [number, number, number, number];

/** Where a raw detection row keeps its parts: [anchors, F] with F = 4 box values + (objectness) + class scores. */
export interface DetectionLayout {
  /** Index of the first of the 4 box values (x1, y1, x2, y2), default 0. */
  box?: number;
  /** Index of an objectness score, if the detector has one (YOLO); multiplied into the class score's probability. */
  objectness?: number;
  /** Index of the first class score, default 4 (5 with objectness). */
  classes?: number;
}

export type Target =
  /** The class's score before softmax (Grad-CAM's y^c; the default). */
  | { kind: 'class-logit'; class: ClassRef | 'predicted'; output?: string }
  /** The class's softmax probability (gradients through the softmax). */
  | { kind: 'class-probability'; class: ClassRef | 'predicted'; output?: string }
  /** A sigmoid label: its logit (what speaks for it) or, negative, minus it (what speaks against it). */
  | { kind: 'sigmoid-label'; label: ClassRef | 'predicted'; negative: boolean; output?: string }
  /** A raw output value: what raises it, or what lowers it. */
  | { kind: 'regression'; index: number; direction: 'raise' | 'lower'; output?: string }
  /** Sum of class c's scores over a pixel mask (default: the pixels where c is predicted). */
  | { kind: 'segmentation'; class: ClassRef | 'predicted'; mask?: ArrayLike<number>; output?: string }
  /** One raw detection's class score before NMS (default the best), optionally times its IoU with a box. */
  | { kind: 'detection'; anchor: number | 'best'; class: ClassRef | 'best'; box?: BoxCorners; layout?: DetectionLayout; output?: string }
  /** Cosine similarity of the output to a concept embedding (default: the image's own). */
  | { kind: 'embedding'; concept?: ArrayLike<number>; output?: string };

export type TargetKind = Target['kind'];

/** The typed constructors (`targets.classLogit('deer')`, `targets.segmentation('road')`, ...). */
export const targets = {
  classLogit: (c: ClassRef | 'predicted' = 'predicted'): Target => ({ kind: 'class-logit', class: c }),
  classProbability: (c: ClassRef | 'predicted' = 'predicted'): Target => ({ kind: 'class-probability', class: c }),
  sigmoidLabel: (label: ClassRef | 'predicted' = 'predicted', options: { negative?: boolean } = {}): Target =>
    ({ kind: 'sigmoid-label', label, negative: options.negative === true }),
  regression: (index = 0, options: { lower?: boolean } = {}): Target => ({ kind: 'regression', index, direction: options.lower ? 'lower' : 'raise' }),
  segmentation: (c: ClassRef | 'predicted' = 'predicted', options: { mask?: ArrayLike<number> } = {}): Target =>
    ({ kind: 'segmentation', class: c, mask: options.mask }),
  detection: (options: { anchor?: number; class?: ClassRef; box?: BoxCorners; layout?: DetectionLayout } = {}): Target =>
    ({ kind: 'detection', anchor: options.anchor ?? 'best', class: options.class ?? 'best', box: options.box, layout: options.layout }),
  embedding: (concept?: ArrayLike<number>): Target => ({ kind: 'embedding', concept }),
  /** `inner` scored on the model output named `name` (a multi-output model). */
  ofOutput: (name: string, inner: Target): Target => ({ ...inner, output: name }),
};

const KINDS: ReadonlySet<string> = new Set<TargetKind>(['class-logit', 'class-probability', 'sigmoid-label', 'regression', 'segmentation', 'detection', 'embedding']);

/** True for a Target value (an object with a known kind), as opposed to a shorthand. */
export function isTarget(value: unknown): value is Target {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && KINDS.has(String((value as { kind?: unknown }).kind));
}

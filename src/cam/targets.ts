/**
 * Which targets to explain, as rows: (image, target) pairs laid out image-major. The layout
 * depends only on the kind of spec, so it is known before any output is; the targets themselves
 * may await the output ('predicted', the predicted mask, the best detection, the image's own
 * embedding) and are resolved from it (resolve-target.ts).
 *
 * Shorthands: a class index or name, 'predicted', 'all', one per image, { top: k }, { classes }.
 * On a non-classifier they mean that output kind's default target for those classes.
 */
import { classIndex } from './class-index';
import type { ClassTarget, TargetContext } from './class-index';
import { defaultTarget, resolveTarget } from './resolve-target';
import type { RowTarget } from './row-targets';
import { isTarget, Target } from './target-values';

export { classIndex };
export type { ClassTarget, TargetContext };

/** Each image's `top` highest-scoring classes, best first (ties by class index). */
export interface TopClasses {
  top: number;
}
/** The same classes (or targets) of every image, in this order: one row per image and entry. */
export interface ClassList {
  classes: (ClassTarget | Target)[];
}
/** One target for every image, 'all' classes, one per image, each image's top k, a class list, or a Target value. */
export type TargetSpec = ClassTarget | 'predicted' | 'all' | Target | (ClassTarget | Target)[] | TopClasses | ClassList;

export interface RowPlan {
  /** Image index of each row. */
  rowImage: Int32Array;
  /** Each row's target, given every row's output (rows x output size, row-major, before the activation). */
  resolve(outputs: Float32Array): RowTarget[];
}

/** Number of classes the shorthands count over for this output. */
function classCount(ctx: TargetContext): number {
  const { shape, kind } = ctx.output;
  if (kind === 'detections') throw new Error(`'all', { top } and { classes } need a classifier; output '${ctx.output.name}' holds raw detections. Use targets.detection({ class }) per class.`);
  if (kind === 'embedding') throw new Error(`'all', { top } and { classes } need a classifier; output '${ctx.output.name}' is an embedding. Use targets.embedding(concept).`);
  return shape[shape.length - 1];
}

/** Rows of every image for the same list of targets (image-major). */
function sameTargets(list: Target[], numImages: number, ctx: TargetContext): RowPlan {
  const rowImage = new Int32Array(numImages * list.length).map((_, r) => Math.floor(r / list.length));
  return {
    rowImage,
    resolve: (outputs) => Array.from(rowImage, (i, r) => resolveTarget(list[r % list.length], rowOutput(outputs, r, rowImage.length), ctx)),
  };
}

/** A shorthand (class index or name, 'predicted') as this output kind's Target; Target values pass through. */
function asTarget(t: ClassTarget | Target | 'all', ctx: TargetContext): Target {
  if (t === 'all') throw new Error("'all' cannot be mixed with per-image targets; use target: 'all' for the whole batch.");
  if (isTarget(t)) return t;
  if (typeof t !== 'number' && typeof t !== 'string') throw new TypeError(`Unknown target ${JSON.stringify(t)}: use a class index or name, 'predicted', 'all', or a value from targets.*.`);
  if (ctx.output.kind === 'detections') return { kind: 'detection', anchor: 'best', class: t === 'predicted' ? 'best' : t };
  if (ctx.output.kind === 'embedding') {
    if (t !== 'predicted') throw new Error(`Output '${ctx.output.name}' is an embedding, which has no classes; explain it with targets.embedding(concept) (default: the image's own embedding).`);
    return defaultTarget(ctx.output, 'predicted');
  }
  return defaultTarget(ctx.output, classIndex(t, classCountOrOne(ctx), ctx.classNames));
}

function rowOutput(outputs: Float32Array, r: number, rows: number): Float32Array {
  const D = outputs.length / rows;
  return outputs.subarray(r * D, (r + 1) * D);
}

export function planRows(spec: TargetSpec, numImages: number, ctx: TargetContext): RowPlan {
  if (spec === 'all') {
    const n = classCount(ctx);
    return sameTargets(Array.from({ length: n }, (_, c) => defaultTarget(ctx.output, c)), numImages, ctx);
  }
  if (typeof spec === 'object' && !Array.isArray(spec) && !isTarget(spec) && 'classes' in spec) {
    if (!Array.isArray(spec.classes) || spec.classes.length === 0) throw new RangeError('target { classes: [] }: name at least one class or target.');
    // Plain class references count over the classes (and refuse outputs without); Target values resolve as they are.
    const list = spec.classes.map((c) => (isTarget(c) ? c : defaultTarget(ctx.output, classIndex(c, classCount(ctx), ctx.classNames))));
    return sameTargets(list, numImages, ctx);
  }
  if (typeof spec === 'object' && !Array.isArray(spec) && !isTarget(spec)) {
    const k = (spec as TopClasses).top;
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`target { top: ${k} }: give a whole number of classes, 1 or more.`);
    const n = classCount(ctx);
    if (ctx.output.shape.length !== 1) throw new Error(`target { top: ${k} } ranks the classes of a vector output; output '${ctx.output.name}' has shape [${ctx.output.shape.join(',')}].`);
    const perImage = Math.min(k, n);
    const rowImage = new Int32Array(numImages * perImage).map((_, r) => Math.floor(r / perImage));
    return {
      rowImage,
      // Row r is image r/k's (r%k)-th best class by its own row of outputs.
      resolve: (outputs) => {
        const rows: RowTarget[] = [];
        for (let r = 0; r < rowImage.length; r += perImage) {
          const row = rowOutput(outputs, r, rowImage.length);
          const order = Array.from({ length: n }, (_, c) => c).sort((a, b) => row[b] - row[a] || a - b);
          for (let j = 0; j < perImage; j++) rows.push(resolveTarget(defaultTarget(ctx.output, order[j]), rowOutput(outputs, r + j, rowImage.length), ctx));
        }
        return rows;
      },
    };
  }
  if (Array.isArray(spec) && spec.length !== numImages) {
    throw new Error(`Got ${spec.length} targets for ${numImages} images; give one target per image, or a single target for all.`);
  }
  const perImage: Target[] = (Array.isArray(spec) ? spec : new Array<ClassTarget | Target>(numImages).fill(spec)).map((t) => asTarget(t, ctx));
  const rowImage = new Int32Array(numImages).map((_, i) => i);
  return { rowImage, resolve: (outputs) => perImage.map((t, i) => resolveTarget(t, rowOutput(outputs, i, numImages), ctx)) };
}

function classCountOrOne(ctx: TargetContext): number {
  return ctx.output.shape[ctx.output.shape.length - 1] ?? 1;
}

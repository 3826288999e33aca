/**
 * Which classes to explain. Rows are (image, class) pairs laid out image-major; the layout
 * depends only on the kind of target, so it is known before any score is: 'all' gives every
 * class of each image, { top: k } k rows per image (its best classes, known once scores are),
 * anything else one row per image whose class may await the prediction.
 */
import { argmax } from '../shared/arrays';

/** A class index, a class name, or the model's top class. */
export type ClassTarget = number | string;
/** Each image's `top` highest-scoring classes, best first (ties by class index). */
export interface TopClasses {
  top: number;
}
/** The same classes of every image, in this order. */
export interface ClassList {
  classes: number[];
}
/** One target for every image, 'all' classes, one target per image, each image's top k, or a class list. */
export type TargetSpec = ClassTarget | 'predicted' | 'all' | ClassTarget[] | TopClasses | ClassList;

export interface RowPlan {
  /** Image index of each row. */
  rowImage: Int32Array;
  /** Class of each row, given every row's scores (rows x classes, row-major). */
  classes(scores: Float32Array): Int32Array;
}

function classIndex(target: ClassTarget, numClasses: number, classNames: readonly string[] | undefined): number | 'predicted' {
  if (typeof target === 'number') {
    if (!Number.isInteger(target) || target < 0 || target >= numClasses) {
      throw new RangeError(`Class index ${target} is out of range: the model has ${numClasses} classes (0..${numClasses - 1}).`);
    }
    return target;
  }
  const wanted = target.trim().toLowerCase();
  if (wanted === 'predicted' || wanted === 'pred') return 'predicted';
  const byName = classNames ? classNames.findIndex((n) => n.toLowerCase() === wanted) : -1;
  if (byName >= 0) return byName;
  if (/^\d+$/.test(wanted)) return classIndex(Number(wanted), numClasses, classNames);
  throw new Error(
    `Unknown class '${target}'. Use a class index 0..${numClasses - 1}, 'predicted', 'all'` +
      (classNames ? `, or one of: ${classNames.join(', ')}.` : ' (the model has no class names; pass options.classNames to use names).'),
  );
}


export function planRows(spec: TargetSpec, numImages: number, numClasses: number, classNames?: readonly string[]): RowPlan {
  if (spec === 'all') {
    const rowImage = new Int32Array(numImages * numClasses).map((_, r) => Math.floor(r / numClasses));
    return { rowImage, classes: () => new Int32Array(numImages * numClasses).map((_, r) => r % numClasses) };
  }
  if (typeof spec === 'object' && !Array.isArray(spec) && 'classes' in spec) {
    const list = spec.classes.map((c) => classIndex(c, numClasses, classNames) as number);
    if (list.length === 0) throw new RangeError('target { classes: [] }: name at least one class.');
    const rowImage = new Int32Array(numImages * list.length).map((_, r) => Math.floor(r / list.length));
    return { rowImage, classes: () => Int32Array.from(rowImage, (_, r) => list[r % list.length]) };
  }
  if (typeof spec === 'object' && !Array.isArray(spec)) {
    const k = spec.top;
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`target { top: ${k} }: give a whole number of classes, 1 or more.`);
    const perImage = Math.min(k, numClasses);
    const rowImage = new Int32Array(numImages * perImage).map((_, r) => Math.floor(r / perImage));
    return {
      rowImage,
      // Row r is image r/k's (r%k)-th best class by its own row of scores.
      classes: (scores) => {
        const out = new Int32Array(rowImage.length);
        for (let r = 0; r < rowImage.length; r += perImage) {
          const row = scores.subarray(r * numClasses, (r + 1) * numClasses);
          const order = Array.from({ length: numClasses }, (_, c) => c).sort((a, b) => row[b] - row[a] || a - b);
          out.set(order.slice(0, perImage), r);
        }
        return out;
      },
    };
  }
  if (Array.isArray(spec) && spec.length !== numImages) {
    throw new Error(`Got ${spec.length} targets for ${numImages} images; give one target per image, or a single target for all.`);
  }
  const perImage = (Array.isArray(spec) ? spec : new Array<ClassTarget>(numImages).fill(spec)).map((t) => {
    if (t === 'all') throw new Error("'all' cannot be mixed with per-image targets; use target: 'all' for the whole batch.");
    return classIndex(t, numClasses, classNames);
  });
  const rowImage = new Int32Array(numImages).map((_, i) => i);
  return {
    rowImage,
    classes: (scores) => Int32Array.from(perImage, (t, i) => (t === 'predicted' ? argmax(scores, i * numClasses, numClasses) : t)),
  };
}

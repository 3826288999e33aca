/** A class named by index or name (or 'predicted'), checked against the output; and what targets resolve against. */
import type { OutputInfo } from './outputs';

/** A class index, a class name, or the model's top class. */
export type ClassTarget = number | string;

/** What the targets are resolved against. */
export interface TargetContext {
  output: OutputInfo;
  classNames?: readonly string[];
}

/** A class index from an index or name, or 'predicted'; a clear error otherwise. */
export function classIndex(target: ClassTarget, numClasses: number, classNames: readonly string[] | undefined): number | 'predicted' {
  if (typeof target === 'number') {
    if (!Number.isInteger(target) || target < 0 || target >= numClasses) {
      throw new RangeError(`Class index ${target} is out of range: the model has ${numClasses} classes (0..${numClasses - 1}).`);
    }
    return target;
  }
  if (typeof target !== 'string') throw new TypeError(`A class must be an index or a name; got ${JSON.stringify(target)}.`);
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


/**
 * How a target reads before any image has decided it: the widget's list of targets and the
 * notebook's legends name targets this way ("road pixels", "best detection", "value 0 (lower)").
 * Resolved rows say more (the box, the pixel count): resolve-target.ts labels those.
 */
import type { ClassRef, Target } from './target-values';

/** Whether a target's value reads as a probability (0..1, shown as a percentage) or as a plain value. */
export type TargetValueKind = 'probability' | 'value';

function classWord(c: ClassRef | 'predicted' | 'best', classNames: readonly string[] | undefined, predicted: string): string {
  if (c === 'predicted' || c === 'best') return predicted;
  return typeof c === 'string' ? c : classNames?.[c] ?? `class ${c}`;
}

export function targetName(t: Target, classNames?: readonly string[]): string {
  const on = t.output === undefined ? '' : ` of ${t.output}`;
  switch (t.kind) {
    case 'class-logit': return classWord(t.class, classNames, 'predicted class') + on;
    case 'class-probability': return `p(${classWord(t.class, classNames, 'predicted class')})${on}`;
    case 'sigmoid-label': return `${classWord(t.label, classNames, 'top label')}${t.negative ? ' (against)' : ''}${on}`;
    case 'regression': return `${classNames?.[t.index] ?? `value ${t.index}`}${t.direction === 'lower' ? ' (lower)' : ''}${on}`;
    case 'segmentation': return `${classWord(t.class, classNames, 'main class')} ${t.mask === undefined ? 'pixels' : 'in the mask'}${on}`;
    case 'detection': {
      const what = t.class === 'best' ? 'detection' : `${classWord(t.class, classNames, '')} box`;
      const which = t.anchor === 'best' ? `best ${what}` : `${what} at anchor ${t.anchor}`;
      return `${which}${t.box === undefined ? '' : ' x IoU'}${on}`;
    }
    case 'embedding': return `${t.concept === undefined ? 'similarity to itself' : 'similarity to the concept'}${on}`;
  }
}

/** Regression values and cosine similarities are plain values; every other target's value is a probability. */
export function targetValueKind(t: Target): TargetValueKind {
  return t.kind === 'regression' || t.kind === 'embedding' ? 'value' : 'probability';
}

/** Display names of the methods, in the order the toggle lists them: the shared registry's. */
import { METHOD_LABELS, METHOD_NAMES } from '../../src/shared/methods';

export { METHOD_LABELS };
export const METHOD_ORDER = METHOD_NAMES;

export function percent(p: number): string {
  return p >= 0.995 ? '100%' : p < 0.001 ? '<0.1%' : `${(100 * p).toFixed(p < 0.1 ? 1 : 0)}%`;
}

/** A plain value (a regression output, a cosine similarity): about four significant digits. */
export function plainValue(v: number): string {
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : String(+v.toPrecision(4));
}

/** A target's value as its kind reads: a percentage for probabilities, else the value itself. */
export function valueText(v: number, kind: 'probability' | 'value' | undefined): string {
  return kind === 'value' ? plainValue(v) : percent(v);
}

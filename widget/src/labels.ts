/** Display names of the methods, in the order the toggle lists them: the shared registry's. */
import { METHOD_LABELS, METHOD_NAMES } from '../../src/shared/methods';

export { METHOD_LABELS };
export const METHOD_ORDER = METHOD_NAMES;

export function percent(p: number): string {
  return p >= 0.995 ? '100%' : p < 0.001 ? '<0.1%' : `${(100 * p).toFixed(p < 0.1 ? 1 : 0)}%`;
}

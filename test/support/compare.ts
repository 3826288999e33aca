/** How far a computed array or explanation is from its reference, the measures the tests use. */
import { expect } from 'chai';
import type { Explanation } from '../../src/cam/types';

/** max |a - b| / max |b|: the largest error relative to the reference's scale. */
export function maxRelativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxRelativeError: ${a.length} values against ${b.length}.`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

/** ||a - b|| / ||b||: the error of the whole array, relative to the reference's norm. */
export function l2RelativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`l2RelativeError: ${a.length} values against ${b.length}.`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
}

/** Two explanations of the same images agree within `tolerance` (max relative): scores, every row's
 * alpha, map and (when present) guided backprop. */
export function expectSameExplanations(got: Explanation, want: Explanation, tolerance = 1e-5): void {
  expect(got.images.length).to.equal(want.images.length);
  for (const [i, image] of got.images.entries()) {
    const truth = want.images[i];
    expect(maxRelativeError(image.classes.map((c) => c.score), truth.classes.map((c) => c.score)), `scores, image ${i}`).to.be.below(tolerance);
    for (const [k, c] of image.classes.entries()) {
      expect(maxRelativeError(c.weights, truth.classes[k].weights), `alpha, image ${i} row ${k}`).to.be.below(tolerance);
      expect(maxRelativeError(c.map, truth.classes[k].map), `map, image ${i} row ${k}`).to.be.below(tolerance);
      if (truth.classes[k].guided) {
        expect(maxRelativeError(c.guided as Float32Array, truth.classes[k].guided as Float32Array), `guided, image ${i} row ${k}`).to.be.below(tolerance);
      }
    }
  }
}

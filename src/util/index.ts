/** Small generic helpers; this room imports nothing of ours. */
export { concatFloat32 } from './typed-arrays';
export { makeRandom } from './random';

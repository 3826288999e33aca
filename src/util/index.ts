/** Small generic helpers; this room imports nothing of ours. */
export { concatFloat32 } from './typed-arrays';
export { makeRandom } from './random';
export { writeFileAtomic, describeWriteError, OutputPathError } from './atomic-write';
export { isInsideFolder, realPathOf } from './paths';
export { protectFolder, assertWritable } from './read-only-folders';

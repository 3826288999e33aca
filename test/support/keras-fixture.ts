/** Reads the Keras references written by python/keras_fixtures.py (test/fixtures/keras/NAME/). */
import * as fs from 'fs';
import * as path from 'path';
import { REPO_ROOT } from './setup';

export const KERAS_FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'keras');

interface ArrayEntry {
  offset: number;
  dtype: 'uint8' | 'float32';
  shape: number[];
}

export interface KerasReference {
  name: string;
  dir: string;
  model: string;
  layer: string;
  /** A layer further from the scores, where the head is a deep non-linear network. */
  innerLayer: string;
  innerLayerShape: [number, number, number];
  /** Graph nodes named after the target layer; null when there is no graph model. */
  graphNodes: string[] | null;
  /** Why tensorflowjs could not convert the model to a graph model, if it could not. */
  graphConversionError?: string | null;
  inputRange: string;
  inputShape: [number, number, number];
  layerShape: [number, number, number];
  classNames: string[];
  predicted: number[];
  guidedReLUs: number;
  testAccuracy?: number;
  /** [N,H,W,C] pixels 0-255. */
  pixels: Uint8Array;
  /** [N,classes] pre-softmax scores. */
  logits: Float32Array;
  /** [N,classes,K] alpha_k^c. */
  alphas: Float32Array;
  /** [N,classes,h,w] ReLU(sum_k alpha_k A^k). */
  maps: Float32Array;
  /** [N,h,w,K] A. */
  activations: Float32Array;
  /** The same three at innerLayer. */
  innerAlphas: Float32Array;
  innerMaps: Float32Array;
  innerActivations: Float32Array;
  /** [N,H,W,C] guided backprop of the predicted class. */
  guided: Float32Array;
}

export function kerasFixtureNames(): string[] {
  if (!fs.existsSync(KERAS_FIXTURES)) return [];
  return fs.readdirSync(KERAS_FIXTURES).filter((n) => fs.existsSync(path.join(KERAS_FIXTURES, n, 'reference.json'))).sort();
}

export function readKerasReference(name: string): KerasReference {
  const dir = path.join(KERAS_FIXTURES, name);
  const info = JSON.parse(fs.readFileSync(path.join(dir, 'reference.json'), 'utf8')) as Omit<KerasReference, 'pixels' | 'logits' | 'alphas' | 'maps' | 'activations' | 'innerAlphas' | 'innerMaps' | 'innerActivations' | 'guided'> & {
    arrays: Record<string, ArrayEntry>;
  };
  const bin = fs.readFileSync(path.join(dir, 'reference.bin'));
  const buffer = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  const read = (key: string): Uint8Array | Float32Array => {
    const e = info.arrays[key];
    const n = e.shape.reduce((a, b) => a * b, 1);
    return e.dtype === 'uint8' ? new Uint8Array(buffer, e.offset, n) : new Float32Array(buffer, e.offset, n);
  };
  return {
    ...info,
    name,
    dir,
    pixels: read('pixels') as Uint8Array,
    logits: read('logits') as Float32Array,
    alphas: read('alphas') as Float32Array,
    maps: read('maps') as Float32Array,
    activations: read('activations') as Float32Array,
    innerAlphas: read('innerAlphas') as Float32Array,
    innerMaps: read('innerMaps') as Float32Array,
    innerActivations: read('innerActivations') as Float32Array,
    guided: read('guided') as Float32Array,
  };
}

/** max |a - b| / max |b| (support/compare.ts), the measure the Keras references use. */
export { maxRelativeError as relativeError } from './compare';

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

/**
 * Reads the Keras references for the target kinds written by python/keras_target_fixtures.py
 * (test/fixtures/keras/targets/NAME/: reference.json + reference.bin, layers/ and/or graph/).
 */
import * as fs from 'fs';
import * as path from 'path';
import { targets, Target } from '../../src/cam';
import { KERAS_FIXTURES } from './keras-fixture';

export const KERAS_TARGET_FIXTURES = path.join(KERAS_FIXTURES, 'targets');

/** A target as reference.json spells it (gradcam-ts's Target fields; the concept is stored apart). */
export interface TargetSpecJson {
  kind: Target['kind'];
  class?: number | 'predicted' | 'best';
  label?: number | 'predicted';
  negative?: boolean;
  index?: number;
  direction?: 'raise' | 'lower';
  anchor?: number | 'best';
  box?: [number, number, number, number];
  concept?: 'stored';
  output?: string;
}

export interface ResolvedJson {
  classIndex: number;
  /** y, the differentiated score. */
  score: number;
  /** Segmentation: the mask's pixel count and every class's argmax area. */
  pixels?: number;
  area?: number[];
  /** Detection: the row and its box. */
  anchor?: number;
  box?: number[];
}

export interface TargetCase {
  name: string;
  /** The output explained (a Keras output layer name; also the graph signature key). */
  output: string;
  target: TargetSpecJson;
  /** Layer (layers format) and the node carrying its output (graph format). */
  layer: string;
  graphNode?: string;
  /** A token sequence's grid: extra tokens in front, then height x width. */
  tokens: { extra: number; height: number; width: number } | null;
  /** [h, w, K] of A (a token sequence's grid). */
  layerShape: [number, number, number];
  /** Per image. */
  resolved: ResolvedJson[];
  minMargin: number | null;
}

interface ArrayEntry {
  offset: number;
  dtype: 'uint8' | 'float32';
  shape: number[];
}

export interface TargetFixture {
  name: string;
  dir: string;
  model: string;
  kind: string;
  formats: ('layers' | 'graph')[];
  /** [H, W, C] of an image, channels last (what gradcam-ts takes). */
  inputShape: [number, number, number];
  /** The model's own input shape without the batch ([C, H, W] for a channels-first model). */
  modelInputShape: number[];
  channelsFirst?: boolean;
  classNames: string[] | null;
  outputs: { name: string; shape: number[] }[];
  guidedReLUs: number;
  cases: TargetCase[];
  arrays: Record<string, ArrayEntry>;
  /** An array of reference.bin by key: 'pixels', 'concept', 'case0.alphas', ... */
  array(key: string): Float32Array;
  pixels: Uint8Array;
  /** Image i's pixels [H,W,C]. */
  image(i: number): Uint8Array;
  numImages: number;
}

export function targetFixtureNames(): string[] {
  if (!fs.existsSync(KERAS_TARGET_FIXTURES)) return [];
  return fs.readdirSync(KERAS_TARGET_FIXTURES).filter((n) => fs.existsSync(path.join(KERAS_TARGET_FIXTURES, n, 'reference.json'))).sort();
}

export function readTargetFixture(name: string): TargetFixture {
  const dir = path.join(KERAS_TARGET_FIXTURES, name);
  const info = JSON.parse(fs.readFileSync(path.join(dir, 'reference.json'), 'utf8')) as Omit<TargetFixture, 'dir' | 'array' | 'pixels' | 'image' | 'numImages'>;
  const bin = fs.readFileSync(path.join(dir, 'reference.bin'));
  const buffer = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  const entry = (key: string): ArrayEntry => {
    const e = info.arrays[key];
    if (!e) throw new Error(`${name}/reference.bin has no array '${key}'; it has ${Object.keys(info.arrays).join(', ')}.`);
    return e;
  };
  const count = (e: ArrayEntry): number => e.shape.reduce((a, b) => a * b, 1);
  const array = (key: string): Float32Array => {
    const e = entry(key);
    if (e.dtype !== 'float32') throw new Error(`${name}: array '${key}' is ${e.dtype}.`);
    return new Float32Array(buffer, e.offset, count(e));
  };
  const p = entry('pixels');
  const pixels = new Uint8Array(buffer, p.offset, count(p));
  const size = info.inputShape.reduce((a, b) => a * b, 1);
  return { ...info, dir, array, pixels, numImages: p.shape[0], image: (i) => pixels.subarray(i * size, (i + 1) * size) };
}

/** The gradcam-ts Target a case's spec stands for. */
export function targetOf(spec: TargetSpecJson, fixture: TargetFixture): Target {
  const inner = ((): Target => {
    switch (spec.kind) {
      case 'class-logit':
        return targets.classLogit(spec.class as number | 'predicted');
      case 'class-probability':
        return targets.classProbability(spec.class as number | 'predicted');
      case 'sigmoid-label':
        return targets.sigmoidLabel(spec.label, { negative: spec.negative });
      case 'regression':
        return targets.regression(spec.index, { lower: spec.direction === 'lower' });
      case 'segmentation':
        return targets.segmentation(spec.class as number | 'predicted');
      case 'detection':
        return targets.detection({
          anchor: spec.anchor === 'best' ? undefined : spec.anchor,
          class: spec.class === 'best' ? undefined : (spec.class as number),
          box: spec.box,
        });
      case 'embedding':
        return targets.embedding(fixture.array('concept'));
    }
  })();
  return spec.output === undefined ? inner : targets.ofOutput(spec.output, inner);
}

/** The output kind gradcam-ts should read for a target kind. */
export const KIND_OF_TARGET: Readonly<Record<Target['kind'], string>> = {
  'class-logit': 'classes',
  'class-probability': 'classes',
  'sigmoid-label': 'labels',
  regression: 'regression',
  segmentation: 'map',
  detection: 'detections',
  embedding: 'embedding',
};

/** max |a - b|. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: ${a.length} values against ${b.length}.`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/**
 * A map's error relative to the terms it sums: max |map - ref| / max over positions of
 * sum_k |alpha_k A^k| (Keras's numbers), since ReLU(sum_k alpha_k A^k) often nearly cancels.
 */
export function mapError(map: ArrayLike<number>, ref: ArrayLike<number>, alphas: ArrayLike<number>, activations: ArrayLike<number>): number {
  const K = alphas.length;
  let scale = 0;
  for (let p = 0; p < activations.length / K; p++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += Math.abs(alphas[k] * activations[p * K + k]);
    scale = Math.max(scale, s);
  }
  const diff = maxAbsDiff(map, ref);
  return scale === 0 ? diff : diff / scale;
}

/**
 * Step 1 of every explanation: the forward pass and the gradients, once for all methods. The
 * trunk runs once per image; the head is differentiated for every (image, target) row at once
 * (the trunk's values repeated per row); with `guided`, one taped pass with guided ReLUs gives the
 * input gradient and the trunk values together. Call inside tf.tidy; `keep` lets tensors made
 * inside tf.grad outlive it (they are disposed by the caller).
 */
import * as tf from '@tensorflow/tfjs';
import type { CamInputs } from './cam-inputs';
import { ImageBatch, toBatch } from './input';
import type { ModelSplit, TrunkValues } from './split-types';
import { planRows, TargetSpec } from './targets';

export interface PassOptions {
  target?: TargetSpec;
  guided?: boolean;
  /** Differentiate the head (false when every method is gradient-free). */
  gradients: boolean;
  classNames?: readonly string[];
}

export interface CamPass {
  /** Images and rows: rows are (image, target) pairs, image-major, `perRow` per image. */
  numImages: number;
  perRow: number;
  rowImage: Int32Array;
  classes: Int32Array;
  /** Pre-softmax scores of every row [R, classes]. */
  scores: tf.Tensor2D;
  /** A once per image [N,h,w,K] (rows may repeat an image). */
  perImage: tf.Tensor4D;
  /** Guided backprop of each row's score, [R,H,W,C] (with `guided`). */
  guided?: tf.Tensor4D;
  /** What the methods read. */
  inputs: CamInputs;
}

/**
 * Each batch entry repeated `times` times in a row (image-major rows). A concat of reshaped
 * views: on tfjs-wasm this is ~10x faster than gather, tile or broadcastTo.
 */
export function repeatEach<T extends tf.Tensor>(t: T, times: number): T {
  if (times === 1) return t;
  const [n, ...rest] = t.shape;
  const flat = tf.reshape(t, [n, 1, -1]);
  return tf.reshape(tf.concat(new Array<tf.Tensor>(times).fill(flat), 1), [n * times, ...rest]) as T;
}

function repeatTrunk(t: TrunkValues, times: number): TrunkValues {
  return { activations: repeatEach(t.activations, times), side: t.side.map((s) => repeatEach(s, times)) };
}

/** Row r's score picked out of [R, classes] scores: the differentiated sum of the rows' targets. */
export function oneHotRows(classes: Int32Array, numClasses: number): tf.Tensor2D {
  return tf.oneHot(tf.tensor1d(classes, 'int32'), numClasses).toFloat() as tf.Tensor2D;
}

export function forwardAndGradients(split: ModelSplit, images: ImageBatch, options: PassOptions, keep: <T extends tf.Tensor>(t: T) => T): CamPass {
  const { numClasses } = split;
  const x = toBatch(images, split.inputShape);
  const N = x.shape[0];
  const plan = planRows(options.target ?? 'predicted', N, numClasses, options.classNames);
  const R = plan.rowImage.length;
  const perRow = R / N;
  const xRows = repeatEach(x, perRow);
  let classes = new Int32Array(0);
  let scores: tf.Tensor2D | undefined;
  let trunk: TrunkValues;
  let perImage: tf.Tensor4D;
  let guided: tf.Tensor4D | undefined;
  if (options.guided) {
    let t: TrunkValues | undefined;
    guided = tf.grad((xr: tf.Tensor) => {
      const out = split.full(xr as tf.Tensor4D, true);
      t = { activations: keep(out.trunk.activations), side: out.trunk.side.map(keep) };
      scores = keep(out.scores);
      classes = plan.classes(out.scores.dataSync() as Float32Array);
      return tf.sum(tf.mul(out.scores, oneHotRows(classes, numClasses)));
    })(xRows) as tf.Tensor4D;
    trunk = t as TrunkValues;
    perImage = perRow === 1 ? trunk.activations : tf.gather(trunk.activations, tf.range(0, R, perRow, 'int32'));
  } else {
    const once = split.trunk(x);
    perImage = once.activations;
    trunk = repeatTrunk(once, perRow);
  }
  let gradients: tf.Tensor4D | undefined;
  if (options.gradients) {
    gradients = tf.grad((a: tf.Tensor) => {
      const s = split.head({ activations: a as tf.Tensor4D, side: trunk.side });
      if (!scores) {
        scores = keep(s);
        classes = plan.classes(s.dataSync() as Float32Array);
      }
      return tf.sum(tf.mul(s, oneHotRows(classes, numClasses)));
    })(trunk.activations) as tf.Tensor4D;
  } else if (!scores) {
    scores = split.head(trunk);
    classes = plan.classes(scores.dataSync() as Float32Array);
  }
  const inputs: CamInputs = {
    activations: trunk.activations,
    gradients,
    classes,
    images: xRows,
    rowImage: plan.rowImage,
    score: (imgs, cls) => tf.sum(tf.mul(split.full(imgs, false).scores, oneHotRows(cls, numClasses)), 1) as tf.Tensor1D,
    allScores: (imgs) => split.full(imgs, false).scores,
    headScores: (a, row) => {
      const n = a.shape[0];
      const side = trunk.side.map((s) => repeatEach(tf.slice(s, [row], [1]), n));
      return split.head({ activations: a, side });
    },
  };
  return { numImages: N, perRow, rowImage: plan.rowImage, classes, scores: scores as tf.Tensor2D, perImage, guided, inputs };
}

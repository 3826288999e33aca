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
import { RowTarget, scoreOn, scoreRows } from './row-targets';
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
  /** The explained output of every row before its activation [R, ...]. */
  scores: tf.Tensor;
  /** Each row's resolved target. */
  targets: RowTarget[];
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

export function forwardAndGradients(split: ModelSplit, images: ImageBatch, options: PassOptions, keep: <T extends tf.Tensor>(t: T) => T): CamPass {
  const x = toBatch(images, split.inputShape);
  const N = x.shape[0];
  const plan = planRows(options.target ?? 'predicted', N, { output: split.output, classNames: options.classNames });
  const R = plan.rowImage.length;
  const perRow = R / N;
  // Each row's input image, made only when read (guided backprop, Score-CAM, ablation): for Grad-CAM
  // of all 10 classes the repeated batch was a 7.9 MB copy no method used.
  let xRowsMade: tf.Tensor4D | undefined;
  const xRows = (): tf.Tensor4D => (xRowsMade ??= repeatEach(x, perRow));
  let rows: RowTarget[] = [];
  let scores: tf.Tensor | undefined;
  const resolve = (out: tf.Tensor): tf.Scalar => {
    rows = plan.resolve(out.dataSync() as Float32Array);
    return tf.sum(scoreRows(out, rows));
  };
  let perImage: tf.Tensor4D;
  let guided: tf.Tensor4D | undefined;
  // The trunk values per row, made when read: the pooled head below needs only each image's A.
  let trunkRows: () => TrunkValues;
  if (options.guided) {
    let t: TrunkValues | undefined;
    guided = tf.grad((xr: tf.Tensor) => {
      const out = split.full(xr as tf.Tensor4D, true);
      t = { activations: keep(out.trunk.activations), side: out.trunk.side.map(keep) };
      scores = keep(out.scores);
      return resolve(out.scores);
    })(xRows()) as tf.Tensor4D;
    const trunk = t as TrunkValues;
    trunkRows = () => trunk;
    perImage = perRow === 1 ? trunk.activations : tf.gather(trunk.activations, tf.range(0, R, perRow, 'int32'));
  } else {
    const once = split.trunk(x);
    perImage = once.activations;
    let made: TrunkValues | undefined;
    trunkRows = () => (made ??= repeatTrunk(once, perRow));
  }
  const headScore = (s: tf.Tensor): tf.Scalar => {
    if (scores) return tf.sum(scoreRows(s, rows));
    scores = keep(s);
    return resolve(s);
  };
  let gradients: (() => tf.Tensor4D) | undefined;
  let gradientMeans: tf.Tensor2D | undefined;
  const pooled = options.gradients ? split.pooled : undefined;
  if (pooled) {
    // A -> GlobalAveragePooling2D -> rest: differentiate the rest on the pooled rows [R, K]; the
    // gradient at every position of A is dy/dp / (h w), spread only if a method reads the maps.
    const [h, w, K] = split.layerShape;
    // (guided: the full pass already ran per row)
    const p = options.guided ? pooled.pool(trunkRows().activations) : repeatEach(pooled.pool(perImage), perRow);
    const means = tf.div(tf.grad((q: tf.Tensor) => headScore(pooled.head(q as tf.Tensor2D)))(p), h * w) as tf.Tensor2D;
    gradientMeans = means;
    let spread: tf.Tensor4D | undefined;
    // (one broadcasting multiply: tfjs-wasm's Tile took 2x Grad-CAM++'s whole time at batch 64)
    gradients = () => (spread ??= tf.mul(tf.reshape(means, [R, 1, 1, K]), tf.ones([1, h, w, 1])) as tf.Tensor4D);
  } else if (options.gradients) {
    const trunk = trunkRows();
    const full = tf.grad((a: tf.Tensor) => headScore(split.head({ activations: a as tf.Tensor4D, side: trunk.side })))(trunk.activations) as tf.Tensor4D;
    gradients = () => full;
  } else if (!scores) {
    scores = split.head(trunkRows());
    rows = plan.resolve(scores.dataSync() as Float32Array);
  }
  const targets = rows;
  const inputs: CamInputs = {
    get activations() {
      return trunkRows().activations;
    },
    get gradients() {
      return gradients?.();
    },
    gradientMeans,
    get images() {
      return xRows();
    },
    rowImage: plan.rowImage,
    outputs: (imgs) => split.full(imgs, false).scores,
    headOutputs: (a, row) => {
      const n = a.shape[0];
      const side = trunkRows().side.map((s) => repeatEach(tf.slice(s, [row], [1]), n));
      return split.head({ activations: a, side });
    },
    targetScore: (outputs, row) => scoreOn(outputs, targets[row]),
  };
  return { numImages: N, perRow, rowImage: plan.rowImage, scores: scores as tf.Tensor, targets, perImage, guided, inputs };
}

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
  let trunk: TrunkValues;
  let perImage: tf.Tensor4D;
  let guided: tf.Tensor4D | undefined;
  if (options.guided) {
    let t: TrunkValues | undefined;
    guided = tf.grad((xr: tf.Tensor) => {
      const out = split.full(xr as tf.Tensor4D, true);
      t = { activations: keep(out.trunk.activations), side: out.trunk.side.map(keep) };
      scores = keep(out.scores);
      return resolve(out.scores);
    })(xRows()) as tf.Tensor4D;
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
        return resolve(s);
      }
      return tf.sum(scoreRows(s, rows));
    })(trunk.activations) as tf.Tensor4D;
  } else if (!scores) {
    scores = split.head(trunk);
    rows = plan.resolve(scores.dataSync() as Float32Array);
  }
  const targets = rows;
  const inputs: CamInputs = {
    activations: trunk.activations,
    gradients,
    get images() {
      return xRows();
    },
    rowImage: plan.rowImage,
    outputs: (imgs) => split.full(imgs, false).scores,
    headOutputs: (a, row) => {
      const n = a.shape[0];
      const side = trunk.side.map((s) => repeatEach(tf.slice(s, [row], [1]), n));
      return split.head({ activations: a, side });
    },
    targetScore: (outputs, row) => scoreOn(outputs, targets[row]),
  };
  return { numImages: N, perRow, rowImage: plan.rowImage, scores: scores as tf.Tensor, targets, perImage, guided, inputs };
}

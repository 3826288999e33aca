/**
 * Training-time batch normalisation whose per-channel reductions are matrix products.
 *
 * tfjs's batchNorm gradient reduces over [N,H,W] with Tile/Sum/Mean; on the wasm backend those
 * reductions over outer axes take about a third of a training step. Summing the rows of an
 * [M,C] matrix is a matrix product with a ones vector, which XNNPACK does at full speed, and the
 * backward pass needs only two such sums (they are dbeta and dgamma). BN exists only during training: the exported
 * model folds it into the preceding convolution (see fold.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { BATCH_NORM_GRADIENT, BATCH_NORM_TRAIN, nativeBatchNormAvailable } from '../backend';

export const BN_EPSILON = 1e-3;

export interface BatchStats {
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

/**
 * Column sums of a [M,C] matrix as [1,C]: `X^T x ones[M,1]` as a transposed-A matrix product.
 *
 * The obvious `ones[1,M] x X` is slow on wasm: tfjs-wasm hands the right operand to XNNPACK as
 * the "weights" and repacks them on every call (13 ms for [65536,32] in a training step). With
 * X on the left only the ones vector is packed.
 */
function columnSums(m: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const [rows, c] = m.shape;
    return tf.reshape(tf.matMul(m, tf.ones([rows, 1]) as tf.Tensor2D, true, false), [1, c]) as tf.Tensor2D;
  });
}

type BatchNormResult = { y: tf.Tensor4D; stats: BatchStats };

/**
 * y = gamma * (x - mean_batch) / sqrt(var_batch + eps) + beta over the last axis of an NHWC
 * tensor. Returns y and the batch statistics (for the running averages; not differentiated).
 * On wasm with the native addon, two native kernels do it in two passes each way; elsewhere
 * tfjs ops with matrix-product reductions.
 */
export function batchNormTrain(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D): BatchNormResult {
  return nativeBatchNormAvailable() ? nativeBatchNormTrain(x, gamma, beta) : opsBatchNormTrain(x, gamma, beta);
}

function nativeBatchNormTrain(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D): BatchNormResult {
  let stats: BatchStats | undefined;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xIn, gIn, bIn, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const [y, mean, variance, invStd] = tf.engine().runKernel(
      BATCH_NORM_TRAIN, { x: xIn, gamma: gIn, beta: bIn }, { epsilon: BN_EPSILON } as unknown as tf.NamedAttrMap,
    ) as tf.Tensor[];
    stats = { mean: tf.keep(mean) as tf.Tensor1D, variance: tf.keep(variance) as tf.Tensor1D };
    save([xIn, mean, invStd, gIn]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, m, inv, g] = saved;
        return tf.engine().runKernel(BATCH_NORM_GRADIENT, { x: xs, dy, mean: m, invStd: inv, gamma: g }, {}) as tf.Tensor[];
      },
    };
  });
  const y = op(x, gamma, beta) as tf.Tensor4D;
  if (!stats) throw new Error('batchNormTrain: statistics were not computed');
  return { y, stats };
}

function opsBatchNormTrain(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D): BatchNormResult {
  const [n, h, w, c] = x.shape;
  const rows = n * h * w;
  let stats: BatchStats | undefined;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xIn, gIn, bIn, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const x2 = tf.reshape(xIn, [rows, c]) as tf.Tensor2D;
    const mean = tf.div(columnSums(x2), rows);
    const centred = tf.sub(x2, mean);
    const variance = tf.div(columnSums(tf.square(centred) as tf.Tensor2D), rows);
    const invStd = tf.rsqrt(tf.add(variance, BN_EPSILON));
    const xhat = tf.mul(centred, invStd) as tf.Tensor2D;
    const y = tf.add(tf.mul(xhat, gIn), bIn);
    stats = { mean: tf.keep(tf.reshape(mean, [c])), variance: tf.keep(tf.reshape(variance, [c])) };
    save([xhat, invStd, gIn as tf.Tensor]);
    return {
      value: tf.reshape(y, [n, h, w, c]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, inv, g] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
        const dy2 = tf.reshape(dy, [rows, c]) as tf.Tensor2D;
        const dbeta = columnSums(dy2); // [1,C]
        const dgamma = columnSums(tf.mul(dy2, xh) as tf.Tensor2D); // [1,C]
        // dx = gamma * invStd * (dy - dbeta/M - xhat * dgamma/M)
        const inner = tf.sub(tf.sub(dy2, tf.div(dbeta, rows)), tf.mul(xh, tf.div(dgamma, rows)));
        const dx = tf.mul(inner, tf.mul(inv, g));
        return [tf.reshape(dx, [n, h, w, c]), tf.reshape(dgamma, [c]), tf.reshape(dbeta, [c])];
      },
    };
  });
  const y = op(x, gamma, beta) as tf.Tensor4D;
  if (!stats) throw new Error('batchNormTrain: statistics were not computed');
  return { y, stats };
}

/** Inference-time BN with running statistics (used to check the folded export). */
export function batchNormInfer(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  movingMean: tf.Tensor1D,
  movingVariance: tf.Tensor1D,
): tf.Tensor4D {
  return tf.tidy(() => {
    const scale = tf.mul(gamma, tf.rsqrt(tf.add(movingVariance, BN_EPSILON)));
    return tf.add(tf.mul(tf.sub(x, movingMean), scale), beta) as tf.Tensor4D;
  });
}

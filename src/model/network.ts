/**
 * The CIFAR-10 network as plain variables and a forward function.
 *
 * Training uses this form (with batch-norm.ts's fast BN); users, Grad-CAM and the widget get
 * the folded tf.LayersModel built by fold.ts, which has only built-in layers:
 *   rescaling(x/127.5 - 1) -> [conv3x3+BN+ReLU] x2 (32) -> maxpool -> x2 (64) -> maxpool
 *   -> x2 (128, 8x8: the Grad-CAM layer) -> global average pool -> dense 10 (logits).
 * The last conv layer keeps 8x8 resolution so heatmaps can separate a deer's head from its body;
 * global average pooling before the classifier is the CAM architecture of Zhou et al., for
 * which Grad-CAM provably equals CAM (Selvaraju et al., Sec. 3.1).
 */
import * as tf from '@tensorflow/tfjs';
import { batchNormInfer, batchNormTrain } from './batch-norm';
import { relu } from '../backend';

export interface ArchitectureSpec {
  /** Output channels of each 3x3 conv; `pool` marks a 2x2 max-pool after a conv. */
  convs: { filters: number; poolAfter: boolean }[];
  classes: number;
}

export const CIFAR10_ARCHITECTURE: ArchitectureSpec = {
  convs: [
    { filters: 32, poolAfter: false },
    { filters: 32, poolAfter: true },
    { filters: 64, poolAfter: false },
    { filters: 64, poolAfter: true },
    { filters: 128, poolAfter: false },
    { filters: 128, poolAfter: false },
  ],
  classes: 10,
};

export interface ConvBlockParams {
  kernel: tf.Variable; // [3,3,Cin,Cout], no bias: BN's beta is the bias
  gamma: tf.Variable;
  beta: tf.Variable;
  movingMean: tf.Variable;
  movingVariance: tf.Variable;
}

export interface NetworkParams {
  spec: ArchitectureSpec;
  convs: ConvBlockParams[];
  denseKernel: tf.Variable; // [C_last, classes]
  denseBias: tf.Variable;
}

export const INPUT_SCALE = 1 / 127.5;
export const INPUT_OFFSET = -1;
export const BN_MOMENTUM = 0.9;

/** He-normal initialisation (ReLU nets), deterministic given the seed. */
let networksCreated = 0;

/** tfjs variable names are global to the process, so each network gets its own prefix. */
export function localName(variable: tf.Variable): string {
  return variable.name.slice(variable.name.indexOf('/') + 1);
}

/** A variable whose initial-value tensor does not outlive it (tidy never disposes variables). */
export function variableFrom(init: () => tf.Tensor, trainable: boolean, name: string): tf.Variable {
  return tf.tidy(() => tf.variable(init(), trainable, name));
}

export function initNetwork(spec: ArchitectureSpec = CIFAR10_ARCHITECTURE, seed = 1): NetworkParams {
  const prefix = `net${++networksCreated}`;
  let inChannels = 3;
  let s = seed;
  const convs = spec.convs.map((c, i) => {
    const std = Math.sqrt(2 / (9 * inChannels));
    const block: ConvBlockParams = {
      kernel: variableFrom(() => tf.randomNormal([3, 3, inChannels, c.filters], 0, std, 'float32', s++), true, `${prefix}/conv${i}/kernel`),
      gamma: variableFrom(() => tf.ones([c.filters]), true, `${prefix}/conv${i}/gamma`),
      beta: variableFrom(() => tf.zeros([c.filters]), true, `${prefix}/conv${i}/beta`),
      movingMean: variableFrom(() => tf.zeros([c.filters]), false, `${prefix}/conv${i}/moving_mean`),
      movingVariance: variableFrom(() => tf.ones([c.filters]), false, `${prefix}/conv${i}/moving_variance`),
    };
    inChannels = c.filters;
    return block;
  });
  const limit = Math.sqrt(6 / (inChannels + spec.classes));
  return {
    spec,
    convs,
    denseKernel: variableFrom(() => tf.randomUniform([inChannels, spec.classes], -limit, limit, 'float32', s++), true, `${prefix}/dense/kernel`),
    denseBias: variableFrom(() => tf.zeros([spec.classes]), true, `${prefix}/dense/bias`),
  };
}

/** Every variable with a stable name, in a fixed order (checkpoints rely on it). */
export function namedVariables(params: NetworkParams): tf.Variable[] {
  const vars: tf.Variable[] = [];
  for (const c of params.convs) vars.push(c.kernel, c.gamma, c.beta, c.movingMean, c.movingVariance);
  vars.push(params.denseKernel, params.denseBias);
  return vars;
}

export function trainableVariables(params: NetworkParams): tf.Variable[] {
  return namedVariables(params).filter((v) => v.trainable);
}

/**
 * Logits for raw 0-255 images [N,32,32,3]. In training mode BN uses batch statistics and the
 * running averages are updated; otherwise the running averages are used.
 */
export function forward(params: NetworkParams, images: tf.Tensor4D, training: boolean): tf.Tensor2D {
  let h = tf.add(tf.mul(images, INPUT_SCALE), INPUT_OFFSET) as tf.Tensor4D;
  params.spec.convs.forEach((spec, i) => {
    const p = params.convs[i];
    const z = tf.conv2d(h, p.kernel as tf.Tensor4D, 1, 'same');
    let normed: tf.Tensor4D;
    if (training) {
      const { y, stats } = batchNormTrain(z, p.gamma as tf.Tensor1D, p.beta as tf.Tensor1D);
      tf.tidy(() => {
        p.movingMean.assign(tf.add(tf.mul(p.movingMean, BN_MOMENTUM), tf.mul(stats.mean, 1 - BN_MOMENTUM)));
        p.movingVariance.assign(tf.add(tf.mul(p.movingVariance, BN_MOMENTUM), tf.mul(stats.variance, 1 - BN_MOMENTUM)));
      });
      tf.dispose([stats.mean, stats.variance]);
      normed = y;
    } else {
      normed = batchNormInfer(z, p.gamma as tf.Tensor1D, p.beta as tf.Tensor1D, p.movingMean as tf.Tensor1D, p.movingVariance as tf.Tensor1D);
    }
    h = relu(normed);
    if (spec.poolAfter) h = tf.maxPool(h, 2, 2, 'valid');
  });
  const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D;
  return tf.add(tf.matMul(pooled, params.denseKernel as tf.Tensor2D), params.denseBias) as tf.Tensor2D;
}

export function disposeNetwork(params: NetworkParams): void {
  tf.dispose(namedVariables(params));
}

/** Small models with known weights and plain-JS references for the cam tests. */
import * as tf from '@tensorflow/tfjs';
import { makeRandom } from '../../src/data/augment';

/** Deterministic pseudo-random numbers in [-1, 1). */
export function seeded(seed: number): () => number {
  const random = makeRandom(seed);
  return () => random() * 2 - 1;
}

export function randomArray(n: number, rand: () => number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => rand() * scale);
}

/**
 * CAM architecture (Zhou et al.): conv 3x3 'same' + ReLU -> global average pooling -> dense.
 * Functional, so the split runs over a functional graph.
 */
export interface CamNet {
  model: tf.LayersModel;
  size: number;
  inChannels: number;
  kernel: Float32Array; // [3,3,Cin,K]
  convBias: Float32Array; // [K]
  dense: Float32Array; // [K,classes]
  denseBias: Float32Array;
  K: number;
  classes: number;
}

export function camNet(seed: number, final: 'linear' | 'softmax' | 'softmax-layer' = 'linear'): CamNet {
  const rand = seeded(seed);
  const size = 5;
  const inChannels = 2;
  const K = 3;
  const classes = 4;
  const input = tf.input({ shape: [size, size, inChannels] });
  const conv = tf.layers.conv2d({ filters: K, kernelSize: 3, padding: 'same', activation: 'relu', name: 'features' });
  const gap = tf.layers.globalAveragePooling2d({ name: 'gap' });
  const dense = tf.layers.dense({ units: classes, name: 'scores', activation: final === 'softmax' ? 'softmax' : 'linear' });
  let out = dense.apply(gap.apply(conv.apply(input))) as tf.SymbolicTensor;
  if (final === 'softmax-layer') out = tf.layers.activation({ activation: 'softmax', name: 'probs' }).apply(out) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out, name: `camnet_${final}` });
  const net: CamNet = {
    model,
    size,
    inChannels,
    K,
    classes,
    kernel: randomArray(9 * inChannels * K, rand, 0.5),
    convBias: randomArray(K, rand, 0.2),
    dense: randomArray(K * classes, rand),
    denseBias: randomArray(classes, rand, 0.1),
  };
  tf.tidy(() => {
    conv.setWeights([tf.tensor4d(net.kernel, [3, 3, inChannels, K]), tf.tensor1d(net.convBias)]);
    dense.setWeights([tf.tensor2d(net.dense, [K, classes]), tf.tensor1d(net.denseBias)]);
  });
  return net;
}

/** A of the CAM net by direct summation (zero padding), HWC. */
export function camNetActivations(net: CamNet, image: Float32Array): Float32Array {
  const { size, inChannels: C, K } = net;
  const A = new Float32Array(size * size * K);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      for (let k = 0; k < K; k++) {
        let s = net.convBias[k];
        for (let dy = 0; dy < 3; dy++) {
          for (let dx = 0; dx < 3; dx++) {
            const yy = y + dy - 1;
            const xx = x + dx - 1;
            if (yy < 0 || yy >= size || xx < 0 || xx >= size) continue;
            for (let c = 0; c < C; c++) s += image[(yy * size + xx) * C + c] * net.kernel[((dy * 3 + dx) * C + c) * K + k];
          }
        }
        A[(y * size + x) * K + k] = Math.max(0, s);
      }
    }
  }
  return A;
}

export function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/**
 * Builds the shippable tf.LayersModel from trained variables, folding each batch norm into the
 * convolution before it: scale = gamma / sqrt(var + eps), W' = W * scale, b' = beta - mean * scale.
 * The result has only built-in layers (Rescaling, Conv2D+ReLU, MaxPooling2D,
 * GlobalAveragePooling2D, Dense), so any tfjs user loads it without our code, and Grad-CAM sees
 * an ordinary conv net whose last layer outputs logits.
 */
import * as tf from '@tensorflow/tfjs';
import { BN_EPSILON } from './batch-norm';
import { INPUT_OFFSET, INPUT_SCALE, NetworkParams } from './network';

export const LOGITS_LAYER = 'logits';

export function convLayerName(i: number): string {
  return `conv${i + 1}`;
}

export function foldToLayersModel(params: NetworkParams): tf.Sequential {
  const model = tf.sequential({ name: 'gradcam_cifar10' });
  model.add(tf.layers.rescaling({ scale: INPUT_SCALE, offset: INPUT_OFFSET, inputShape: [32, 32, 3], name: 'rescale' }));
  const convLayers: tf.layers.Layer[] = [];
  params.spec.convs.forEach((spec, i) => {
    const layer = tf.layers.conv2d({
      filters: spec.filters, kernelSize: 3, padding: 'same', activation: 'relu', name: convLayerName(i),
    });
    model.add(layer);
    convLayers.push(layer);
    if (spec.poolAfter) model.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: `pool${i + 1}` }));
  });
  model.add(tf.layers.globalAveragePooling2d({ name: 'gap' }));
  const dense = tf.layers.dense({ units: params.spec.classes, name: LOGITS_LAYER });
  model.add(dense);

  convLayers.forEach((layer, i) => {
    const p = params.convs[i];
    const [kernel, bias] = tf.tidy(() => {
      const scale = tf.mul(p.gamma, tf.rsqrt(tf.add(p.movingVariance, BN_EPSILON)));
      return [tf.mul(p.kernel, scale), tf.sub(p.beta, tf.mul(p.movingMean, scale))];
    });
    layer.setWeights([kernel, bias]);
    tf.dispose([kernel, bias]);
  });
  dense.setWeights([params.denseKernel, params.denseBias]);
  return model;
}

/**
 * Average drop and increase in confidence (Chattopadhay et al., Grad-CAM++, WACV 2018): show the
 * model only the explanation, the image multiplied by its [0,1] map (pytorch-grad-cam's
 * CamMultImageConfidenceChange), and compare the class probability o with the full image's y.
 * Average drop = mean of max(0, y - o) / y (lower is better); increase = share of images with o > y.
 */
import * as tf from '@tensorflow/tfjs';
import { checkInputs, MetricInputs } from './inputs';
import type { ProbabilityScorer } from './scorer';

export interface ConfidenceResult {
  /** Per image: y (full image) and o (image x map). */
  full: Float32Array;
  masked: Float32Array;
  /** In percent, as in the paper. */
  averageDrop: number;
  increaseInConfidence: number;
}

export function confidenceChange(scorer: ProbabilityScorer, inputs: MetricInputs): ConfidenceResult {
  checkInputs(inputs, 'confidence change');
  const N = inputs.images.shape[0];
  const [full, masked] = tf.tidy(() => {
    const both = tf.concat([inputs.images, tf.mul(inputs.images, tf.expandDims(inputs.maps, 3))]) as tf.Tensor4D;
    const targets = Array.from({ length: 2 * N }, (_, r) => inputs.classes[r % N]);
    const p = scorer(both, targets);
    return [p.slice(0, N), p.slice(N)];
  });
  let drop = 0;
  let increase = 0;
  for (let i = 0; i < N; i++) {
    drop += Math.max(0, full[i] - masked[i]) / full[i];
    if (masked[i] > full[i]) increase++;
  }
  return { full, masked, averageDrop: (100 * drop) / N, increaseInConfidence: (100 * increase) / N };
}

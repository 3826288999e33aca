/**
 * HiResCAM (Draelos & Carin, 2020): the map is sum_k dy^c/dA^k (.) A^k, element-wise, so it is
 * exactly the position-wise contribution to y^c for a linear head (no gradient averaging).
 * Reported weights: the position mean of the gradients (Grad-CAM's alphas).
 */
import * as tf from '@tensorflow/tfjs';
import { BaseCAM, CamInputs } from './base-cam';

export class HiResCAM extends BaseCAM {
  readonly method = 'hirescam' as const;

  protected channelWeights({ gradients }: CamInputs): tf.Tensor2D {
    return tf.mean(gradients as tf.Tensor4D, [1, 2]) as tf.Tensor2D;
  }

  protected weightedActivations({ gradients, activations }: CamInputs): tf.Tensor4D {
    return tf.mul(gradients as tf.Tensor4D, activations);
  }
}

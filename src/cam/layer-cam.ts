/**
 * LayerCAM (Jiang et al., TIP 2021): each position weighted by its own positive gradient,
 * map = sum_k ReLU(dy^c/dA^k) (.) A^k. Reported weights: the position mean of ReLU(gradient).
 */
import * as tf from '@tensorflow/tfjs';
import { BaseCAM, CamInputs } from './base-cam';

export class LayerCAM extends BaseCAM {
  readonly method = 'layercam' as const;

  protected channelWeights({ gradients }: CamInputs): tf.Tensor2D {
    return tf.mean(tf.relu(gradients as tf.Tensor4D), [1, 2]) as tf.Tensor2D;
  }

  protected weightedActivations({ gradients, activations }: CamInputs): tf.Tensor4D {
    return tf.mul(tf.relu(gradients as tf.Tensor4D), activations);
  }
}

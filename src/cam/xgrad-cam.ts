/**
 * XGrad-CAM (Fu et al., BMVC 2020): alpha_k = sum_ij (A^k_ij / sum_ab A^k_ab) dy^c/dA^k_ij,
 * gradients averaged with the activations' own weights instead of uniformly.
 */
import * as tf from '@tensorflow/tfjs';
import { BaseCAM, CamInputs } from './base-cam';

/** Same floor as pytorch-grad-cam, so an all-zero channel gets weight 0. */
const EPS = 1e-7;

export class XGradCAM extends BaseCAM {
  readonly method = 'xgradcam' as const;

  protected channelWeights({ gradients, activations }: CamInputs): tf.Tensor2D {
    const sumA = tf.sum(activations, [1, 2]);
    return tf.div(tf.sum(tf.mul(gradients as tf.Tensor4D, activations), [1, 2]), tf.add(sumA, EPS)) as tf.Tensor2D;
  }
}

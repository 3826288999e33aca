/**
 * Grad-CAM++ (Chattopadhay et al.), closed form for an exponential score:
 * a_ij = g^2 / (2 g^2 + sum_ab A_ab * g^3), alpha_k = sum_ij a_ij * ReLU(g_ij).
 */
import * as tf from '@tensorflow/tfjs';
import { BaseCAM, CamInputs } from './base-cam';

const EPS = 1e-7;

export class GradCAMPlusPlus extends BaseCAM {
  readonly method = 'gradcam++' as const;

  protected channelWeights({ gradients, activations }: CamInputs): tf.Tensor2D {
    return tf.tidy(() => {
      const g = gradients as tf.Tensor4D;
      const g2 = tf.square(g);
      const g3 = tf.mul(g2, g);
      const sumA = tf.sum(activations, [1, 2], true);
      const denominator = tf.add(tf.add(tf.mul(g2, 2), tf.mul(sumA, g3)), EPS);
      // Where the gradient is zero the coefficient is defined as zero (0/0 otherwise).
      const aij = tf.where(tf.notEqual(g, 0), tf.div(g2, denominator), tf.zerosLike(g));
      return tf.sum(tf.mul(aij, tf.relu(g)), [1, 2]) as tf.Tensor2D;
    });
  }
}

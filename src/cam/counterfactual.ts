/**
 * Counterfactual explanation (Grad-CAM paper, Sec. 5.3): weights from -dy^c/dA, so the map
 * shows regions whose removal would make the network more confident in class c.
 */
import * as tf from '@tensorflow/tfjs';
import { BaseCAM, CamInputs } from './base-cam';

export class CounterfactualCAM extends BaseCAM {
  readonly method = 'counterfactual' as const;

  protected channelWeights({ gradients }: CamInputs): tf.Tensor2D {
    return tf.neg(tf.mean(gradients as tf.Tensor4D, [1, 2])) as tf.Tensor2D;
  }
}

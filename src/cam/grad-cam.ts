/** Grad-CAM (Selvaraju et al.): alpha_k^c = mean over positions of dy^c/dA^k. */
import * as tf from '@tensorflow/tfjs';
import { BaseCAM, CamInputs } from './base-cam';

export class GradCAM extends BaseCAM {
  readonly method = 'gradcam' as const;

  protected channelWeights({ gradients }: CamInputs): tf.Tensor2D {
    return tf.mean(gradients as tf.Tensor4D, [1, 2]) as tf.Tensor2D;
  }
}

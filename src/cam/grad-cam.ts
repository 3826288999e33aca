/** Grad-CAM (Selvaraju et al.): alpha_k^c = mean over positions of dy^c/dA^k. */
import * as tf from '@tensorflow/tfjs';
import { BaseCAM, CamInputs } from './base-cam';

export class GradCAM extends BaseCAM {
  readonly method = 'gradcam' as const;

  protected channelWeights(inputs: CamInputs): tf.Tensor2D {
    // A pooled head's (forward-pass.ts): alpha exactly, read before `gradients`, which would spread the maps.
    if (inputs.gradientMeans) return inputs.gradientMeans;
    const { gradients } = inputs;
    // The mean over positions as a whole-map average pool: one channels-last pass (tfjs-wasm's Mean
    // over axes 1 and 2 transposes the [R,h,w,K] gradients first; R is N x classes for target 'all').
    const [R, h, w, K] = (gradients as tf.Tensor4D).shape;
    return tf.reshape(tf.avgPool(gradients as tf.Tensor4D, [h, w], 1, 'valid'), [R, K]) as tf.Tensor2D;
  }
}

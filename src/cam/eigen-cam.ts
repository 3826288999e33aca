/**
 * EigenCAM (Muhammad & Yeasin, IJCNN 2020), gradient-free and class-agnostic: the map is the
 * projection of A (h*w positions x K channels, centred over positions) on its first principal
 * component. Reported weights: that component's direction (unit length, sign as the map's).
 */
import * as tf from '@tensorflow/tfjs';
import { BaseCAM, CamInputs } from './base-cam';
import { firstComponentDirections } from './principal-component';

export class EigenCAM extends BaseCAM {
  readonly method = 'eigencam' as const;
  protected readonly usesGradients = false;
  protected readonly alwaysProject = true;

  protected channelWeights({ activations }: CamInputs): tf.Tensor2D {
    return firstComponentDirections(activations);
  }

  protected weightedActivations({ activations }: CamInputs): tf.Tensor4D {
    return activations;
  }
}

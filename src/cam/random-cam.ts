/**
 * RandomCAM: channel weights drawn uniformly from [-1, 1], a baseline any real method should beat
 * on the faithfulness metrics. `seed` makes a run repeatable (each call draws new weights).
 */
import * as tf from '@tensorflow/tfjs';
import { BaseCAM, CamInputs, CamOptions } from './base-cam';
import type { CamSource } from './split-types';

export interface RandomCamOptions extends CamOptions {
  seed?: number;
}

export class RandomCAM extends BaseCAM {
  readonly method = 'randomcam' as const;
  protected readonly usesGradients = false;
  private calls = 0;
  private readonly seed?: number;

  constructor(source: CamSource, options: RandomCamOptions = {}) {
    super(source, options);
    this.seed = options.seed;
  }

  protected channelWeights({ activations }: CamInputs): tf.Tensor2D {
    const [R, , , K] = activations.shape;
    const seed = this.seed === undefined ? undefined : this.seed + this.calls++;
    return tf.randomUniform([R, K], -1, 1, 'float32', seed) as tf.Tensor2D;
  }
}

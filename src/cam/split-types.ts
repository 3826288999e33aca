/**
 * The engine's unit: a model split at its target layer (or graph node) into a trunk and a head.
 * Made once by splitAt() and handed to every method, so methods never know the model's format.
 */
import type * as tf from '@tensorflow/tfjs';

/** A model gradcam-ts can explain: a LayersModel or a GraphModel (tf.loadGraphModel). */
export type ExplainableModel = tf.LayersModel | tf.GraphModel;

export type ScoreSource = 'logits' | 'pre-softmax (removed final softmax)';

/** Trunk tensors the head needs: A plus anything from before A that skips over it. */
export interface TrunkValues {
  activations: tf.Tensor4D;
  side: tf.Tensor[];
}

export interface ModelSplit {
  /** The model this split was made from. */
  readonly model: ExplainableModel;
  layerName: string;
  scoreSource: ScoreSource;
  /** [H, W, C] of one input image. */
  inputShape: [number, number, number];
  /** [h, w, K] of A for one image. */
  layerShape: [number, number, number];
  numClasses: number;
  trunk(x: tf.Tensor4D): TrunkValues;
  /** Pre-softmax class scores [N, classes] from trunk values. */
  head(trunk: TrunkValues): tf.Tensor2D;
  /** One pass input -> scores that also yields the trunk values (guided: scoped guided ReLUs). */
  full(x: tf.Tensor4D, guided: boolean): { trunk: TrunkValues; scores: tf.Tensor2D };
  /**
   * The error to report for `err`, thrown while explaining: when it came from differentiating
   * the model, one that names the layer and the fix instead of tfjs's raw message.
   */
  explainFailure(err: unknown, guided: boolean): Error;
}

/** What a method explains: a model (split at its layer option) or a split made once and shared. */
export type CamSource = ExplainableModel | ModelSplit;

export function isModelSplit(source: CamSource): source is ModelSplit {
  return typeof (source as Partial<ModelSplit>).trunk === 'function' && typeof (source as Partial<ModelSplit>).head === 'function';
}

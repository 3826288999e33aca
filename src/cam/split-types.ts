/**
 * The engine's unit: a model split at its target layer (or graph node) into a trunk and a head.
 * Made once by splitAt() and handed to every method, so methods never know the model's format.
 */
import type * as tf from '@tensorflow/tfjs';
import type { TokenGrid } from './node-layout';
import type { OutputInfo } from './outputs';

/** A model gradcam-ts can explain: a LayersModel or a GraphModel (tf.loadGraphModel). */
export type ExplainableModel = tf.LayersModel | tf.GraphModel;

export type ScoreSource = 'logits' | 'pre-softmax (removed final softmax)' | 'pre-sigmoid (removed final sigmoid)';

/** How to split: which output to explain (default the model's first). */
export interface SplitOptions {
  output?: string;
  /** [H, W] for a model that takes any size (default DEFAULT_DYNAMIC_SIZE square). */
  inputSize?: readonly [number, number];
  /** How a token sequence lies on its grid, when its count does not say (graph models). */
  tokens?: TokenGrid;
}

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
  /** The explained output: its name, shape, removed activation and kind. */
  output: OutputInfo;
  /** Every output's name, for choosing another. */
  outputNames: string[];
  /** The output's last dimension (the classes of a classifier). */
  numClasses: number;
  trunk(x: tf.Tensor4D): TrunkValues;
  /** The explained output before its activation [N, ...output.shape], from trunk values. */
  head(trunk: TrunkValues): tf.Tensor;
  /**
   * When A's one reader is a GlobalAveragePooling2D and nothing skips over A: that pool, and the head
   * from its output. dy/dA is then dy/dp / (h w) at every position (the chain rule through a mean),
   * so the head is differentiated on [R, K] pooled rows instead of [R, h, w, K] maps.
   */
  pooled?: { pool(a: tf.Tensor4D): tf.Tensor2D; head(p: tf.Tensor2D): tf.Tensor };
  /** One pass input -> output that also yields the trunk values (guided: scoped guided ReLUs). */
  full(x: tf.Tensor4D, guided: boolean): { trunk: TrunkValues; scores: tf.Tensor };
  /**
   * The error to report for `err`, thrown while explaining: when it came from differentiating
   * the model, one that names the layer and the fix instead of tfjs's raw message.
   */
  explainFailure(err: unknown, guided: boolean): Error;
}

/** What a method explains: a model (split at its layer option) or a split made once and shared. */
export type CamSource = ExplainableModel | ModelSplit;

/** The score source an output's removed activation gives. */
export function scoreSourceOf(output: OutputInfo): ScoreSource {
  if (output.activation === 'softmax') return 'pre-softmax (removed final softmax)';
  if (output.activation === 'sigmoid') return 'pre-sigmoid (removed final sigmoid)';
  return 'logits';
}

export function isModelSplit(source: CamSource): source is ModelSplit {
  return typeof (source as Partial<ModelSplit>).trunk === 'function' && typeof (source as Partial<ModelSplit>).head === 'function';
}

/**
 * The Grad-CAM family's template, shaped like pytorch-grad-cam's BaseCAM: a method is made on a
 * split (splitAt(model, layer), made once and shareable) and only says how to weight the channels.
 * An explanation is five named steps, shared by every method explained together:
 *   1. forwardAndGradients: trunk once per image, the head's gradient for every row at once;
 *   2. channelWeights: the method's alpha [R,K];
 *   3. rawMaps: sum_k alpha_k A^k (or the method's own weighting, or its first principal component), ReLU;
 *   4. upsampleAndNormalise: bilinear to the input size, peak 1;
 *   5. assembleExplanation: plain typed arrays, every tensor disposed.
 */
import * as tf from '@tensorflow/tfjs';
import { CLASS_NAMES } from '../data/cifar10-classes';
import type { CamMethodName } from '../shared/methods';
import { assembleExplanation, MethodArrays, PassArrays } from './assemble';
import { augmentationSmoothed } from './aug-smooth';
import type { CamInputs } from './cam-inputs';
import { CamPass, forwardAndGradients } from './forward-pass';
import { ImageBatch } from './input';
import type { TokenGrid } from './node-layout';
import { upsampleAndNormalise } from './normalise';
import { classCountOf } from './outputs';
import { scoreRows } from './row-targets';
import { firstComponentProjection } from './principal-component';
import { splitAt } from './split';
import { CamSource, ExplainableModel, isModelSplit, ModelSplit } from './split-types';
import { TargetSpec } from './targets';
import type { Explanation } from './types';

export type { CamInputs } from './cam-inputs';
export { MAP_EPSILON } from './normalise';
export { repeatEach } from './forward-pass';

export interface CamOptions {
  /** Target layer name; default: the last layer with a 4-D output. Ignored when given a split. */
  layer?: string;
  /** Names for the classes; default CIFAR-10's when the model has 10 outputs. */
  classNames?: readonly string[];
  /** The output to explain, by name, for a model with several (default its first). Ignored when given a split. */
  output?: string;
  /** [H, W] to explain a graph model that takes any size at (default DEFAULT_DYNAMIC_SIZE square). */
  inputSize?: readonly [number, number];
  /** How a graph model's token sequence lies on its grid, when its count does not say. */
  tokens?: TokenGrid;
}

export interface ExplainOptions {
  /** Class index, class name, 'predicted' (default), 'all', or one target per image. */
  target?: TargetSpec;
  /** Also compute guided backprop and Guided Grad-CAM. */
  guided?: boolean;
  /**
   * Replace sum_k of the weighted activations by their first principal component (pytorch-grad-cam's
   * eigen_smooth): less noise, sign fixed so the larger extreme is positive.
   */
  eigenSmooth?: boolean;
  /** Average the maps over horizontal flips x brightness 0.9/1/1.1, each mapped back (aug_smooth). */
  augSmooth?: boolean;
}

/** The class names a split's classes get by default: CIFAR-10's for a 10-output model. */
export function defaultClassNames(split: ModelSplit, given?: readonly string[]): readonly string[] | undefined {
  const count = classCountOf(split.output);
  const names = given ?? (count === CLASS_NAMES.length ? CLASS_NAMES : undefined);
  if (names && names.length !== count) {
    throw new Error(`Got ${names.length} class names for output '${split.output.name}' with ${count} classes (shape [N,${split.output.shape.join(',')}]); pass one name per class, or none.`);
  }
  return names;
}

/** The output after its activation: softmax for class scores (logits too), sigmoid, or as it is. */
function activated(scores: tf.Tensor, split: ModelSplit): tf.Tensor {
  const { activation, kind } = split.output;
  if (activation === 'softmax' || (activation === 'linear' && kind === 'classes')) return tf.softmax(scores);
  return activation === 'sigmoid' ? tf.sigmoid(scores) : scores;
}

export abstract class BaseCAM {
  abstract readonly method: CamMethodName;
  /** Gradient-free methods (Score-CAM) set this to false and skip the head's gradient. */
  protected readonly usesGradients: boolean = true;
  /** EigenCAM's map is always the first principal component (it has no class weights). */
  protected readonly alwaysProject: boolean = false;
  readonly split: ModelSplit;
  readonly classNames?: readonly string[];

  constructor(source: CamSource, options: CamOptions = {}) {
    this.split = isModelSplit(source) ? source : splitAt(source, options.layer, { output: options.output, inputSize: options.inputSize, tokens: options.tokens });
    this.classNames = defaultClassNames(this.split, options.classNames);
  }

  get model(): ExplainableModel {
    return this.split.model;
  }

  /** Step 2: channel weights alpha [R,K] for each row (for element-wise methods: their position mean). */
  protected abstract channelWeights(inputs: CamInputs): tf.Tensor2D;

  /**
   * Element-wise methods (HiResCAM, LayerCAM) weight each position of A separately: they return
   * the weighted activations [R,h,w,K] here, and the map is their sum over k. Channel-weight
   * methods leave this undefined and the map is one matMul.
   */
  protected weightedActivations?(inputs: CamInputs, weights: tf.Tensor2D): tf.Tensor4D;

  /** Step 3: ReLU(sum_k alpha_k A^k) per row, [R,h,w]. */
  protected rawMaps(pass: CamPass, weights: tf.Tensor2D, eigenSmooth: boolean): tf.Tensor3D {
    const { inputs, perImage, numImages, perRow } = pass;
    const [R] = weights.shape;
    const [h, w, K] = this.split.layerShape;
    let raw: tf.Tensor3D;
    if (this.weightedActivations || eigenSmooth || this.alwaysProject) {
      const weighted = this.weightedActivations?.(inputs, weights) ?? (tf.mul(inputs.activations, tf.reshape(weights, [R, 1, 1, K])) as tf.Tensor4D);
      raw = eigenSmooth || this.alwaysProject ? firstComponentProjection(weighted) : (tf.sum(weighted, 3) as tf.Tensor3D);
    } else {
      // sum_k w_k A^k for every row as one batched matMul on each image's A (no tiled A).
      const weighted = tf.matMul(tf.reshape(perImage, [numImages, h * w, K]), tf.reshape(weights, [numImages, perRow, K]), false, true); // [N,hw,perRow]
      raw = tf.reshape(tf.transpose(weighted, [0, 2, 1]), [R, h, w]) as tf.Tensor3D;
    }
    return tf.relu(raw) as tf.Tensor3D;
  }

  explain(images: ImageBatch, options: ExplainOptions = {}): Explanation {
    if (options.augSmooth) {
      return augmentationSmoothed(images, this.split.inputShape, options.target ?? 'predicted',
        (x, target) => this.explain(x, { ...options, augSmooth: false, target }));
    }
    return BaseCAM.explainTogether([this], images, options)[0];
  }

  /**
   * Several methods on one split from one pass: the trunk, the head's gradient for every requested
   * class and (with `guided`) the guided pass run once; each method adds only its weights and
   * maps. Each result equals that method's own `explain`.
   */
  static explainTogether(cams: readonly BaseCAM[], images: ImageBatch, options: ExplainOptions = {}): Explanation[] {
    if (cams.length === 0) return [];
    if (options.augSmooth) return cams.map((cam) => cam.explain(images, options));
    const { split, classNames } = cams[0];
    const stranger = cams.find((cam) => cam.split !== split && (cam.model !== split.model || cam.split.layerName !== split.layerName));
    if (stranger) {
      throw new Error(`explainTogether: every method must explain the same model at the same layer (got ${stranger.method} at '${stranger.split.layerName}', ${cams[0].method} at '${split.layerName}'); make them from one splitAt(model, layer).`);
    }
    const [H, W] = split.inputShape;
    const kept: tf.Tensor[] = [];
    const keep = <T extends tf.Tensor>(t: T): T => {
      kept.push(tf.keep(t));
      return t;
    };
    const results: Explanation[] = [];
    try {
      tf.tidy(() => {
        const gradients = cams.some((cam) => cam.usesGradients);
        const pass = forwardAndGradients(split, images, { target: options.target, guided: options.guided, gradients, classNames }, keep);
        const shared: PassArrays = {
          rowImage: pass.rowImage,
          targets: pass.targets,
          targetScores: scoreRows(pass.scores, pass.targets).dataSync() as Float32Array,
          logits: pass.scores.dataSync() as Float32Array,
          probabilities: activated(pass.scores, split).dataSync() as Float32Array,
          activations: pass.perImage.dataSync() as Float32Array,
          guided: pass.guided?.dataSync() as Float32Array | undefined,
        };
        for (const cam of cams) {
          const weights = cam.channelWeights(pass.inputs);
          const maps = cam.rawMaps(pass, weights, options.eigenSmooth === true);
          const heat = upsampleAndNormalise(maps, [H, W]);
          const arrays: MethodArrays = {
            method: cam.method,
            weights: weights.dataSync() as Float32Array,
            maps: maps.dataSync() as Float32Array,
            heatmaps: heat.dataSync() as Float32Array,
            guidedGradCam: pass.guided ? (tf.mul(pass.guided, heat).dataSync() as Float32Array) : undefined,
          };
          results.push(assembleExplanation(split, shared, arrays, classNames));
        }
      });
    } catch (err) {
      throw split.explainFailure(err, options.guided === true); // names the layer a gradient failed in
    } finally {
      tf.dispose(kept);
    }
    return results;
  }
}

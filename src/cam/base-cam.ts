/**
 * The Grad-CAM family's mechanics, shaped like pytorch-grad-cam's BaseCAM: split the model at
 * the target layer, run the trunk once, differentiate only the head for every requested class
 * at once (the trunk's activations tiled per class), build maps, upsample, normalise, and
 * optionally add guided backprop from one scoped-guided pass that also yields the trunk values.
 * A method only says how to weight the channels.
 */
import * as tf from '@tensorflow/tfjs';
import { CLASS_NAMES } from '../data/cifar10';
import { ImageBatch, toBatch } from './input';
import { ExplainableModel, ModelSplit, splitModel, TrunkValues } from './split';
import { planRows, TargetSpec } from './targets';
import { CamMethodName, ClassExplanation, Explanation, ImageExplanation } from './types';
import { firstComponentProjection } from './principal-component';
import { augmentationSmoothed } from './aug-smooth';

/** Normalisation floor: an all-zero map stays zero instead of becoming 0/0. */
export const MAP_EPSILON = 1e-7;

export interface CamInputs {
  /** A per row [R,h,w,K] (a row is one (image, class) pair). */
  activations: tf.Tensor4D;
  /** dy^c/dA per row [R,h,w,K]; only for methods that use gradients. */
  gradients?: tf.Tensor4D;
  classes: Int32Array;
  /** The input image of each row [R,H,W,C]. */
  images: tf.Tensor4D;
  /** Pre-softmax score of `classes[i]` for each of `images`, [n] (for gradient-free methods). */
  score(images: tf.Tensor4D, classes: Int32Array): tf.Tensor1D;
  /** Image index of each row: rows of one image share A, so a method can compute per image once. */
  rowImage: Int32Array;
  /** Every class's pre-softmax score [n,classes] for n input images (one pass serves all classes). */
  allScores(images: tf.Tensor4D): tf.Tensor2D;
  /** Every class's score [n,classes] from n variants of row `row`'s A (the head only; e.g. ablations). */
  headScores(activations: tf.Tensor4D, row: number): tf.Tensor2D;
}

export interface CamOptions {
  /** Target layer name; default: the last layer with a 4-D output. */
  layer?: string;
  /** Names for the classes; default CIFAR-10's when the model has 10 outputs. */
  classNames?: readonly string[];
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

/**
 * Each batch entry repeated `times` times in a row (image-major rows). A concat of reshaped
 * views: on tfjs-wasm this is ~10x faster than gather, tile or broadcastTo.
 */
export function repeatEach<T extends tf.Tensor>(t: T, times: number): T {
  if (times === 1) return t;
  const [n, ...rest] = t.shape;
  const flat = tf.reshape(t, [n, 1, -1]);
  return tf.reshape(tf.concat(new Array<tf.Tensor>(times).fill(flat), 1), [n * times, ...rest]) as T;
}

function repeatTrunk(t: TrunkValues, times: number): TrunkValues {
  return { activations: repeatEach(t.activations, times), side: t.side.map((s) => repeatEach(s, times)) };
}

function oneHotRows(classes: Int32Array, numClasses: number): tf.Tensor2D {
  return tf.oneHot(tf.tensor1d(classes, 'int32'), numClasses).toFloat() as tf.Tensor2D;
}

export abstract class BaseCAM {
  abstract readonly method: CamMethodName;
  /** Gradient-free methods (Score-CAM) set this to false and skip the head's gradient. */
  protected readonly usesGradients: boolean = true;
  readonly split: ModelSplit;
  readonly classNames?: readonly string[];

  constructor(readonly model: ExplainableModel, options: CamOptions = {}) {
    this.split = splitModel(model, options.layer);
    this.classNames = options.classNames ?? (this.split.numClasses === CLASS_NAMES.length ? CLASS_NAMES : undefined);
    if (this.classNames && this.classNames.length !== this.split.numClasses) {
      throw new Error(`Got ${this.classNames.length} class names for a model with ${this.split.numClasses} outputs.`);
    }
  }

  /** Channel weights alpha [R,K] for each row (for element-wise methods: their position mean). */
  protected abstract channelWeights(inputs: CamInputs): tf.Tensor2D;

  /**
   * Element-wise methods (HiResCAM, LayerCAM) weight each position of A separately: they return
   * the weighted activations [R,h,w,K] here, and the map is their sum over k. Channel-weight
   * methods leave this undefined and the map is one matMul.
   */
  protected weightedActivations?(inputs: CamInputs, weights: tf.Tensor2D): tf.Tensor4D;
  /** EigenCAM's map is always the first principal component (it has no class weights). */
  protected readonly alwaysProject: boolean = false;

  explain(images: ImageBatch, options: ExplainOptions = {}): Explanation {
    if (options.augSmooth) {
      return augmentationSmoothed(images, this.split.inputShape, options.target ?? 'predicted',
        (x, target) => this.explain(x, { ...options, augSmooth: false, target }));
    }
    return BaseCAM.explainTogether([this], images, options)[0];
  }

  /**
   * Several methods at one layer from one pass: the trunk, the head's gradient for every requested
   * class and (with `guided`) the guided pass run once, and each method only adds its channel
   * weights and maps. Each result equals that method's own `explain`. The methods must explain the
   * same model at the same layer (made by createCam with the same model and layer).
   */
  static explainTogether(cams: readonly BaseCAM[], images: ImageBatch, options: ExplainOptions = {}): Explanation[] {
    if (cams.length === 0) return [];
    if (options.augSmooth) return cams.map((cam) => cam.explain(images, options));
    const { split } = cams[0];
    for (const cam of cams) {
      if (cam.model !== cams[0].model || cam.split.layerName !== split.layerName) {
        throw new Error(`explainTogether: every method must explain the same model at the same layer (got ${cam.method} at '${cam.split.layerName}', ${cams[0].method} at '${split.layerName}').`);
      }
    }
    const classNames = cams[0].classNames;
    const numClasses = split.numClasses;
    const [H, W, C] = split.inputShape;
    const [h, w, K] = split.layerShape;
    const kept: tf.Tensor[] = [];
    const keep = <T extends tf.Tensor>(t: T): T => {
      kept.push(tf.keep(t));
      return t;
    };
    const results: Explanation[] = [];
    try {
      tf.tidy(() => {
        const x = toBatch(images, split.inputShape);
        const N = x.shape[0];
        const plan = planRows(options.target ?? 'predicted', N, numClasses, classNames);
        const R = plan.rowImage.length;
        const perRow = R / N; // rows are image-major: 1 per image, or every class
        const xRows = repeatEach(x, perRow);
        let classes = new Int32Array(0);
        let scores: tf.Tensor2D | undefined;
        let trunk: TrunkValues;
        let perImage: tf.Tensor4D; // A once per image (rows may repeat an image)
        let guided: tf.Tensor4D | undefined;
        if (options.guided) {
          // One taped pass with guided ReLUs gives the input gradient and the trunk values.
          let t: TrunkValues | undefined;
          guided = tf.grad((xr: tf.Tensor) => {
            const out = split.full(xr as tf.Tensor4D, true);
            t = { activations: keep(out.trunk.activations), side: out.trunk.side.map(keep) };
            scores = keep(out.scores);
            classes = plan.classes(out.scores.dataSync() as Float32Array);
            return tf.sum(tf.mul(out.scores, oneHotRows(classes, numClasses)));
          })(xRows) as tf.Tensor4D;
          trunk = t as TrunkValues;
          perImage = perRow === 1 ? trunk.activations : tf.gather(trunk.activations, tf.range(0, R, perRow, 'int32'));
        } else {
          const once = split.trunk(x);
          perImage = once.activations;
          trunk = repeatTrunk(once, perRow);
        }
        let gradients: tf.Tensor4D | undefined;
        if (cams.some((cam) => cam.usesGradients)) {
          gradients = tf.grad((a: tf.Tensor) => {
            const s = split.head({ activations: a as tf.Tensor4D, side: trunk.side });
            if (!scores) {
              scores = keep(s);
              classes = plan.classes(s.dataSync() as Float32Array);
            }
            return tf.sum(tf.mul(s, oneHotRows(classes, numClasses)));
          })(trunk.activations) as tf.Tensor4D;
        } else if (!scores) {
          scores = split.head(trunk);
          classes = plan.classes(scores.dataSync() as Float32Array);
        }
        const rowTrunk = trunk;
        const inputs: CamInputs = {
          activations: trunk.activations,
          gradients,
          classes,
          images: xRows,
          score: (imgs, cls) => tf.sum(tf.mul(split.full(imgs, false).scores, oneHotRows(cls, numClasses)), 1) as tf.Tensor1D,
          rowImage: plan.rowImage,
          allScores: (imgs) => split.full(imgs, false).scores,
          headScores: (a, row) => {
            const n = a.shape[0];
            const side = rowTrunk.side.map((s) => repeatEach(tf.slice(s, [row], [1]), n));
            return split.head({ activations: a, side });
          },
        };
        const logits = (scores as tf.Tensor2D).dataSync() as Float32Array;
        const probs = tf.softmax(scores as tf.Tensor2D).dataSync() as Float32Array;
        const A = perImage.dataSync() as Float32Array;
        const guidedData = guided?.dataSync() as Float32Array | undefined;
        for (const cam of cams) {
          const weights = cam.channelWeights(inputs);
          let raw: tf.Tensor3D;
          if (cam.weightedActivations || options.eigenSmooth || cam.alwaysProject) {
            const weighted = cam.weightedActivations?.(inputs, weights) ?? (tf.mul(trunk.activations, tf.reshape(weights, [R, 1, 1, K])) as tf.Tensor4D);
            raw = options.eigenSmooth || cam.alwaysProject
              ? firstComponentProjection(weighted)
              : tf.sum(weighted, 3) as tf.Tensor3D;
          } else {
            // sum_k w_k A^k for every row as one batched matMul on each image's A (no tiled A).
            const weighted = tf.matMul(tf.reshape(perImage, [N, h * w, K]), tf.reshape(weights, [N, perRow, K]), false, true); // [N,hw,perRow]
            raw = tf.reshape(tf.transpose(weighted, [0, 2, 1]), [R, h, w]) as tf.Tensor3D;
          }
          const maps = tf.relu(raw) as tf.Tensor3D;
          const up = tf.image.resizeBilinear(tf.expandDims(maps, 3) as tf.Tensor4D, [H, W], false, true);
          // Scale each map to peak at exactly 1; a map whose peak is below epsilon (all-zero after the
          // ReLU) stays zero instead of amplifying noise or dividing by zero.
          const peak = tf.max(up, [1, 2, 3], true);
          // (A 0/1 mask multiplied in, not tf.where: where's broadcast costs a Tile on wasm.)
          const heat = tf.mul(tf.div(up, tf.maximum(peak, MAP_EPSILON)), tf.cast(tf.greater(peak, MAP_EPSILON), 'float32')) as tf.Tensor4D;
          const ggc = guided ? tf.mul(guided, heat) : undefined;
          const data = {
            weights: weights.dataSync() as Float32Array,
            maps: maps.dataSync() as Float32Array,
            heat: heat.dataSync() as Float32Array,
            ggc: ggc?.dataSync() as Float32Array | undefined,
          };
          const hw = h * w;
          const HW = H * W;
          const imagesOut: ImageExplanation[] = [];
          for (let r = 0; r < R; r++) {
            const i = plan.rowImage[r];
            if (!imagesOut[i]) {
              const lg = logits.slice(r * numClasses, (r + 1) * numClasses);
              imagesOut[i] = {
                logits: lg,
                probabilities: probs.slice(r * numClasses, (r + 1) * numClasses),
                predicted: lg.indexOf(Math.max(...lg)),
                activations: A.slice(i * hw * K, (i + 1) * hw * K),
                classes: [],
              };
            }
            const c = classes[r];
            const entry: ClassExplanation = {
              classIndex: c,
              className: classNames?.[c],
              score: logits[r * numClasses + c],
              probability: probs[r * numClasses + c],
              weights: data.weights.slice(r * K, (r + 1) * K),
              map: data.maps.slice(r * hw, (r + 1) * hw),
              heatmap: data.heat.slice(r * HW, (r + 1) * HW),
            };
            if (guidedData && data.ggc) {
              entry.guided = guidedData.slice(r * HW * C, (r + 1) * HW * C);
              entry.guidedGradCam = data.ggc.slice(r * HW * C, (r + 1) * HW * C);
            }
            imagesOut[i].classes.push(entry);
          }
          results.push({
            method: cam.method,
            layer: split.layerName,
            scoreSource: split.scoreSource,
            inputShape: split.inputShape,
            layerShape: split.layerShape,
            classNames,
            images: imagesOut,
          });
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

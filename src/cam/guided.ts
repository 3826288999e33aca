/**
 * Guided backprop on its own (Springenberg et al.): the input gradient of y^c where every ReLU
 * passes back only positive gradient through positive input. The rule lives in a re-run of the
 * model's own layers (see graph.ts); the model and tfjs's global Relu gradient stay untouched.
 */
import * as tf from '@tensorflow/tfjs';
import { ImageBatch, toBatch } from './input';
import { defaultClassNames } from './base-cam';
import { outputOfTarget } from './explain';
import { splitAt } from './split';
import { CamSource, isModelSplit, ModelSplit } from './split-types';
import { scoreRows } from './row-targets';
import { planRows, TargetSpec } from './targets';

export interface GuidedBackpropOptions {
  target?: TargetSpec;
  classNames?: readonly string[];
  /** The output to explain, for a model with several (default: the one a target names, else the first). */
  output?: string;
  /** [H, W] for a graph model that takes any size. */
  inputSize?: readonly [number, number];
}

export interface GuidedBackpropResult {
  /** Per (image, class) row: image index, class, and the gradient [H,W,C]. */
  rows: { image: number; classIndex: number; gradient: Float32Array }[];
  inputShape: [number, number, number];
}

export function guidedBackprop(source: CamSource, images: ImageBatch, options: GuidedBackpropOptions = {}): GuidedBackpropResult {
  // Any 4-D layer will do: guided backprop only needs the full pass, not the split.
  const split = isModelSplit(source) ? source : splitAt(source, undefined, { output: options.output ?? outputOfTarget(options.target), inputSize: options.inputSize });
  try {
    return guidedRows(split, images, options);
  } catch (err) {
    throw split.explainFailure(err, true); // names the layer whose gradient failed
  }
}

function guidedRows(split: ModelSplit, images: ImageBatch, options: GuidedBackpropOptions): GuidedBackpropResult {
  const names = defaultClassNames(split, options.classNames);
  const size = split.inputShape[0] * split.inputShape[1] * split.inputShape[2];
  return tf.tidy(() => {
    const x = toBatch(images, split.inputShape);
    const plan = planRows(options.target ?? 'predicted', x.shape[0], { output: split.output, classNames: names });
    const xRows = plan.rowImage.length === x.shape[0] ? x : tf.gather(x, tf.tensor1d(plan.rowImage, 'int32'));
    let classes = new Int32Array(0);
    const grad = tf.grad((xr: tf.Tensor) => {
      const { scores } = split.full(xr as tf.Tensor4D, true);
      const rows = plan.resolve(scores.dataSync() as Float32Array);
      classes = Int32Array.from(rows, (t) => t.classIndex);
      return tf.sum(scoreRows(scores, rows));
    })(xRows);
    const data = grad.dataSync() as Float32Array;
    return {
      rows: Array.from(plan.rowImage, (image, r) => ({ image, classIndex: classes[r], gradient: data.slice(r * size, (r + 1) * size) })),
      inputShape: split.inputShape,
    };
  });
}

/** Accuracy, per-class accuracy and the confusion matrix of any classifier LayersModel on a set. */
import * as tf from '@tensorflow/tfjs';
import { IMAGE_SIZE, ImageSet, NUM_CLASSES } from '../data/cifar10';
import { gatherBatch } from '../data/augment';

export interface Evaluation {
  count: number;
  accuracy: number;
  perClassAccuracy: number[];
  /** confusion[true][predicted] counts. */
  confusion: number[][];
  /** Predicted class per image, for picking examples (e.g. misclassified ones). */
  predictions: Int32Array;
  /** Softmax probability of the predicted class (the model outputs logits), per image. */
  confidence: Float32Array;
  imagesPerSecond: number;
}

/**
 * Refuses a model that cannot be scored on CIFAR-10: another input than 32x32x3 images, or another
 * number of class scores than the data's 10 labels (a 1000-class model gave a table of NaN).
 * `name` is how the sentence names the model (default: its name).
 */
export function assertCifar10Classifier(model: tf.LayersModel, name = `Model '${model.name}'`): void {
  const input = model.inputs[0].shape;
  const [, h, w, c] = input;
  if (input.length !== 4 || h !== IMAGE_SIZE || w !== IMAGE_SIZE || c !== 3) {
    throw new Error(`${name} takes input ${JSON.stringify(input)}, but CIFAR-10 images are [N,${IMAGE_SIZE},${IMAGE_SIZE},3]; evaluate a model made for 32x32 RGB images.`);
  }
  const output = model.outputs[0].shape;
  const classes = output[output.length - 1];
  if (output.length !== 2 || classes !== NUM_CLASSES) {
    throw new Error(
      `${name} has ${classes ?? 'an unknown number of'} outputs (shape ${JSON.stringify(output)}), but the CIFAR-10 data has ${NUM_CLASSES} classes; ` +
        `evaluate a model with ${NUM_CLASSES} class scores, one per CIFAR-10 label.`,
    );
  }
}

export function evaluateModel(
  model: tf.LayersModel,
  set: ImageSet,
  options: { limit?: number; batchSize?: number; onProgress?: (done: number, total: number) => void } = {},
): Evaluation {
  const { limit } = options;
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1)) throw new Error(`The image limit must be a whole number of at least 1; got ${limit}.`);
  if (set.count === 0) throw new Error('The image set is empty; there is nothing to evaluate.');
  assertCifar10Classifier(model);
  const n = Math.min(limit ?? set.count, set.count);
  const batchSize = options.batchSize ?? 200;
  const predictions = new Int32Array(n);
  const confidence = new Float32Array(n);
  const started = Date.now();
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    const idx = Array.from({ length: end - start }, (_, i) => start + i);
    const [pred, conf] = tf.tidy(() => {
      const x = tf.tensor4d(gatherBatch(set.images, idx, undefined), [idx.length, IMAGE_SIZE, IMAGE_SIZE, 3]);
      const logits = model.predict(x) as tf.Tensor2D;
      return [tf.argMax(logits, 1).dataSync() as Int32Array, tf.max(tf.softmax(logits), 1).dataSync() as Float32Array];
    });
    predictions.set(pred, start);
    confidence.set(conf, start);
    options.onProgress?.(end, n);
  }
  const seconds = (Date.now() - started) / 1000;
  const confusion = Array.from({ length: NUM_CLASSES }, () => new Array<number>(NUM_CLASSES).fill(0));
  let correct = 0;
  for (let i = 0; i < n; i++) {
    confusion[set.labels[i]][predictions[i]]++;
    if (set.labels[i] === predictions[i]) correct++;
  }
  const perClassAccuracy = confusion.map((row, c) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total ? row[c] / total : NaN;
  });
  return { count: n, accuracy: correct / n, perClassAccuracy, confusion, predictions, confidence, imagesPerSecond: n / Math.max(seconds, 1e-3) };
}

/** A plain-text report: overall and per-class accuracy, then the confusion matrix. */
export function formatEvaluation(e: Evaluation, classNames: readonly string[]): string {
  const lines = [`accuracy ${(100 * e.accuracy).toFixed(2)}% on ${e.count} test images (${e.imagesPerSecond.toFixed(0)} img/s)`, ''];
  const w = Math.max(...classNames.map((c) => c.length));
  lines.push(`${'true \\ predicted'.padEnd(w + 2)}${classNames.map((c) => c.slice(0, 5).padStart(6)).join('')}   acc`);
  e.confusion.forEach((row, t) => {
    lines.push(`${classNames[t].padEnd(w + 2)}${row.map((v) => String(v).padStart(6)).join('')}  ${(100 * e.perClassAccuracy[t]).toFixed(1).padStart(5)}%`);
  });
  return lines.join('\n');
}

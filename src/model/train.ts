/**
 * The training loop: shuffled, augmented mini-batches; SGD with Nesterov momentum and weight
 * decay; linear warm-up then cosine learning-rate decay (a function of the global step, so a
 * resumed run follows the same schedule); test accuracy and a checkpoint after every epoch.
 * It reports through callbacks and prints nothing: the CLI draws a terminal bar, a notebook
 * draws its own.
 */
import * as tf from '@tensorflow/tfjs';
import { ImageSet, IMAGE_SIZE, NUM_CLASSES } from '../data/cifar10';
import { gatherBatch, makeRandom, shuffledIndices } from '../data/augment';
import { CheckpointState, EpochRecord, hasCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint';
import { forward, initNetwork, namedVariables, NetworkParams, trainableVariables, variableFrom } from './network';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  peakLearningRate: number;
  momentum: number;
  weightDecay: number;
  warmupEpochs: number;
  seed: number;
  /** Folder for checkpoint.json/.bin; required for resuming. */
  checkpointDir?: string;
  resume: boolean;
  /** Limit images per epoch (quick runs, tests). */
  limitTrain?: number;
  limitTest?: number;
  onBatch?: (p: BatchProgress) => void;
  onEpoch?: (r: EpochRecord, params: NetworkParams, state: CheckpointState) => void | Promise<void>;
  /** Data-parallel gradient computation over worker threads (default: this thread only). */
  parallel?: ParallelStepper;
  /** Optional stop flag checked between batches (Ctrl-C handling). */
  shouldStop?: () => boolean;
}

export const DEFAULT_TRAIN_OPTIONS: TrainOptions = {
  epochs: 30,
  batchSize: 64,
  peakLearningRate: 0.05,
  momentum: 0.9,
  weightDecay: 5e-4,
  warmupEpochs: 1,
  seed: 42,
  resume: false,
};

export interface BatchProgress {
  epoch: number;
  totalEpochs: number;
  batch: number;
  batchesPerEpoch: number;
  imagesDone: number;
  imagesPerEpoch: number;
  /** Running mean over the epoch so far. */
  loss: number;
  /** This batch's own loss (noisy; for plotting). */
  batchLoss: number;
  accuracy: number;
  learningRate: number;
  imagesPerSecond: number;
}

export interface TrainResult {
  params: NetworkParams;
  state: CheckpointState;
}

export function learningRateAt(step: number, stepsPerEpoch: number, o: Pick<TrainOptions, 'epochs' | 'warmupEpochs' | 'peakLearningRate'>): number {
  const warmup = o.warmupEpochs * stepsPerEpoch;
  const total = o.epochs * stepsPerEpoch;
  if (step < warmup) return (o.peakLearningRate * (step + 1)) / warmup;
  const progress = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
  return 0.5 * o.peakLearningRate * (1 + Math.cos(Math.PI * progress));
}

/** Accuracy of the training-form network (running BN statistics) on a set. */
export function accuracyOf(params: NetworkParams, set: ImageSet, limit = set.count, batchSize = 250): number {
  let correct = 0;
  const n = Math.min(limit, set.count);
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    const idx = Array.from({ length: end - start }, (_, i) => start + i);
    const hits = tf.tidy(() => {
      const x = tf.tensor4d(gatherBatch(set.images, idx, undefined), [idx.length, IMAGE_SIZE, IMAGE_SIZE, 3]);
      const pred = tf.argMax(forward(params, x, false), 1);
      return tf.sum(tf.equal(pred, tf.tensor1d(set.labels.subarray(start, end), 'int32'))).dataSync()[0];
    });
    correct += hits;
  }
  return correct / n;
}

/** Gradients of the mean loss of one batch (BN in training mode updates the running statistics). */
export interface StepResult {
  grads: tf.NamedTensorMap;
  loss: number;
  hits: number;
}

/** One batch's loss gradients for `weights`, computed in this thread. The caller disposes `grads`. */
export function gradientStep(params: NetworkParams, weights: tf.Variable[], pixels: Float32Array, labels: Int32Array): StepResult {
  return tf.tidy(() => {
    const n = labels.length;
    const x = tf.tensor4d(pixels, [n, IMAGE_SIZE, IMAGE_SIZE, 3]);
    const y = tf.tensor1d(labels, 'int32');
    let predicted: tf.Tensor | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const logits = forward(params, x, true);
      // Kept: variableGrads disposes everything made inside it but the loss and gradients.
      predicted = tf.keep(tf.argMax(logits, 1));
      return tf.losses.softmaxCrossEntropy(tf.oneHot(y, NUM_CLASSES), logits) as tf.Scalar;
    }, weights);
    const hits = tf.sum(tf.equal(predicted as tf.Tensor, y)).dataSync()[0];
    tf.dispose(predicted);
    Object.values(grads).forEach((g) => tf.keep(g));
    return { grads, loss: value.dataSync()[0], hits } as unknown as tf.TensorContainer;
  }) as unknown as StepResult;
}

/** Splits each batch between this thread and worker threads (see data-parallel.ts). */
export interface ParallelStepper {
  step(params: NetworkParams, pixels: Float32Array, labels: Int32Array): Promise<StepResult>;
}

export async function train(trainSet: ImageSet, testSet: ImageSet, options: Partial<TrainOptions> = {}, backend = tf.getBackend()): Promise<TrainResult> {
  const o: TrainOptions = { ...DEFAULT_TRAIN_OPTIONS, ...options };
  const params = initNetwork(undefined, o.seed);
  const weights = trainableVariables(params);
  const velocities = weights.map((w) => variableFrom(() => tf.zerosLike(w), false, `${w.name}/velocity`));
  const checkpointed = [...namedVariables(params), ...velocities];

  let state: CheckpointState = {
    epoch: 0, totalEpochs: o.epochs, batchSize: o.batchSize, peakLearningRate: o.peakLearningRate, seed: o.seed, backend, history: [],
  };
  if (o.resume && o.checkpointDir && hasCheckpoint(o.checkpointDir)) {
    state = loadCheckpoint(o.checkpointDir, checkpointed);
    // A resumed run keeps its schedule unless the caller asks for more epochs.
    state.totalEpochs = Math.max(state.totalEpochs, options.epochs ?? state.totalEpochs);
    o.epochs = state.totalEpochs;
    o.batchSize = state.batchSize;
    o.peakLearningRate = state.peakLearningRate;
  }

  const nTrain = Math.min(o.limitTrain ?? trainSet.count, trainSet.count);
  const stepsPerEpoch = Math.floor(nTrain / o.batchSize);
  const decays = weights.map((w) => w.name.endsWith('kernel'));

  for (let epoch = state.epoch; epoch < o.epochs; epoch++) {
    const random = makeRandom(o.seed * 1000 + epoch);
    const order = shuffledIndices(trainSet.count, random).subarray(0, nTrain);
    const started = Date.now();
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    for (let b = 0; b < stepsPerEpoch; b++) {
      if (o.shouldStop?.()) {
        tf.dispose(velocities);
        return { params, state };
      }
      const idx = order.subarray(b * o.batchSize, (b + 1) * o.batchSize);
      const lr = learningRateAt(epoch * stepsPerEpoch + b, stepsPerEpoch, o);
      const pixels = gatherBatch(trainSet.images, idx, { pad: 4, random });
      const labels = Int32Array.from(idx, (i) => trainSet.labels[i]);
      const { grads, loss, hits } = o.parallel
        ? await o.parallel.step(params, pixels, labels)
        : gradientStep(params, weights, pixels, labels);
      tf.tidy(() => {
        weights.forEach((w, i) => {
          // Nesterov SGD with L2 weight decay on kernels (not on BN scales/shifts or biases).
          const g = decays[i] ? tf.add(grads[w.name], tf.mul(w, o.weightDecay)) : grads[w.name];
          const v = velocities[i];
          v.assign(tf.add(tf.mul(v, o.momentum), g));
          w.assign(tf.sub(w, tf.mul(tf.add(g, tf.mul(v, o.momentum)), lr)));
        });
      });
      tf.dispose(Object.values(grads));
      lossSum += loss * idx.length;
      correct += hits;
      seen += idx.length;
      const elapsed = (Date.now() - started) / 1000;
      o.onBatch?.({
        epoch: epoch + 1, totalEpochs: o.epochs, batch: b + 1, batchesPerEpoch: stepsPerEpoch, imagesDone: seen,
        imagesPerEpoch: stepsPerEpoch * o.batchSize, loss: lossSum / seen, batchLoss: loss, accuracy: correct / seen, learningRate: lr,
        imagesPerSecond: seen / Math.max(elapsed, 1e-3),
      });
    }
    const seconds = (Date.now() - started) / 1000;
    const record: EpochRecord = {
      epoch: epoch + 1,
      trainLoss: lossSum / seen,
      trainAccuracy: correct / seen,
      testAccuracy: accuracyOf(params, testSet, o.limitTest),
      seconds,
      imagesPerSecond: seen / seconds,
    };
    state = { ...state, epoch: epoch + 1, totalEpochs: o.epochs, history: [...state.history, record] };
    if (o.checkpointDir) saveCheckpoint(o.checkpointDir, state, checkpointed);
    await o.onEpoch?.(record, params, state);
  }
  tf.dispose(velocities);
  return { params, state };
}

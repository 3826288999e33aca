/** The training report written beside an exported model (models/cifar10/README.md for the shipped one). */
import type { CheckpointState, EpochRecord } from './checkpoint';

/** The epoch with the highest test accuracy (the latest among equals): the one gradcam train exports. */
export function bestEpoch(state: CheckpointState): EpochRecord {
  return state.history.reduce((b, h) => (h.testAccuracy >= b.testAccuracy ? h : b));
}

export function trainingReport(state: CheckpointState, command: string): string {
  const last = state.history[state.history.length - 1];
  const best = bestEpoch(state);
  const minutes = state.history.reduce((s, h) => s + h.seconds, 0) / 60;
  const done = state.epoch >= state.totalEpochs;
  const rows = state.history.map((h) =>
    `| ${h.epoch} | ${h.trainLoss.toFixed(3)} | ${(100 * h.trainAccuracy).toFixed(1)}% | ${(100 * h.testAccuracy).toFixed(2)}% | ${(h.seconds / 60).toFixed(1)} | ${h.imagesPerSecond.toFixed(0)} |`);
  return [
    '# The shipped CIFAR-10 model',
    '',
    'Trained by `gradcam train` (this repository) on all 50,000 CIFAR-10 training images; test accuracy on the',
    '10,000 test images. Architecture: rescaling (x/127.5 - 1), 6 conv3x3 layers (32-32-pool-64-64-pool-128-128,',
    'batch norm during training, folded into the convolutions on export), global average pooling, dense 10',
    '(logits). The Grad-CAM layer `conv6` is 8x8x128. 288,298 parameters.',
    '',
    `- **Status:** ${done ? 'finished' : `in progress, ${state.epoch} of ${state.totalEpochs} epochs done (resume with \`gradcam train --resume\`)`}`,
    `- **Test accuracy of this export:** ${(100 * best.testAccuracy).toFixed(2)}%, the best epoch so far (${best.epoch})` +
      (best !== last ? `; the latest, epoch ${last.epoch}, reached ${(100 * last.testAccuracy).toFixed(2)}%` : ''),
    `- **Goal:** at least 85%.`,
    `- **Wall time so far:** ${minutes.toFixed(0)} min on the \`${state.backend}\` backend, batch ${state.batchSize}, ` +
      `SGD with Nesterov momentum 0.9, weight decay 5e-4, peak learning rate ${state.peakLearningRate} (1 warm-up epoch, cosine decay over ${state.totalEpochs}), ` +
      'random crops (4-pixel padding) and horizontal flips.',
    `- **Command:** \`${command}\``,
    '',
    '| epoch | train loss | train acc | test acc | minutes | img/s |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

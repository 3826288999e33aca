/**
 * Live training progress in a notebook: one output that is replaced in place (never a wall of
 * log lines) showing a progress line and the loss / accuracy curves. Updates are throttled,
 * both to keep the cell light and because tslab's IOPub stream drops output after ~500
 * messages per cell.
 */
import type { BatchProgress } from '../model/train';
import type { EpochRecord } from '../model/checkpoint';
import { trainingCurvesPng } from '../render';
import { LiveDisplay } from './index';

export interface TrainingView {
  onBatch: (p: BatchProgress) => void;
  onEpoch: (r: EpochRecord) => void;
  /** Final redraw (call after training). */
  finish: () => void;
}

export function liveTrainingView(options: { title?: string; minIntervalMs?: number } = {}): TrainingView {
  const display = new LiveDisplay();
  const minInterval = options.minIntervalMs ?? 3000;
  const batchLoss: { step: number; loss: number }[] = [];
  const epochs: EpochRecord[] = [];
  let stepsPerEpoch = 1;
  let last: BatchProgress | undefined;
  let lastDraw = 0;

  const line = (): string => {
    if (!last) return 'starting...';
    const eta = ((last.totalEpochs - last.epoch) * last.imagesPerEpoch + (last.imagesPerEpoch - last.imagesDone)) / Math.max(last.imagesPerSecond, 1e-6);
    return `epoch ${last.epoch}/${last.totalEpochs} · batch ${last.batch}/${last.batchesPerEpoch} · loss ${last.loss.toFixed(3)} · ` +
      `train acc ${(100 * last.accuracy).toFixed(1)}% · ${last.imagesPerSecond.toFixed(0)} img/s · ETA ${Math.round(eta)} s` +
      (epochs.length ? ` · test acc ${(100 * epochs[epochs.length - 1].testAccuracy).toFixed(1)}%` : '');
  };
  const draw = (): void => {
    lastDraw = Date.now();
    const png = trainingCurvesPng({ batchLoss, epochs, stepsPerEpoch, title: `${options.title ?? 'training'} · ${line()}` });
    display.update({ 'image/png': png.toString('base64'), 'text/plain': line() });
  };

  return {
    onBatch: (p) => {
      last = p;
      stepsPerEpoch = p.batchesPerEpoch;
      batchLoss.push({ step: (p.epoch - 1) * p.batchesPerEpoch + p.batch, loss: p.batchLoss });
      if (Date.now() - lastDraw >= minInterval) draw();
    },
    onEpoch: (r) => {
      epochs.push(r);
      draw();
    },
    finish: draw,
  };
}

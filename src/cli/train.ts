/** `gradcam train`: trains the CIFAR-10 network, exporting the folded model after every epoch. */
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '../backend';
import { readClassNames, readSplit } from '../data/cifar10';
import { foldToLayersModel } from '../model/fold';
import { saveModel, writeFileAtomic } from '../model/io';
import { SHIPPED_CHECKPOINT_DIR, SHIPPED_MODEL_DIR } from '../model/shipped';
import { DEFAULT_TRAIN_OPTIONS, train } from '../model/train';
import { bestEpoch, trainingReport } from '../model/report';
import { DataParallelStepper } from '../model/data-parallel';
import { CIFAR10_ARCHITECTURE } from '../model/network';
import type { CheckpointState } from '../model/checkpoint';
import { numberFlag, ParsedArgs, rejectUnknown, stringFlag, switchFlag } from './args';
import { resolveDataDir } from './data-dir';
import { formatSeconds, ProgressBar } from '../data';

export const TRAIN_OPTIONS = ['epochs', 'batch-size', 'lr', 'data', 'out', 'checkpoint', 'resume', 'limit', 'seed', 'threads'] as const;

export async function trainCommand(args: ParsedArgs): Promise<number> {
  rejectUnknown(args, TRAIN_OPTIONS, 'train');
  const backend = await initBackend();
  const dataDir = await resolveDataDir(stringFlag(args, 'data'));
  const out = path.resolve(stringFlag(args, 'out') ?? SHIPPED_MODEL_DIR);
  const checkpointDir = path.resolve(stringFlag(args, 'checkpoint') ?? (out === SHIPPED_MODEL_DIR ? SHIPPED_CHECKPOINT_DIR : path.join(out, 'checkpoint')));
  const limit = numberFlag(args, 'limit', 0);
  const trainSet = readSplit(dataDir, 'train');
  const testSet = readSplit(dataDir, 'test');
  const classNames = readClassNames(dataDir);
  const epochs = numberFlag(args, 'epochs', DEFAULT_TRAIN_OPTIONS.epochs);
  console.error(`training on ${limit || trainSet.count} images from ${dataDir}; model -> ${out}; checkpoint -> ${checkpointDir}`);

  let stop = false;
  // Ctrl-C, or a TERM from a supervisor: finish the batch, keep the last finished epoch's checkpoint.
  const requestStop = () => {
    stop = true;
    console.error('\nstopping after this batch; the last finished epoch is in the checkpoint (resume with --resume)');
  };
  process.once('SIGINT', requestStop);
  process.once('SIGTERM', requestStop);
  let bar: ProgressBar | undefined;
  // wasm runs single-threaded in Node, so its default is one data-parallel worker thread per
  // core; tfjs-node already spreads each op over the cores itself.
  const threads = numberFlag(args, 'threads', backend.name === 'tensorflow' ? 1 : os.cpus().length);
  const parallel = threads > 1 ? await DataParallelStepper.create(CIFAR10_ARCHITECTURE, threads) : undefined;
  if (parallel) console.error(`data-parallel over ${threads} threads (this one + ${threads - 1} workers)`);
  const started = Date.now();
  const result = await train(trainSet, testSet, {
    epochs,
    batchSize: numberFlag(args, 'batch-size', DEFAULT_TRAIN_OPTIONS.batchSize),
    peakLearningRate: numberFlag(args, 'lr', DEFAULT_TRAIN_OPTIONS.peakLearningRate),
    seed: numberFlag(args, 'seed', DEFAULT_TRAIN_OPTIONS.seed),
    checkpointDir,
    resume: switchFlag(args, 'resume'),
    limitTrain: limit || undefined,
    limitTest: limit ? Math.min(limit, testSet.count) : undefined,
    shouldStop: () => stop,
    parallel,
    onBatch: (p) => {
      bar ??= new ProgressBar({ total: p.imagesPerEpoch, label: `epoch ${p.epoch}/${p.totalEpochs}`, unit: 'img' });
      bar.update(p.imagesDone, `loss ${p.loss.toFixed(3)} acc ${(100 * p.accuracy).toFixed(1)}% lr ${p.learningRate.toFixed(4)}`);
    },
    onEpoch: async (r, params, state: CheckpointState) => {
      bar?.finish();
      bar = undefined;
      console.error(
        `epoch ${r.epoch}: train loss ${r.trainLoss.toFixed(3)} acc ${(100 * r.trainAccuracy).toFixed(1)}%, ` +
          `test acc ${(100 * r.testAccuracy).toFixed(2)}%, ${r.imagesPerSecond.toFixed(0)} img/s, ${formatSeconds(r.seconds)}`,
      );
      // The export is the best epoch so far (the checkpoint always holds the latest, for --resume).
      if (r.testAccuracy >= bestEpoch(state).testAccuracy) {
        const model = foldToLayersModel(params);
        await saveModel(model, out, {
          classNames,
          testAccuracy: r.testAccuracy,
          epochs: r.epoch,
          backend: backend.name,
          trainedBy: 'gradcam train',
        });
        model.dispose();
      }
      writeFileAtomic(path.join(out, 'README.md'), trainingReport(state, `gradcam train ${process.argv.slice(3).join(' ')}`.trim()));
    },
  }, backend.name);
  await parallel?.close();
  writeFileAtomic(path.join(out, 'training-history.json'), JSON.stringify(result.state, null, 1));
  console.error(`finished ${result.state.epoch}/${result.state.totalEpochs} epochs in ${formatSeconds((Date.now() - started) / 1000)}`);
  return stop ? 130 : 0;
}

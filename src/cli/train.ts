/** `gradcam train`: trains the CIFAR-10 network, exporting the folded model after every epoch. */
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '../backend';
import { readClassNames, readSplit } from '../data/cifar10';
import { foldToLayersModel } from '../model/fold';
import { saveModel, writeFileAtomic } from '../model/io';
import { DEFAULT_TRAIN_OPTIONS, train } from '../model/train';
import { bestEpoch, trainingReport } from '../model/report';
import { DataParallelStepper, defaultTrainingThreads } from '../model/data-parallel';
import { CIFAR10_ARCHITECTURE } from '../model/network';
import { CheckpointState, checkpointFiles, hasCheckpoint } from '../model/checkpoint';
import { countFlag, numberFlag, ParsedArgs, rejectUnknown, stringFlag, switchFlag } from './args';
import { resolveDataDir } from './data-dir';
import { trainOutput } from './train-output';
import { formatSeconds, ProgressBar } from '../data';

export const TRAIN_OPTIONS = ['epochs', 'batch-size', 'lr', 'data', 'out', 'checkpoint', 'resume', 'limit', 'seed', 'threads'] as const;

export async function trainCommand(args: ParsedArgs): Promise<number> {
  rejectUnknown(args, TRAIN_OPTIONS, 'train');
  // Every option is checked before the data is read or a folder is made.
  const epochs = countFlag(args, 'epochs', DEFAULT_TRAIN_OPTIONS.epochs);
  const batchSize = countFlag(args, 'batch-size', DEFAULT_TRAIN_OPTIONS.batchSize);
  const limit = stringFlag(args, 'limit') === undefined ? undefined : countFlag(args, 'limit', 1);
  const peakLearningRate = numberFlag(args, 'lr', DEFAULT_TRAIN_OPTIONS.peakLearningRate);
  if (peakLearningRate <= 0) throw new Error(`--lr must be above 0; got ${peakLearningRate}.`);
  const seed = numberFlag(args, 'seed', DEFAULT_TRAIN_OPTIONS.seed);
  const threadsFlag = stringFlag(args, 'threads') === undefined ? undefined : countFlag(args, 'threads', 1);
  const { out, checkpointDir } = trainOutput(stringFlag(args, 'out'), stringFlag(args, 'checkpoint'));
  const resume = switchFlag(args, 'resume');
  if (resume && !hasCheckpoint(checkpointDir)) {
    throw new Error(
      `--resume: there is no checkpoint in ${checkpointDir} (${path.basename(checkpointFiles(checkpointDir).json)} is missing), so there is nothing to resume; ` +
        'leave out --resume to start a new run, or point --checkpoint (or --out) at the folder of the run to continue.',
    );
  }
  console.error(`gradcam train: the model goes to ${out}, the checkpoint to ${checkpointDir}`);
  const backend = await initBackend();
  const dataDir = await resolveDataDir(stringFlag(args, 'data'));
  const trainSet = readSplit(dataDir, 'train');
  const testSet = readSplit(dataDir, 'test');
  const classNames = readClassNames(dataDir);
  const imagesPerEpoch = Math.min(limit ?? trainSet.count, trainSet.count);
  if (!resume && batchSize > imagesPerEpoch) {
    throw new Error(`--batch-size ${batchSize} is more than the ${imagesPerEpoch} training images per epoch${limit ? ' (--limit)' : ''}; lower --batch-size or raise --limit.`);
  }
  console.error(`training on ${imagesPerEpoch} images from ${dataDir}`);

  let stop = false;
  // Ctrl-C, or a TERM from a supervisor: finish the batch, keep the last finished epoch's checkpoint.
  const requestStop = () => {
    stop = true;
    console.error('\nstopping after this batch; the last finished epoch is in the checkpoint (resume with --resume)');
  };
  process.once('SIGINT', requestStop);
  process.once('SIGTERM', requestStop);
  let bar: ProgressBar | undefined;
  const threads = threadsFlag ?? defaultTrainingThreads(backend.name, os.cpus().length);
  const parallel = threads > 1 ? await DataParallelStepper.create(CIFAR10_ARCHITECTURE, threads) : undefined;
  if (parallel) console.error(`data-parallel over ${threads} threads (this one + ${threads - 1} workers)`);
  const started = Date.now();
  const result = await train(trainSet, testSet, {
    epochs,
    batchSize,
    peakLearningRate,
    seed,
    checkpointDir,
    resume,
    limitTrain: limit,
    limitTest: limit === undefined ? undefined : Math.min(limit, testSet.count),
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
  const { state } = result;
  console.error(`finished ${state.epoch}/${state.totalEpochs} epochs in ${formatSeconds((Date.now() - started) / 1000)}`);
  if (state.epoch === 0) {
    console.error(`no epoch finished, so nothing was written to ${out}`);
  } else {
    writeFileAtomic(path.join(out, 'training-history.json'), JSON.stringify(state, null, 1));
    const best = bestEpoch(state);
    console.error(`model (epoch ${best.epoch}, test accuracy ${(100 * best.testAccuracy).toFixed(2)}%) in ${out}; checkpoint in ${checkpointDir}`);
  }
  return stop ? 130 : 0;
}

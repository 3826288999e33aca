/** `gradcam evaluate`: accuracy, per-class accuracy and confusion matrix of a model on the test set. */
import * as path from 'path';
import { initBackend } from '../backend';
import { readClassNames, readSplit } from '../data/cifar10';
import { evaluateModel, formatEvaluation } from '../model/evaluate';
import { loadModel, readModelMetadata, writeFileAtomic } from '../model/io';
import { SHIPPED_MODEL_DIR } from '../model/shipped';
import { confusionMatrixPng } from '../render/confusion';
import { numberFlag, ParsedArgs, rejectUnknown, stringFlag } from './args';
import { resolveDataDir } from './data-dir';
import { ProgressBar } from '../data';

export const EVALUATE_OPTIONS = ['model', 'data', 'limit', 'confusion-png'] as const;

export async function evaluateCommand(args: ParsedArgs): Promise<number> {
  rejectUnknown(args, EVALUATE_OPTIONS, 'evaluate');
  await initBackend();
  const modelDir = path.resolve(stringFlag(args, 'model') ?? SHIPPED_MODEL_DIR);
  const model = await loadModel(modelDir);
  const meta = readModelMetadata(modelDir);
  const dataDir = await resolveDataDir(stringFlag(args, 'data'));
  const test = readSplit(dataDir, 'test');
  const classNames = Array.isArray(meta.classNames) ? (meta.classNames as string[]) : readClassNames(dataDir);
  const limit = numberFlag(args, 'limit', test.count);
  const bar = new ProgressBar({ total: Math.min(limit, test.count), label: 'evaluating', unit: 'img' });
  const result = evaluateModel(model, test, { limit, onProgress: (done) => bar.update(done) });
  bar.finish();
  console.log(`model ${modelDir}${meta.epochs ? ` (${meta.epochs} epochs, ${meta.trainedBy ?? 'unknown trainer'})` : ''}`);
  console.log(formatEvaluation(result, classNames));
  const png = stringFlag(args, 'confusion-png');
  if (png) {
    writeFileAtomic(png, confusionMatrixPng(result.confusion, classNames, `${path.basename(modelDir)}: ${(100 * result.accuracy).toFixed(2)}% test accuracy`));
    console.log(`confusion matrix written to ${png}`);
  }
  model.dispose();
  return 0;
}

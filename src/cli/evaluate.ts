/** `gradcam evaluate`: accuracy, per-class accuracy and confusion matrix of a model on the test set. */
import * as path from 'path';
import { initBackend } from '../backend';
import { NUM_CLASSES, readClassNames, readSplit } from '../data/cifar10';
import { assertCifar10Classifier, evaluateModel, formatEvaluation } from '../model/evaluate';
import { loadModel, readModelMetadata, writeFileAtomic } from '../model/io';
import { SHIPPED_MODEL_DIR } from '../model/shipped';
import { confusionMatrixPng } from '../render/confusion';
import { countFlag, ParsedArgs, rejectUnknown, stringFlag } from './args';
import { resolveDataDir } from './data-dir';
import { ProgressBar } from '../data';

export const EVALUATE_OPTIONS = ['model', 'data', 'limit', 'confusion-png'] as const;

export async function evaluateCommand(args: ParsedArgs): Promise<number> {
  rejectUnknown(args, EVALUATE_OPTIONS, 'evaluate');
  // --limit 0 printed "accuracy NaN%" and -3 a raw "Invalid typed array length".
  const limit = stringFlag(args, 'limit') === undefined ? undefined : countFlag(args, 'limit', 1);
  await initBackend();
  const modelDir = path.resolve(stringFlag(args, 'model') ?? SHIPPED_MODEL_DIR);
  const model = await loadModel(modelDir);
  assertCifar10Classifier(model, `The model in ${modelDir}`);
  const meta = readModelMetadata(modelDir);
  const dataDir = await resolveDataDir(stringFlag(args, 'data'));
  const test = readSplit(dataDir, 'test');
  const named = Array.isArray(meta.classNames) && meta.classNames.length === NUM_CLASSES;
  const classNames = named ? (meta.classNames as string[]) : readClassNames(dataDir);
  const bar = new ProgressBar({ total: Math.min(limit ?? test.count, test.count), label: 'evaluating', unit: 'img' });
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

/** `gradcam demo` (npm run demo): the figures from the shipped examples, then a full evaluation if the data is already here. */
import { locateCifar10 } from '../data';
import { readModelMetadata } from '../model/io';
import { SHIPPED_MODEL_DIR } from '../model/shipped';
import { ParsedArgs, parseArgs, rejectUnknown, stringFlag } from './args';
import { evaluateCommand } from './evaluate';
import { figuresCommand } from './figures';

export async function demoCommand(args: ParsedArgs): Promise<number> {
  rejectUnknown(args, ['out'], 'demo');
  const out = stringFlag(args, 'out') ?? 'gradcam-figures';
  const code = await figuresCommand(parseArgs(['--out', out]));
  if (code !== 0) return code;
  let dataDir: string | undefined;
  try {
    dataDir = await locateCifar10({ download: false });
  } catch {
    const meta = readModelMetadata(SHIPPED_MODEL_DIR);
    if (typeof meta.testAccuracy === 'number') {
      console.log(`\nShipped model: ${(100 * meta.testAccuracy).toFixed(2)}% test accuracy on the 10,000 CIFAR-10 test images, as measured by \`gradcam train\` at its epoch ${meta.epochs}.`);
    }
    console.log('Full test-set evaluation here skipped: CIFAR-10 is not downloaded yet. Run `npx gradcam evaluate` to download it (160 MiB) and evaluate.');
    return 0;
  }
  console.log('');
  return evaluateCommand(parseArgs(['--data', dataDir, '--confusion-png', `${out}/confusion-matrix.png`]));
}

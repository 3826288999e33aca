/** `gradcam export-examples`: stores chosen CIFAR-10 test images as the shipped example PNGs. */
import { ExampleRole, writeExamples, EXAMPLES_DIR } from '../render/examples';
import { readClassNames, readSplit } from '../data/cifar10';
import { ParsedArgs, rejectUnknown, stringFlag } from './args';
import { resolveDataDir } from './data-dir';

export const EXPORT_EXAMPLES_OPTIONS = ['pick', 'data', 'out'] as const;
const ROLES: readonly ExampleRole[] = ['deer', 'ship', 'misclassified', 'gallery'];

/** `--pick deer=505,159;ship=166;misclassified=24,3` */
export function parsePicks(spec: string): { testIndex: number; role: ExampleRole }[] {
  return spec.split(';').flatMap((group) => {
    const [role, list] = group.split('=');
    if (!ROLES.includes(role as ExampleRole) || !list) throw new Error(`--pick group '${group}' should look like deer=505,159 (roles: ${ROLES.join(', ')})`);
    return list.split(',').map((n) => ({ testIndex: Number(n), role: role as ExampleRole }));
  });
}

export async function exportExamplesCommand(args: ParsedArgs): Promise<number> {
  rejectUnknown(args, EXPORT_EXAMPLES_OPTIONS, 'export-examples');
  const spec = stringFlag(args, 'pick');
  if (!spec) throw new Error('gradcam export-examples: --pick "deer=505;ship=166;misclassified=24,3" is required.');
  const dir = await resolveDataDir(stringFlag(args, 'data'));
  const entries = writeExamples(readSplit(dir, 'test'), parsePicks(spec), readClassNames(dir), stringFlag(args, 'out') ?? EXAMPLES_DIR);
  entries.forEach((e) => console.log(`${e.role}: test #${e.testIndex} (${e.className}) -> ${e.file}`));
  return 0;
}

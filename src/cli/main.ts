/** The `gradcam` command: thin subcommands over the rooms; no logic of its own. */
import { parseArgs } from './args';
import { demoCommand } from './demo';
import { evaluateCommand } from './evaluate';
import { explainCommand } from './explain';
import { exportExamplesCommand } from './export-examples';
import { figuresCommand } from './figures';
import { infoCommand } from './info';
import { installKernelCommand } from './install-kernel';
import { installWidgetCommand } from './install-widget';
import { labCommand } from './lab';
import { trainCommand } from './train';
import { trustCommand } from './trust';

type Command = (args: ReturnType<typeof parseArgs>) => Promise<number>;

interface CommandEntry {
  run: Command;
  switches: string[];
  help: string;
}

// A Map, not a plain object: the user's word must never reach Object.prototype ('__proto__', 'constructor').
const COMMANDS = new Map<string, CommandEntry>(Object.entries({
  demo: { run: demoCommand, switches: [], help: 'demo [--out DIR]            figures from the shipped model and examples, then evaluation if the data is here' },
  info: { run: infoCommand, switches: [], help: 'info                      backend, versions, where data and model are found' },
  evaluate: { run: evaluateCommand, switches: [], help: 'evaluate [--model DIR --data DIR --limit N --confusion-png FILE]' },
  explain: { run: explainCommand, switches: [], help: 'explain <image.png|jpg | --cifar-test N> [--class NAME|N|pred|all] [--layer NAME] [--method gradcam|gradcam++|scorecam|guided|counterfactual] [--model DIR] [--labels FILE] [--input-range 0-255|0-1|-1..1|caffe|torch] [--colormap jet|viridis|turbo] [--opacity X] --out FILE.png' },
  figures: { run: figuresCommand, switches: [], help: 'figures [--out DIR --model DIR]   the deer, ship and misclassified figures from the shipped examples' },
  'export-examples': { run: exportExamplesCommand, switches: [], help: 'export-examples --pick "deer=N;ship=N;misclassified=N,N" [--data DIR]' },
  'install-kernel': { run: installKernelCommand, switches: ['user', 'sys-prefix'], help: 'install-kernel [--user | --sys-prefix | --prefix DIR]   the "TypeScript (gradcam-ts)" Jupyter kernel' },
  'install-widget': { run: installWidgetCommand, switches: ['user', 'sys-prefix'], help: 'install-widget [--user | --sys-prefix | --prefix DIR]   the prebuilt JupyterLab 4 / Notebook 7 extension' },
  lab: { run: labCommand, switches: ['notebook'], help: 'lab [--notebook] [--port N] [--dir DIR]   open the notebooks in the project\'s JupyterLab 4 (or Notebook 7), made on first use' },
  trust: { run: trustCommand, switches: [], help: 'trust [--methods gradcam,scorecam,...] [--images N] [--model DIR] [--data DIR] [--baseline blur|mean] [--randomisation-images N] --out DIR   faithfulness table, curves and randomisation figure' },
  train: { run: trainCommand, switches: ['resume'], help: 'train [--epochs N --batch-size N --lr X --data DIR --out DIR (default ./gradcam-model) --checkpoint DIR --resume --limit N --threads N]' },
} satisfies Record<string, CommandEntry>));

export function usage(): string {
  return ['usage: gradcam <command> [options]', ...[...COMMANDS.values()].map((c) => `  gradcam ${c.help}`)].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS.get(name);
  if (!command) {
    console.error(`gradcam: unknown command '${name}'\n${usage()}`);
    return 2;
  }
  return command.run(parseArgs(rest, command.switches));
}

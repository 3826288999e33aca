/** The `gradcam` command: thin subcommands over the rooms; no logic of its own. */
import { parseArgs } from './args';
import { commandHelp, HELP } from './help';
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
}

// A Map, not a plain object: the user's word must never reach Object.prototype ('__proto__', 'constructor').
const COMMANDS = new Map<string, CommandEntry>(Object.entries({
  demo: { run: demoCommand, switches: [] },
  info: { run: infoCommand, switches: [] },
  evaluate: { run: evaluateCommand, switches: [] },
  explain: { run: explainCommand, switches: [] },
  figures: { run: figuresCommand, switches: [] },
  'export-examples': { run: exportExamplesCommand, switches: [] },
  'install-kernel': { run: installKernelCommand, switches: ['user', 'sys-prefix'] },
  'install-widget': { run: installWidgetCommand, switches: ['user', 'sys-prefix'] },
  lab: { run: labCommand, switches: ['notebook'] },
  trust: { run: trustCommand, switches: [] },
  train: { run: trainCommand, switches: ['resume'] },
} satisfies Record<string, CommandEntry>));

export function usage(): string {
  return ['usage: gradcam <command> [options]   (gradcam <command> --help says more)', ...[...COMMANDS.keys()].map((c) => `  gradcam ${HELP[c].usage}`)].join('\n');
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
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(commandHelp(name));
    return 0;
  }
  return command.run(parseArgs(rest, command.switches));
}

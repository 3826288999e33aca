/** A tiny `--flag value` / `--switch` parser: the CLI has few options and no need for a dependency. */
export interface ParsedArgs {
  positional: string[];
  flags: Map<string, string | true>;
}

export function parseArgs(argv: string[], switches: readonly string[] = []): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    if (eq > 0) flags.set(name, arg.slice(eq + 1));
    else if (switches.includes(name) || i + 1 >= argv.length || argv[i + 1].startsWith('--')) flags.set(name, true);
    else flags.set(name, argv[++i]);
  }
  return { positional, flags };
}

export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags.get(name);
  if (v === true) throw new Error(`--${name} needs a value`);
  return v;
}

export function numberFlag(args: ParsedArgs, name: string, fallback: number): number {
  const v = stringFlag(args, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} expects a number, got '${v}'`);
  return n;
}

/** A count such as --epochs or --batch-size: a whole number of at least 1 (0, -1 and 2.5 are refused). */
export function countFlag(args: ParsedArgs, name: string, fallback: number): number {
  const n = numberFlag(args, name, fallback);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a whole number of at least 1; got '${stringFlag(args, name)}'.`);
  return n;
}

export function switchFlag(args: ParsedArgs, name: string): boolean {
  return args.flags.get(name) === true || args.flags.get(name) === 'true';
}

/** Rejects options a command does not know, so a typo is not silently ignored. */
export function rejectUnknown(args: ParsedArgs, known: readonly string[], command: string): void {
  for (const name of args.flags.keys()) {
    if (!known.includes(name)) throw new Error(`gradcam ${command}: unknown option --${name} (known: ${known.map((k) => `--${k}`).join(' ')})`);
  }
}

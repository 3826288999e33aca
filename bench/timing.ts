/**
 * How the bench scripts time things and say how far their figures can be trusted: the median and
 * the fastest of repeated calls after warm-up, ours and a peer's taken in alternating rounds (so a
 * change in machine load hits both), and the machine's state printed with every table: CPU model,
 * cores, and the 1-minute load average before, during and after. A table taken while the load was
 * 1 or more (other work competing for the cores) labels its ratios provisional instead of claiming them.
 */
import * as fs from 'fs';
import * as os from 'os';

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** [median, min] ms of `fn` over `repeats` calls, after two warm-up calls. */
export function time(fn: () => void, repeats: number): [number, number] {
  fn();
  fn();
  const ms: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
  }
  return [median(ms), Math.min(...ms)];
}

/** Per-call milliseconds of `repeats` calls of `fn` (sync or async), no warm-up. */
export async function timeCalls(fn: () => unknown, repeats: number): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return ms;
}

/** A side of a comparison: per-call ms of one round, or why it could not run (a peer's error). */
export type Side = () => Promise<number[] | string>;

/**
 * `rounds` rounds, each side once per round in turn (ours, peer, ours, peer, ...), never all of one
 * side first: load that comes and goes then lands on both. Returns each side's ms, or its error.
 */
export async function alternate(sides: readonly Side[], rounds: number, watch?: LoadWatch): Promise<(number[] | string)[]> {
  const out: (number[] | string)[] = sides.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (const [i, side] of sides.entries()) {
      const ms = await side();
      if (typeof ms === 'string') out[i] = ms;
      else if (typeof out[i] !== 'string') (out[i] as number[]).push(...ms);
    }
    watch?.sample();
  }
  return out;
}

/** The 1-minute load average from /proc/loadavg (os.loadavg() elsewhere). */
export function loadNow(): number {
  try {
    return Number(fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return os.loadavg()[0];
  }
}

/** The CPU's model name from /proc/cpuinfo (os.cpus() elsewhere). */
export function cpuModel(): string {
  try {
    const name = /^model name\s*:\s*(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1];
    if (name) return name.trim();
  } catch {
    // not Linux
  }
  return os.cpus()[0]?.model ?? 'unknown CPU';
}

/** Load at or above this (1-minute average) means other work competed for the cores. */
export const QUIET_LOAD = 1;

/**
 * The machine's state over one bench run. `start()` reads the load before anything runs; call
 * `sample()` between measurements and `end()` after; `ratio()` names ratios honestly.
 */
export class LoadWatch {
  readonly cpu = cpuModel();
  readonly cores = os.cpus().length;
  readonly before: number;
  private readonly samples: number[];
  private after?: number;

  private constructor() {
    this.before = loadNow();
    this.samples = [this.before];
  }

  static start(): LoadWatch {
    return new LoadWatch();
  }

  sample(): number {
    const l = loadNow();
    this.samples.push(l);
    return l;
  }

  end(): number {
    this.after = this.sample();
    return this.after;
  }

  /** The highest 1-minute load seen so far. */
  get max(): number {
    return Math.max(...this.samples);
  }

  /** Whether the load reached QUIET_LOAD at any point: then ratios are provisional. */
  get provisional(): boolean {
    return this.max >= QUIET_LOAD;
  }

  /** "CPU · cores · load before": the line every table starts with. */
  header(): string {
    return `${new Date().toISOString()} · CPU ${this.cpu} · ${this.cores} cores · load (1-min) before ${this.before.toFixed(2)}`;
  }

  /** The line every table ends with: load before/after/max and whether the ratios are claims. */
  footer(): string {
    const after = this.after ?? this.sample();
    const verdict = this.provisional
      ? `ratios PROVISIONAL (load ${this.max.toFixed(2)} >= ${QUIET_LOAD}: other work shared the cores; re-run on a quiet machine)`
      : `load stayed under ${QUIET_LOAD}: quiet run`;
    return `CPU ${this.cpu}, ${this.cores} cores · load (1-min) before ${this.before.toFixed(2)}, after ${after.toFixed(2)}, max ${this.max.toFixed(2)} · ${verdict}`;
  }

  /** A ratio's column title: "ratio", or "provisional ratio (load X)" when loaded. */
  ratioTitle(name = 'ratio'): string {
    return this.provisional ? `provisional ${name} (load ${this.max.toFixed(1)})` : name;
  }

  /** A ratio's value as printed: provisional ones carry the mark. */
  ratio(value: number, digits = 2): string {
    return this.provisional ? `${value.toFixed(digits)} (provisional)` : value.toFixed(digits);
  }
}

/**
 * How the bench scripts time things and say how far their figures can be trusted: the median and
 * the fastest of repeated calls after warm-up, ours and a peer's taken in alternating rounds (so a
 * change in machine load hits both), and the machine's state printed with every table: CPU model,
 * cores, the 1-minute load average before, during and after, and the CPU other processes took while
 * it ran. A table taken with the load at 1 or more before it, or with other processes taking a
 * quarter of a core or more during it, labels its ratios provisional instead of claiming them.
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

/** Idle time before each side's turn in `alternate`. */
const SETTLE_MS = 100;

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
      // A pause before each side's turn: the other side's threads (TensorFlow's and PyTorch's spin
      // after work, ours 50 us) are asleep before the clock starts, so neither pays for the other.
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
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

/** Load at or above this (1-minute average) before a run means other work was competing for the cores. */
export const QUIET_LOAD = 1;
/** Other processes using this many cores on average during a run (not ours, not our peer's) make it loaded. */
export const QUIET_OTHERS = 0.25;

/** Set by a bench that re-runs itself (one process per backend): the load before its first run. */
export const LOAD_BEFORE_ENV = 'GRADCAM_BENCH_LOAD_BEFORE';

/** Clock ticks per second of /proc's CPU times (USER_HZ; 100 on Linux). */
const TICKS = 100;

/** Busy CPU time of the whole machine, in ticks (/proc/stat's first line: all but idle and iowait). */
function machineBusyTicks(): number {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = f;
  return user + nice + system + irq + softirq + (steal ?? 0);
}

/** This process and every process below it (the PyTorch or TensorFlow peer), by /proc's parent links,
 * with the children each has waited for. */
function ourTreeTicks(): number {
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      // Fields after the command (which may hold spaces) start at ')'.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(name), Number(rest[1]));
      // utime + stime, and cutime + cstime: the time of its children that have ended and been
      // waited for (a spawnSync'd helper that finished before the measurement), which would
      // otherwise leave /proc and be counted as another process's load.
      ticks.set(Number(name), Number(rest[11]) + Number(rest[12]) + Number(rest[13]) + Number(rest[14]));
    } catch {
      // the process ended while we read
    }
  }
  const ours = (pid: number): boolean => {
    for (let p: number | undefined = pid, hops = 0; p && hops < 64; p = parent.get(p), hops++) if (p === process.pid) return true;
    return false;
  };
  let sum = 0;
  for (const [pid, t] of ticks) if (ours(pid)) sum += t;
  return sum;
}

/** CPU ticks so far: the machine's busy time and ours (this process tree), or undefined off Linux. */
function cpuTicks(): { machine: number; ours: number; at: number } | undefined {
  try {
    return { machine: machineBusyTicks(), ours: ourTreeTicks(), at: performance.now() };
  } catch {
    return undefined;
  }
}

/**
 * The machine's state over one bench run. `start()` reads the load before anything runs; call
 * `sample()` between measurements and `end()` after; `ratio()` names ratios honestly. The 1-minute
 * load during a run counts the bench's own threads too, so what decides whether a run was quiet is
 * the load before it and the CPU that *other* processes took while it ran (machine busy time minus
 * this process tree's, from /proc), in cores on average.
 */
export class LoadWatch {
  readonly cpu = cpuModel();
  readonly cores = os.cpus().length;
  readonly before: number;
  private readonly samples: number[];
  private after?: number;
  private readonly ticksAtStart = cpuTicks();

  private constructor() {
    // A script that re-runs itself per backend passes the load it read before the first run.
    const given = Number(process.env[LOAD_BEFORE_ENV]);
    this.before = process.env[LOAD_BEFORE_ENV] !== undefined && Number.isFinite(given) ? given : loadNow();
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

  /** The highest 1-minute load seen so far (the bench's own threads included). */
  get max(): number {
    return Math.max(...this.samples);
  }

  /** Cores other processes used on average since the start (undefined where /proc is missing). */
  get others(): number | undefined {
    const now = cpuTicks();
    const start = this.ticksAtStart;
    if (!now || !start || now.at <= start.at) return undefined;
    const seconds = (now.at - start.at) / 1000;
    return Math.max(0, (now.machine - start.machine - (now.ours - start.ours)) / TICKS / seconds);
  }

  /** Loaded before the start, or other processes took QUIET_OTHERS cores or more during it: ratios are provisional. */
  get provisional(): boolean {
    const others = this.others;
    return this.before >= QUIET_LOAD || (others === undefined ? this.max >= QUIET_LOAD : others >= QUIET_OTHERS);
  }

  /** "CPU · cores · load before": the line every table starts with. */
  header(): string {
    return `${new Date().toISOString()} · CPU ${this.cpu} · ${this.cores} cores · load (1-min) before ${this.before.toFixed(2)}`;
  }

  /** The line every table ends with: load before/after/max, other processes' CPU, and whether the ratios are claims. */
  footer(): string {
    const after = this.after ?? this.sample();
    const others = this.others;
    const othersText = others === undefined ? '' : ` · other processes used ${others.toFixed(2)} cores on average`;
    const verdict = this.provisional
      ? `ratios PROVISIONAL (load before ${this.before.toFixed(2)}${others === undefined ? `, max ${this.max.toFixed(2)}` : `, others ${others.toFixed(2)} cores`}: other work shared the cores; re-run on a quiet machine)`
      : `quiet run (load before < ${QUIET_LOAD}, other processes < ${QUIET_OTHERS} cores)`;
    return `CPU ${this.cpu}, ${this.cores} cores · load (1-min) before ${this.before.toFixed(2)}, after ${after.toFixed(2)}, max ${this.max.toFixed(2)} (our own threads included)${othersText} · ${verdict}`;
  }

  /** A ratio's column title: "ratio", or "provisional ratio" when loaded. */
  ratioTitle(name = 'ratio'): string {
    return this.provisional ? `provisional ${name}` : name;
  }

  /** A ratio's value as printed: provisional ones carry the mark. */
  ratio(value: number, digits = 2): string {
    return this.provisional ? `${value.toFixed(digits)} (provisional)` : value.toFixed(digits);
  }
}

/**
 * A tiny progress bar for downloads and training: redraws one line with \r on a terminal, and
 * prints a plain line every 10% elsewhere so CI logs stay short but still show movement.
 */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface ProgressBarOptions {
  /** Units of work in all; 0 or undefined when unknown (then only counts and rates are shown). */
  total?: number;
  label?: string;
  /** 'B' formats counts as bytes (KiB, MiB); anything else is printed after the count ('img', 'batch'). */
  unit?: string;
  /** Work already done before this run (a resumed download, a resumed epoch): shown, but left out of the rate. */
  initial?: number;
  stream?: ProgressStream;
  /** Minimum time between terminal redraws, so per-chunk updates cost nothing. */
  redrawMs?: number;
}

const BAR_WIDTH = 24;

export class ProgressBar {
  private readonly total: number;
  private readonly label: string;
  private readonly unit: string;
  private readonly stream: ProgressStream;
  private readonly redrawMs: number;
  private readonly start = Date.now();
  private lastDraw = 0;
  private lastDecile = -1;
  private readonly initial: number;
  private done: number;

  constructor(opts: ProgressBarOptions = {}) {
    this.total = opts.total && opts.total > 0 ? opts.total : 0;
    this.label = opts.label ?? '';
    this.unit = opts.unit ?? '';
    this.stream = opts.stream ?? process.stderr;
    this.redrawMs = opts.redrawMs ?? 100;
    this.initial = opts.initial ?? 0;
    this.done = this.initial;
  }

  update(done: number, extraText = ''): void {
    this.done = done;
    if (this.stream.isTTY) {
      const now = Date.now();
      if (now - this.lastDraw < this.redrawMs && done < this.total) return;
      this.lastDraw = now;
      this.stream.write(`\r${this.line(extraText)}\x1b[K`);
      return;
    }
    if (!this.total) return;
    const decile = Math.floor((10 * Math.min(done, this.total)) / this.total);
    if (decile > this.lastDecile) {
      this.lastDecile = decile;
      this.stream.write(`${this.line(extraText)}\n`);
    }
  }

  /** Prints the final state on its own line (once more in logs only if the last decile line was not 100%). */
  finish(extraText = ''): void {
    const text = this.line(extraText, true);
    if (this.stream.isTTY) this.stream.write(`\r${text}\x1b[K\n`);
    else if (this.lastDecile < 10 || extraText) this.stream.write(`${text}\n`);
    this.lastDecile = 10;
  }

  private line(extraText: string, final = false): string {
    const seconds = (Date.now() - this.start) / 1000;
    const rate = seconds > 0 ? (this.done - this.initial) / seconds : 0;
    const parts: string[] = [];
    if (this.label) parts.push(this.label);
    if (this.total) {
      const fraction = Math.min(1, this.done / this.total);
      const filled = Math.round(BAR_WIDTH * fraction);
      parts.push(`[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${(100 * fraction).toFixed(0).padStart(3)}%`);
      parts.push(`${this.amount(this.done)}/${this.amount(this.total)}`);
    } else {
      parts.push(this.amount(this.done));
    }
    if (rate > 0) parts.push(`${this.amount(rate)}/s`);
    if (final) parts.push(`in ${formatSeconds(seconds)}`);
    else if (this.total && rate > 0) parts.push(`ETA ${formatSeconds((this.total - this.done) / rate)}`);
    if (extraText) parts.push(extraText);
    return parts.join(' ');
  }

  private amount(n: number): string {
    if (this.unit === 'B') return formatBytes(n);
    const shown = Number.isInteger(n) ? String(n) : n.toFixed(1);
    return this.unit ? `${shown} ${this.unit}` : shown;
  }
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(n)} B` : `${n.toFixed(1)} ${units[i]}`;
}

export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s % 60).padStart(2, '0')}s`;
}

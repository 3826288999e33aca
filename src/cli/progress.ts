/** One self-overwriting status line on a terminal; a line every few seconds in logs (CI, pipes). */
export class LineProgress {
  private lastPrint = 0;
  constructor(private readonly stream: NodeJS.WriteStream = process.stderr, private readonly everyMs = 15000) {}

  update(fraction: number, text: string): void {
    const pct = `${(100 * Math.min(1, fraction)).toFixed(0).padStart(3)}%`;
    if (this.stream.isTTY) {
      const width = 20;
      const filled = Math.round(width * Math.min(1, fraction));
      this.stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct} ${text}\x1b[K`);
    } else if (Date.now() - this.lastPrint >= this.everyMs) {
      this.lastPrint = Date.now();
      this.stream.write(`${pct} ${text}\n`);
    }
  }

  done(text: string): void {
    this.stream.write(this.stream.isTTY ? `\r${text}\x1b[K\n` : `${text}\n`);
  }
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s % 60).padStart(2, '0')}s`;
}

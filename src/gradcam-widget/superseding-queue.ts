/**
 * Runs jobs one at a time, in arrival order, where a newer job with the same key replaces one
 * still waiting: ten brush strokes on one image while the model is busy cost one explanation,
 * not ten. Jobs start from setImmediate, so messages that arrived during a job are read (and can
 * supersede) before the next one starts.
 */
export class SupersedingQueue<J> {
  private readonly waiting = new Map<string, J>();
  private busy = false;

  constructor(
    private readonly run: (job: J) => Promise<void> | void,
    /** Called for a job that was replaced before it started. */
    private readonly superseded: (job: J) => void,
  ) {}

  push(key: string, job: J): void {
    const older = this.waiting.get(key);
    if (older !== undefined) {
      this.waiting.delete(key); // the newer job takes the back of the line
      this.superseded(older);
    }
    this.waiting.set(key, job);
    this.schedule();
  }

  private schedule(): void {
    if (this.busy) return;
    this.busy = true;
    setImmediate(() => void this.next());
  }

  private async next(): Promise<void> {
    const first = this.waiting.entries().next();
    if (first.done) {
      this.busy = false;
      return;
    }
    const [key, job] = first.value;
    this.waiting.delete(key);
    try {
      await this.run(job);
    } catch {
      // `run` answers its own failures; a throw here must not stop the queue or the kernel.
    }
    setImmediate(() => void this.next());
  }
}

/**
 * Bookkeeping of the widget's questions to the kernel: which request is the newest of each panel,
 * so an answer to an older one is never drawn over a newer edit, and how long each took. Pure
 * logic (no DOM, no comm) so Node tests it.
 */

/** What a request is for: an image panel (its index), the layer (every image) or a new image. */
export type Slot = number | 'layer' | 'add';

export interface Answer {
  request: string;
  /** Undefined when the request was not this page's (another view, another tab, kernel code). */
  slot?: Slot;
  /** True when it answers the newest request of its slot: the one result worth drawing. */
  newest: boolean;
  /** The image the answer changed, if any. */
  image?: number;
  error?: string;
  /** Milliseconds from asking to this answer (newest answers only). */
  ms?: number;
  /** The kernel's share of `ms`: from receiving the request to sending the answer. */
  kernelMs?: number;
}

export class RequestBook {
  /** Distinguishes this page's ids from another tab's (both see every answer). */
  private readonly client = Math.random().toString(36).slice(2, 8);
  private count = 0;
  private readonly newestOf = new Map<Slot, { id: string; sent: number }>();
  private readonly slotOf = new Map<string, Slot>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** A new request for `slot`; it supersedes any earlier one of that slot. */
  open(slot: Slot): string {
    const id = `${this.client}-${++this.count}`;
    this.newestOf.set(slot, { id, sent: this.now() });
    this.slotOf.set(id, slot);
    return id;
  }

  /** The kernel answered `id` (a result, an error, "done" or "superseded"). */
  close(id: string, info: { image?: number; error?: string }): Answer {
    const slot = this.slotOf.get(id);
    this.slotOf.delete(id);
    if (slot === undefined) return { request: id, newest: false, ...info };
    const newest = this.newestOf.get(slot);
    if (newest?.id !== id) return { request: id, slot, newest: false, ...info };
    this.newestOf.delete(slot);
    return { request: id, slot, newest: true, ms: this.now() - newest.sent, ...info };
  }

  /** Whether `slot` waits for an answer. */
  waiting(slot: Slot): boolean {
    return this.newestOf.has(slot);
  }

  /** Gives up on requests unanswered for `ms` (the kernel is gone or busy elsewhere); returns their slots. */
  expire(ms: number): Slot[] {
    const now = this.now();
    const gone: Slot[] = [];
    for (const [slot, { id, sent }] of this.newestOf) {
      if (now - sent < ms) continue;
      this.newestOf.delete(slot);
      this.slotOf.delete(id);
      gone.push(slot);
    }
    return gone;
  }
}

/**
 * One send at a time per kernel socket. zeromq.js 6 allows a single send in flight per socket and
 * throws synchronously (EBUSY, "Socket is busy writing") when a second one starts; tslab's replies,
 * its status and stream messages and our comm messages all send without waiting, so a busy widget
 * killed the kernel. Every socket the kernel sends on is wrapped here: sends wait for the previous
 * one, keep their order, and a failure (busy, closed) is a log line, never a throw into the process.
 */

/** The part of a zeromq.js socket the kernel sends through. */
export interface SendSocket {
  send(frames: Buffer[]): Promise<void>;
}

export class SendQueue {
  private tail: Promise<void> = Promise.resolve();
  private waiting = 0;
  private failures = 0;

  constructor(
    private readonly socket: SendSocket,
    readonly name: string,
    private readonly log: (line: string) => void,
  ) {}

  /** Sends after every earlier send on this socket settled; resolves (never rejects) when done. */
  send(frames: Buffer[]): Promise<void> {
    this.waiting++;
    this.tail = this.tail.then(async () => {
      try {
        await this.socket.send(frames);
      } catch (e) {
        this.failures++;
        this.log(`the ${this.name} socket failed to send a message (${this.failures} so far): ${(e as Error).message ?? String(e)}`);
      } finally {
        this.waiting--;
      }
    });
    return this.tail;
  }

  /** Sends queued and not yet completed (a number that grows without bound would be a leak). */
  get pending(): number {
    return this.waiting;
  }

  /** Resolves when everything queued so far has been sent (or has failed and been logged). */
  drained(): Promise<void> {
    return this.tail;
  }
}

const QUEUE = Symbol('gradcam-ts.sendQueue');
type Queued<S> = S & { [QUEUE]: SendQueue };

/**
 * `socket` with its `send` going through a SendQueue; every other member is the socket's own
 * (zeromq's native sockets are not extensible, so the wrapper is a Proxy, not a patched object).
 */
export function queuedSocket<S extends SendSocket>(socket: S, name: string, log: (line: string) => void): S {
  if (sendQueueOf(socket)) return socket; // already wrapped
  const queue = new SendQueue(socket, name, log);
  const send = (frames: Buffer[]): Promise<void> => queue.send(frames);
  return new Proxy(socket, {
    get(target, prop) {
      if (prop === 'send') return send;
      if (prop === QUEUE) return queue;
      const value: unknown = Reflect.get(target, prop, target);
      // Native methods check their receiver: call them on the socket, not on the proxy.
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
    set(target, prop, value) {
      return Reflect.set(target, prop, value, target);
    },
  });
}

/** The queue behind a socket made by queuedSocket, if it is one. */
export function sendQueueOf(socket: SendSocket): SendQueue | undefined {
  return (socket as Partial<Queued<SendSocket>>)[QUEUE];
}

/** Waits until the queues behind `sockets` are drained, or `ms` passed (a stuck peer must not hold a shutdown). */
export async function drainSends(sockets: readonly (SendSocket | undefined)[], ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  const queues = sockets.map((s) => (s ? sendQueueOf(s)?.drained() : undefined));
  await Promise.race([Promise.all(queues), timeout]);
  clearTimeout(timer);
}

/**
 * Sends never throw into the kernel process: zeromq.js 6 throws EBUSY synchronously when a send
 * starts while one is in flight; the send queue waits for the previous send, keeps the order and
 * logs failures. Shown on real zeromq sockets, and on the sockets tslab's init creates.
 */
import { expect } from 'chai';
import { patchTslab } from '../../src/jupyter/tslab-patch';
import type { TslabModules } from '../../src/jupyter/tslab-patch';
import { drainSends, queuedSocket, sendQueueOf, SendQueue, type SendSocket } from '../../src/jupyter/send-queue';

interface ZmqModule {
  Publisher: new () => ZmqPub;
  Subscriber: new () => ZmqSub;
}
interface ZmqPub extends SendSocket {
  bind(address: string): Promise<void>;
  readonly lastEndpoint: string | null;
  close(): void;
}
interface ZmqSub extends AsyncIterable<Buffer[]> {
  connect(address: string): void;
  subscribe(): void;
  close(): void;
}
// tslab's zeromq (6.x), the one the kernel sends through.
const zmq = require('zeromq') as ZmqModule;

const BATCHES = 40;
const PER_BATCH = 50;

/** Sends BATCHES x PER_BATCH messages of 100 kB without awaiting any, as the kernel's handlers do. */
async function burst(sock: SendSocket): Promise<{ thrown: string[]; sent: Promise<void>[] }> {
  const thrown: string[] = [];
  const sent: Promise<void>[] = [];
  for (let b = 0; b < BATCHES; b++) {
    for (let i = 0; i < PER_BATCH; i++) {
      const n = Buffer.alloc(4);
      n.writeUInt32LE(b * PER_BATCH + i);
      try {
        sent.push(sock.send([n, Buffer.alloc(100_000)]).catch(() => undefined));
      } catch (e) {
        thrown.push((e as Error).message);
      }
    }
    await new Promise((r) => setImmediate(r));
  }
  return { thrown, sent };
}

describe('kernel send queue', function () {
  this.timeout(60_000);

  async function pubSub(): Promise<{ pub: ZmqPub; sub: ZmqSub; received: number[]; close: () => void }> {
    const pub = new zmq.Publisher();
    await pub.bind('tcp://127.0.0.1:*');
    const sub = new zmq.Subscriber();
    sub.connect(pub.lastEndpoint as string);
    sub.subscribe();
    await new Promise((r) => setTimeout(r, 300)); // the subscription reaches the publisher
    const received: number[] = [];
    void (async () => {
      for await (const [n] of sub) received.push(n.readUInt32LE(0));
    })().catch(() => undefined);
    return { pub, sub, received, close: () => (pub.close(), sub.close()) };
  }

  it('zeromq itself throws EBUSY under such a burst (the hazard the queue exists for)', async () => {
    const { pub, close } = await pubSub();
    try {
      const { thrown, sent } = await burst(pub);
      await Promise.all(sent);
      expect(thrown.length, 'synchronous throws from a raw zeromq socket').to.be.above(0);
      expect(thrown[0]).to.match(/Socket is busy writing/);
    } finally {
      close();
    }
  });

  it('through the queue the same burst never throws, and every message arrives, in order', async () => {
    const { pub, received, close } = await pubSub();
    const log: string[] = [];
    try {
      const queued = queuedSocket(pub, 'iopub', (l) => log.push(l));
      const { thrown, sent } = await burst(queued);
      await Promise.all(sent);
      const deadline = Date.now() + 10_000;
      while (received.length < BATCHES * PER_BATCH && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(thrown).to.deep.equal([]);
      expect(log).to.deep.equal([]);
      expect(received).to.deep.equal(Array.from({ length: BATCHES * PER_BATCH }, (_, i) => i));
      expect(sendQueueOf(queued)?.pending).to.equal(0);
      expect(queued.lastEndpoint, 'other members are the socket\'s own').to.equal(pub.lastEndpoint);
    } finally {
      close();
    }
  });

  it('logs a failed send (busy, closed) and goes on with the next; send itself never rejects or throws', async () => {
    const order: string[] = [];
    const sock: SendSocket = {
      send(frames: Buffer[]): Promise<void> {
        const what = frames[0].toString();
        if (what === 'sync-throw') throw new Error('Socket is busy writing');
        if (what === 'reject') return Promise.reject(new Error('Socket is closed'));
        order.push(what);
        return Promise.resolve();
      },
    };
    const log: string[] = [];
    const q = new SendQueue(sock, 'shell', (l) => log.push(l));
    const results = await Promise.all(['a', 'sync-throw', 'b', 'reject', 'c'].map((w) => q.send([Buffer.from(w)])));
    expect(results).to.deep.equal([undefined, undefined, undefined, undefined, undefined]);
    expect(order).to.deep.equal(['a', 'b', 'c']);
    expect(log).to.have.length(2);
    expect(log[0]).to.match(/the shell socket failed to send a message \(1 so far\): Socket is busy writing/);
    expect(log[1]).to.match(/\(2 so far\): Socket is closed/);
    expect(q.pending).to.equal(0);
  });

  it('drainSends waits for queued sends, but not longer than its limit', async () => {
    let release: () => void = () => undefined;
    const stuck = queuedSocket<SendSocket>({ send: () => new Promise<void>((r) => (release = r)) }, 'control', () => undefined);
    void stuck.send([Buffer.from('x')]);
    const t0 = Date.now();
    await drainSends([stuck, undefined], 100);
    expect(Date.now() - t0).to.be.within(90, 1000);
    release();
    await drainSends([stuck], 5000);
    expect(sendQueueOf(stuck)?.pending).to.equal(0);
  });

  it("queues the sockets tslab's init creates (iopub, shell, control, hb) from their first send", async () => {
    /** A socket that throws as zeromq does when a second send starts before the first settled. */
    class BusySocket implements SendSocket {
      inFlight = false;
      sent: string[] = [];
      send(frames: Buffer[]): Promise<void> {
        if (this.inFlight) throw new Error('Socket is busy writing; only one send operation may be in progress at any time');
        this.inFlight = true;
        return new Promise((resolve) =>
          setTimeout(() => {
            this.inFlight = false;
            this.sent.push(frames[0].toString());
            resolve();
          }, 1),
        );
      }
    }
    const raw: Record<string, BusySocket> = {};
    class Server {
      connInfo = { key: 'k' };
      [name: string]: unknown;
      async init(): Promise<void> {
        for (const name of ['iopub', 'shell', 'control', 'stdin', 'hb']) this[name] = raw[name] = new BusySocket();
      }
    }
    const noop = (): void => undefined;
    for (const m of ['publishStatus', 'handleKernelInfo', 'handleExecute', 'handleIsComplete', 'handleInspect', 'handleComplete', 'handleShutdown', 'handleShellMessage', 'close']) {
      (Server.prototype as unknown as Record<string, unknown>)[m] = noop;
    }
    class Handler {
      handleKernel(): object {
        return {};
      }
      async handleExecute(): Promise<object> {
        return { status: 'ok' };
      }
    }
    patchTslab({ version: '1.0.22', jupyter: { ZmqServer: Server, JupyterHandlerImpl: Handler } } as unknown as TslabModules);
    const server = new Server();
    await server.init();
    for (const name of ['iopub', 'shell', 'control', 'hb']) {
      const sock = server[name] as SendSocket;
      expect(sendQueueOf(sock), `${name} is queued`).to.be.instanceOf(SendQueue);
      await Promise.all(Array.from({ length: 20 }, (_, i) => sock.send([Buffer.from(`${name}${i}`)])));
      expect(raw[name].sent).to.deep.equal(Array.from({ length: 20 }, (_, i) => `${name}${i}`));
    }
    expect(sendQueueOf(server.stdin as SendSocket), 'stdin is never sent on').to.equal(undefined);
  });
});

/**
 * The kernel owns the process-level error handlers (foreign ones, like tfjs-backend-wasm's
 * rethrowing Emscripten listeners, are removed when added), stray errors become error outputs of
 * the cell that caused them, and a wasm out-of-memory is named with the advice to restart.
 */
import { expect } from 'chai';
import { EventEmitter } from 'events';
import * as tf from '@tensorflow/tfjs';
import { ownProcessErrors, strayErrorContent, type ProcessLike, type StrayKind } from '../../src/jupyter/process-errors';
import { KernelRuntime } from '../../src/jupyter/runtime';
import type { KernelTransport, PublishOptions } from '../../src/jupyter/comm';
import type { JSONObject, MessageHeader } from '../../src/jupyter/wire';
import { patchTslab, type TslabModules } from '../../src/jupyter/tslab-patch';
import { asWasmOutOfMemory, guardWasmMalloc, isWasmOutOfMemory, WasmOutOfMemoryError, withWasmMemory } from '../../src/backend/wasm-memory';
import { initBackend } from '../../src/backend';

const nextTick = (): Promise<void> => new Promise((r) => process.nextTick(r));

/** A stand-in for `process`: an EventEmitter with nextTick. */
function fakeProcess(): EventEmitter & ProcessLike {
  return Object.assign(new EventEmitter(), { nextTick: (fn: () => void) => process.nextTick(fn) });
}

describe('kernel process error handlers', () => {
  let proc: EventEmitter & ProcessLike;
  let reported: [unknown, StrayKind][];
  let log: string[];
  let release: () => void;
  beforeEach(() => {
    proc = fakeProcess();
    reported = [];
    log = [];
  });
  afterEach(() => release?.());
  const own = (): void => {
    release = ownProcessErrors(proc, { report: (e, kind) => reported.push([e, kind]), log: (l) => log.push(l) });
  };
  /** What Emscripten's module (tfjs-backend-wasm) installs: rethrowing listeners. */
  const rethrow = (e: unknown): never => {
    throw e;
  };

  it("replaces listeners already there (tslab's console.error ones) with the kernel's own", () => {
    const tslabs = (err: unknown): void => console.error('UncaughtException:', err);
    proc.on('uncaughtException', tslabs);
    proc.on('unhandledRejection', tslabs);
    own();
    expect(proc.listeners('uncaughtException')).to.have.length(1).and.not.include(tslabs);
    expect(proc.listeners('unhandledRejection')).to.have.length(1).and.not.include(tslabs);
    expect(log.join('\n')).to.match(/removed a process 'uncaughtException' listener.*UncaughtException:/);
  });

  it('removes a rethrowing listener added later (the wasm backend starting) before the next tick, so a stray error is reported, not fatal', async () => {
    own();
    proc.on('uncaughtException', rethrow);
    proc.once('unhandledRejection', rethrow);
    await nextTick();
    expect(proc.listeners('uncaughtException')).to.have.length(1).and.not.include(rethrow);
    expect(proc.listeners('unhandledRejection')).to.have.length(1);
    const late = new Error('late');
    // Emitting would throw out of the rethrowing listener, had it stayed.
    expect(() => proc.emit('uncaughtException', late)).not.to.throw();
    expect(() => proc.emit('unhandledRejection', 'x')).not.to.throw();
    expect(reported).to.deep.equal([
      [late, 'uncaught exception'],
      ['x', 'unhandled promise rejection'],
    ]);
    expect(log.filter((l) => l.includes('removed'))).to.have.length(2);
  });

  it("puts its own listener back when someone removes it (Emscripten's dispose removes every listener)", () => {
    own();
    proc.removeAllListeners('uncaughtException');
    for (const l of proc.listeners('unhandledRejection')) proc.removeListener('unhandledRejection', l as () => void);
    expect(proc.listenerCount('uncaughtException')).to.equal(1);
    expect(proc.listenerCount('unhandledRejection')).to.equal(1);
    proc.emit('uncaughtException', new Error('still mine'));
    expect(reported).to.have.length(1);
  });

  it('logs instead of throwing when reporting fails, and release() gives the events back', async () => {
    release = ownProcessErrors(proc, {
      report: () => {
        throw new Error('kernel not started');
      },
      log: (l) => log.push(l),
    });
    expect(() => proc.emit('uncaughtException', new Error('early'))).not.to.throw();
    expect(log.join('\n')).to.match(/could not report an uncaught exception \(kernel not started\): Error: early/);
    release();
    expect(proc.listenerCount('uncaughtException') + proc.listenerCount('unhandledRejection') + proc.listenerCount('newListener')).to.equal(0);
    proc.on('uncaughtException', rethrow);
    await nextTick();
    expect(proc.listeners('uncaughtException')).to.deep.equal([rethrow]);
  });

  it('publishes an IOPub error parented to the cell whose timer threw, even after another cell ran', async () => {
    const sent: { type: string; content: JSONObject; parent?: string }[] = [];
    const transport: KernelTransport = {
      publish: (type: string, content: JSONObject, o: PublishOptions) => sent.push({ type, content, parent: (o.parent as Partial<MessageHeader>).msg_id }),
      reply: () => undefined,
      log: () => undefined,
    };
    const rt = new KernelRuntime(transport);
    const header = (id: string): MessageHeader => ({ msg_id: id, msg_type: 'execute_request', session: 's', username: 'u', date: '', version: '5.3' });
    await new Promise<void>((done) => {
      rt.comms.runWithin(header('cell-1'), () => setTimeout(() => (rt.reportStray(new Error('late'), 'uncaught exception'), done()), 5));
      rt.comms.runWithin(header('cell-2'), () => undefined);
    });
    expect(sent).to.have.length(1);
    expect(sent[0]).to.deep.include({ type: 'error', parent: 'cell-1' });
    expect(sent[0].content).to.include({ ename: 'Error', evalue: 'late' });
    expect((sent[0].content.traceback as string[])[0]).to.equal('Uncaught exception (the kernel caught it and keeps running):');
  });

  it('describes any thrown value: Errors by name and stack, others (a string, a BigInt) by value', () => {
    const e = new TypeError('bad');
    const c = strayErrorContent(e, 'unhandled promise rejection');
    expect(c).to.include({ ename: 'TypeError', evalue: 'bad' });
    expect((c.traceback as string[]).slice(0, 2)).to.deep.equal(['Unhandled promise rejection (the kernel caught it and keeps running):', 'TypeError: bad']);
    expect((c.traceback as string[])[2]).to.match(/^\s+at /);
    expect(strayErrorContent('plain', 'uncaught exception')).to.include({ ename: 'Error', evalue: "'plain' (thrown, and not an Error)" });
    expect(strayErrorContent(10n, 'uncaught exception').evalue).to.equal('10n (thrown, and not an Error)');
    const oom = strayErrorContent(new WebAssembly.RuntimeError('Aborted(). Build with -sASSERTIONS for more info.'), 'uncaught exception');
    expect(oom.ename).to.equal('WasmOutOfMemoryError');
    expect(oom.evalue).to.match(/ran out of memory or aborted \(wasm said: Aborted\(\)\. Build.*Restart the kernel/);
  });
});

describe('wasm out of memory', () => {
  it("recognises Emscripten's out-of-memory and abort forms, and nothing else", () => {
    for (const m of ['Cannot enlarge memory arrays to size 4294967296 bytes (OOM)', 'Aborted(OOM)', 'Aborted(). Build with -sASSERTIONS for more info.', 'WebAssembly.Memory.grow(): Maximum memory size exceeded', 'memory access out of bounds']) {
      expect(isWasmOutOfMemory(new Error(m)), m).to.equal(true);
    }
    expect(isWasmOutOfMemory(new RangeError('WebAssembly.Memory(): could not allocate memory'))).to.equal(true);
    for (const m of ['ZOOM level 3 is not supported', 'Invalid typed array length: 3', 'boom']) expect(isWasmOutOfMemory(new Error(m)), m).to.equal(false);
    const plain = new Error('boom');
    expect(asWasmOutOfMemory(plain)).to.equal(plain);
    expect(() => withWasmMemory(() => {
      throw new Error('Aborted(OOM)');
    })).to.throw(WasmOutOfMemoryError, /ran out of memory or aborted \(wasm said: Aborted\(OOM\)\) and cannot run anything more in this process\. Restart the kernel/);
  });

  it('a refused allocation throws WasmOutOfMemoryError (naming the size and the restart) before tfjs registers a tensor at address 0', () => {
    // Emscripten's _malloc: a stub that replaces itself with the raw export on its first call.
    let heapLeft = 1024;
    const raw = (bytes: number): number => (bytes <= heapLeft ? ((heapLeft -= bytes), 4096) : 0);
    const wasm: { _malloc(bytes: number): number } = {
      _malloc(bytes: number): number {
        return (wasm._malloc = raw)(bytes);
      },
    };
    guardWasmMalloc(wasm);
    guardWasmMalloc(wasm); // idempotent
    expect(wasm._malloc(512)).to.equal(4096);
    expect(wasm._malloc(0)).to.equal(4096);
    expect(() => wasm._malloc(64 * 1024 * 1024)).to.throw(WasmOutOfMemoryError, /ran out of memory: a tensor of 64 MB did not fit in its heap.*Restart the kernel to give the memory back/);
    expect(wasm._malloc(256)).to.equal(4096, 'the guard stays in front of the raw export');
  });

  it('guards the real wasm backend once it is initialised', async function () {
    this.timeout(30_000);
    const info = await initBackend({ quiet: true });
    if (info.name !== 'wasm') this.skip();
    const { wasm } = tf.backend() as unknown as { wasm: object };
    expect(Object.getOwnPropertyDescriptor(wasm, '_malloc')?.get, '_malloc is the guard').to.be.a('function');
    expect(tf.tidy(() => tf.ones([1000]).sum().dataSync()[0])).to.equal(1000);
  });

  it('a cell that fails with a wasm abort gets the restart sentence in its output and its error reply', async () => {
    const streams: [string, string][] = [];
    function Server(): void {}
    for (const m of ['publishStatus', 'handleKernelInfo', 'handleExecute', 'handleIsComplete', 'handleInspect', 'handleComplete', 'handleShutdown', 'handleShellMessage', 'init', 'close']) {
      (Server.prototype as Record<string, unknown>)[m] = () => undefined;
    }
    type Write = (name: string, text: string) => void;
    const handler = {
      handleKernel: (): object => ({}),
      handleExecute: async (_req: object, write: Write): Promise<object> => {
        write('stderr', 'RuntimeError: Aborted(). Build with -sASSERTIONS for more info.\n    at abort (tfjs-backend-wasm.js:9:7829)\n');
        return { status: 'error', execution_count: 3 };
      },
    };
    patchTslab({ version: '1.0.22', jupyter: { ZmqServer: Server, JupyterHandlerImpl: { prototype: handler } } } as unknown as TslabModules);
    const run = handler.handleExecute as unknown as (req: object, write: Write, display: () => void) => Promise<{ [k: string]: unknown }>;
    const result = await run({}, (name, text) => streams.push([name, text]), () => undefined);
    expect(result).to.include({ status: 'error', execution_count: 3, ename: 'WasmOutOfMemoryError' });
    expect(result.evalue).to.match(/wasm said: Aborted\(\)\. Build.*cannot run anything more in this process\. Restart the kernel/);
    expect(streams[streams.length - 1][0]).to.equal('stderr');
    expect(streams[streams.length - 1][1]).to.match(/^WasmOutOfMemoryError: .*Restart the kernel/);
  });
});

/**
 * Extends tslab 1.0.22's kernel in place, by replacing methods on the prototypes of its
 * ZmqServer and JupyterHandlerImpl before the kernel starts (the server instance is local to
 * tslab's startKernel, so the prototype is the only way in). What changes:
 *   - incoming frames are parsed and verified by our wire layer: HMAC over the four JSON frames
 *     (tslab signs the buffers too), and a bad message is a log line instead of a thrown error;
 *   - comm_open / comm_msg / comm_close / comm_info_request go to the comm manager (tslab
 *     answers comm_info with a "complete_reply" and ignores the rest);
 *   - each execute request runs inside the comm manager's context, so what a cell causes later
 *     is parented to it;
 *   - replies carry the fields the messaging spec requires (kernel_info status and debugger, error
 *     fields), history_request gets an (empty) history, and any other request an error reply;
 *   - every socket the kernel sends on is wrapped, as tslab creates it, in a send queue (one send
 *     in flight, failures logged: send-queue.ts), so no path, ours or tslab's, throws EBUSY.
 * Every other message is still handled by tslab's own methods.
 */
import * as fs from 'fs';
import { randomBytes } from 'crypto';
import type { KernelTransport, PublishOptions } from './comm';
import { KernelRuntime } from './runtime';
import { drainSends, queuedSocket } from './send-queue';
import { WasmOutOfMemoryError, isWasmOutOfMemory } from '../backend/wasm-memory';
import type { JSONObject, JupyterMessage, MessageHeader } from './wire';
import { digestOf, parseFrames, serialize } from './wire';

/** The exact tslab release whose private members this file relies on. */
export const TSLAB_VERSION = '1.0.22';

interface ZmqSocket {
  send(frames: Buffer[]): Promise<void>;
}

/** The slice of tslab's message object that tslab's handlers use. */
interface TslabMessageLike {
  header: MessageHeader;
  content: JSONObject;
  createReply(): TslabMessageLike;
  signAndSend(key: string, sock: ZmqSocket): void;
}

interface TslabServer {
  connInfo: { key: string; signature_scheme?: string };
  iopub: ZmqSocket;
  publishStatus(status: string, parent: TslabMessageLike): void;
  handleKernelInfo(sock: ZmqSocket, msg: TslabMessageLike): void;
  handleExecute(sock: ZmqSocket, msg: TslabMessageLike): Promise<void>;
  handleIsComplete(sock: ZmqSocket, msg: TslabMessageLike): void;
  handleInspect(sock: ZmqSocket, msg: TslabMessageLike): void;
  handleComplete(sock: ZmqSocket, msg: TslabMessageLike): void;
  handleShutdown(sock: ZmqSocket, msg: TslabMessageLike): void;
  handleShellMessage(sock: ZmqSocket, ...frames: Buffer[]): Promise<void>;
  init(): Promise<void>;
  close(): void;
}

type WriteStream = (name: string, text: string) => void;
interface ExecuteResult {
  status: string;
  execution_count?: number;
  [key: string]: unknown;
}
interface TslabHandler {
  handleKernel(): JSONObject;
  handleExecute(req: JSONObject, writeStream: WriteStream, writeDisplayData: (...a: unknown[]) => void): Promise<ExecuteResult>;
}

interface Prototype<T> {
  prototype: T;
}
export interface TslabModules {
  version: string;
  jupyter: { ZmqServer: Prototype<TslabServer>; JupyterHandlerImpl: Prototype<TslabHandler> };
}

const SERVER_METHODS = [
  'publishStatus',
  'handleKernelInfo',
  'handleExecute',
  'handleIsComplete',
  'handleInspect',
  'handleComplete',
  'handleShutdown',
  'handleShellMessage',
  'init',
  'close',
] as const;
const HANDLER_METHODS = ['handleKernel', 'handleExecute'] as const;
/** The ZmqServer fields holding sockets tslab sends on (stdin is never sent on). */
const SEND_SOCKETS = ['iopub', 'shell', 'control', 'hb'] as const;
/** How long a shutdown waits for its reply and the idle status to leave before the sockets close. */
const SHUTDOWN_DRAIN_MS = 2000;

export class TslabPatchError extends Error {
  constructor(version: string, missing: string) {
    super(
      `gradcam-ts cannot extend tslab ${version}: ${missing}. The kernel extension is written against tslab ${TSLAB_VERSION} ` +
        `exactly; reinstall it with \`npm install tslab@${TSLAB_VERSION}\` in the gradcam-ts folder.`,
    );
    this.name = 'TslabPatchError';
  }
}

/** Log lines go straight to fd 2: tslab redirects process.stderr into the running cell. */
export function kernelLog(line: string): void {
  try {
    fs.writeSync(2, `[gradcam-ts kernel] ${line}\n`);
  } catch {
    // stderr closed: nowhere left to log.
  }
}

/**
 * ename/evalue/traceback for a failed cell from what tslab printed: the first "SomeError: text"
 * line of a thrown error, else a TypeScript diagnostic ("line:col - message").
 */
export function errorFromStderr(stderr: string): { ename: string; evalue: string; traceback: string[] } {
  const traceback = stderr.split('\n').filter((l) => l.trim() !== '');
  for (const line of traceback) {
    const m = /^(?:Uncaught )?((?:[A-Za-z_$][\w$]*)?(?:Error|Exception)): ?(.*)$/.exec(line.trim());
    if (m) return { ename: m[1], evalue: m[2], traceback };
  }
  const diag = traceback.find((l) => /^(?:\S+ )?\d+:\d+ - /.test(l));
  if (diag) return { ename: 'TypeScriptError', evalue: diag.replace(/^(?:\S+ )?\d+:\d+ - /, ''), traceback };
  return { ename: 'Error', evalue: traceback[traceback.length - 1] ?? 'the cell failed', traceback };
}

/** Check every member we rely on, then patch; returns the runtime notebooks attach to. */
export function patchTslab(mods: TslabModules): KernelRuntime {
  const server = mods.jupyter?.ZmqServer?.prototype;
  const handler = mods.jupyter?.JupyterHandlerImpl?.prototype;
  if (!server) throw new TslabPatchError(mods.version, 'dist/jupyter.js exports no ZmqServer class');
  if (!handler) throw new TslabPatchError(mods.version, 'dist/jupyter.js exports no JupyterHandlerImpl class');
  for (const m of SERVER_METHODS) {
    if (typeof server[m] !== 'function') throw new TslabPatchError(mods.version, `ZmqServer.prototype.${m} is missing`);
  }
  for (const m of HANDLER_METHODS) {
    if (typeof handler[m] !== 'function') throw new TslabPatchError(mods.version, `JupyterHandlerImpl.prototype.${m} is missing`);
  }
  if (mods.version !== TSLAB_VERSION) kernelLog(`tslab ${mods.version} is not the tested ${TSLAB_VERSION}; its members look compatible, continuing`);

  const session = randomBytes(16).toString('hex');
  let live: TslabServer | undefined;
  let digest = 'sha256';
  /** Which socket a request came in on, for its reply. */
  const replyTo = new WeakMap<JupyterMessage, ZmqSocket>();

  const header = (msgType: string, parent: Partial<MessageHeader>): MessageHeader => ({
    msg_id: randomBytes(16).toString('hex'),
    msg_type: msgType,
    session,
    username: typeof parent.username === 'string' ? parent.username : 'kernel',
    date: new Date().toISOString(),
    version: '5.3',
  });
  const send = (sock: ZmqSocket, msg: JupyterMessage): void => {
    if (!live) throw new Error('the kernel has not started yet');
    const frames = serialize(msg, live.connInfo.key, digest);
    // The kernel's sockets are queued and never throw; this guards any other socket handed in.
    try {
      sock.send(frames).catch((e: Error) => kernelLog(`sending ${msg.header.msg_type} failed: ${e.message}`));
    } catch (e) {
      kernelLog(`sending ${msg.header.msg_type} failed: ${(e as Error).message}`);
    }
  };

  const transport: KernelTransport = {
    publish(msgType: string, content: JSONObject, options: PublishOptions): void {
      if (!live) throw new Error(`cannot publish ${msgType}: the kernel has not started yet`);
      send(live.iopub, {
        identities: [Buffer.from(`kernel.${session}.${msgType}`)],
        header: header(msgType, options.parent),
        parent_header: options.parent,
        metadata: options.metadata ?? {},
        content,
        buffers: options.buffers ?? [],
      });
    },
    reply(request: JupyterMessage, msgType: string, content: JSONObject): void {
      const sock = replyTo.get(request);
      if (!sock) throw new Error(`no socket to reply to ${request.header.msg_type}`);
      send(sock, { identities: request.identities, header: header(msgType, request.header), parent_header: request.header, metadata: {}, content, buffers: [] });
    },
    log: kernelLog,
  };
  const runtime = new KernelRuntime(transport);

  /** The messaging spec wants a reply to every request; one we do not implement gets an error reply. */
  const replyUnsupported = (msg: JupyterMessage): void => {
    const type = msg.header.msg_type;
    if (!type.endsWith('_request')) {
      kernelLog(`ignored a ${type} message on the shell or control channel (not a request)`);
      return;
    }
    kernelLog(`unsupported request ${type}; answered with an error reply`);
    transport.reply(msg, type.replace(/_request$/, '_reply'), {
      status: 'error',
      ename: 'UnsupportedRequest',
      evalue: `the gradcam-ts kernel does not implement ${type}`,
      traceback: [],
    });
  };

  /** Our message in the shape tslab's handlers expect (they only reply through it). */
  class ShellMessage implements TslabMessageLike {
    constructor(readonly msg: JupyterMessage) {}
    get header(): MessageHeader {
      return this.msg.header;
    }
    get content(): JSONObject {
      return this.msg.content;
    }
    createReply(): TslabMessageLike {
      return new ShellMessage({ identities: this.msg.identities, header: header(this.msg.header.msg_type, this.msg.header), parent_header: this.msg.header, metadata: {}, content: {}, buffers: [] });
    }
    set content(c: JSONObject) {
      this.msg.content = c;
    }
    signAndSend(_key: string, sock: ZmqSocket): void {
      send(sock, this.msg);
    }
  }
  // tslab's handlers assign reply.header.msg_type and reply.content; both are plain fields here.

  const originalInit = server.init;
  server.init = async function (this: TslabServer): Promise<void> {
    // Accessors in place before tslab's init assigns the sockets: each is queued from its first
    // send, and the receive loops tslab starts in init see the same wrapped object.
    for (const name of SEND_SOCKETS) {
      let socket: ZmqSocket | undefined;
      Object.defineProperty(this, name, {
        configurable: true,
        enumerable: true,
        get: () => socket,
        set: (s: ZmqSocket | undefined) => {
          socket = s ? queuedSocket(s, name, kernelLog) : s;
        },
      });
    }
    await originalInit.call(this);
    if (typeof this.connInfo?.key !== 'string' || typeof this.iopub?.send !== 'function') {
      throw new TslabPatchError(mods.version, 'ZmqServer has no connInfo.key or iopub socket after init()');
    }
    digest = digestOf(this.connInfo.signature_scheme);
    live = this;
  };

  server.handleShellMessage = async function (this: TslabServer, sock: ZmqSocket, ...frames: Buffer[]): Promise<void> {
    live = live ?? this;
    let msg: JupyterMessage;
    try {
      msg = parseFrames(frames, this.connInfo.key, digestOf(this.connInfo.signature_scheme));
    } catch (e) {
      kernelLog(`rejected a message: ${(e as Error).message}`);
      return;
    }
    const type = msg.header.msg_type;
    const req = new ShellMessage(msg);
    replyTo.set(msg, sock);
    let terminated = false;
    this.publishStatus('busy', req);
    try {
      if (runtime.comms.isCommMessage(type)) {
        runtime.comms.handle(msg);
      } else {
        switch (type) {
          case 'kernel_info_request':
            this.handleKernelInfo(sock, req);
            break;
          case 'execute_request':
            await runtime.comms.runWithin(msg.header, () => this.handleExecute(sock, req));
            break;
          case 'is_complete_request':
            this.handleIsComplete(sock, req);
            break;
          case 'inspect_request':
            this.handleInspect(sock, req);
            break;
          case 'complete_request':
            this.handleComplete(sock, req);
            break;
          case 'shutdown_request':
            this.handleShutdown(sock, req);
            terminated = true;
            break;
          case 'history_request':
            // JupyterLab asks once per notebook; tslab keeps no history, so the honest answer is empty.
            transport.reply(msg, 'history_reply', { status: 'ok', history: [] });
            break;
          default:
            replyUnsupported(msg);
        }
      }
    } catch (e) {
      kernelLog(`error while handling ${type}: ${(e as Error).stack ?? String(e)}`);
    } finally {
      this.publishStatus('idle', req);
    }
    if (terminated) {
      await drainSends([sock, this.iopub], SHUTDOWN_DRAIN_MS);
      this.close();
    }
  };

  const originalKernel = handler.handleKernel;
  handler.handleKernel = function (this: TslabHandler): JSONObject {
    const info = originalKernel.call(this);
    // The spec requires status; tslab omits it.
    // debugger: false tells JupyterLab not to start a debug session (it logged errors trying to).
    return { status: 'ok', ...info, debugger: false, banner: `TypeScript (gradcam-ts: tslab ${mods.version} with Jupyter comms and ipywidgets 8)` };
  };

  const originalExecute = handler.handleExecute;
  handler.handleExecute = async function (this: TslabHandler, req, writeStream, writeDisplayData): Promise<ExecuteResult> {
    let stderr = '';
    const capture: WriteStream = (name, text) => {
      if (name === 'stderr') stderr = (stderr + text).slice(-4000);
      writeStream(name, text);
    };
    const result = await originalExecute.call(this, req, capture, writeDisplayData);
    if (result.status === 'ok') return result;
    // tslab prints the error to stderr; an error reply must also name it (ename/evalue/traceback).
    if (result.status === 'abort') {
      return { ...result, ename: 'Aborted', evalue: 'an earlier cell failed, so this one did not run', traceback: [] };
    }
    const error = errorFromStderr(stderr);
    if (error.ename !== 'WasmOutOfMemoryError' && isWasmOutOfMemory(`${error.ename}: ${error.evalue}`)) {
      // tfjs code outside our guards (the wasm module aborted): the person must learn to restart.
      const named = new WasmOutOfMemoryError(`wasm said: ${error.evalue}`, true);
      writeStream('stderr', `${named.name}: ${named.message}\n`);
      return { ...result, ename: named.name, evalue: named.message, traceback: [...error.traceback, `${named.name}: ${named.message}`] };
    }
    return { ...result, ...error };
  };

  return runtime;
}

/**
 * Jupyter comms on the kernel side: targets, open/msg/close in both directions and
 * comm_info. Transport-free: the kernel (tslab-patch.ts) or a test hands in a KernelTransport.
 *
 * Parenting: every kernel-to-front-end message is parented to the request being handled when it
 * was caused. An AsyncLocalStorage carries that request's header through awaits and timers, so a
 * `setTimeout` in a cell still reports to that cell after it finished.
 */
import { AsyncLocalStorage } from 'async_hooks';
import { randomUUID } from 'crypto';
import type { JSONObject, JupyterMessage, MessageHeader } from './wire';
import { toBuffer } from './wire';
import { isForbiddenKey, ownValue } from './untrusted';

export type ParentHeader = MessageHeader | Record<string, never>;

export interface PublishOptions {
  parent: ParentHeader;
  metadata?: JSONObject;
  buffers?: Buffer[];
}

/** What the comm layer needs from a kernel: IOPub, shell replies and a log. */
export interface KernelTransport {
  publish(msgType: string, content: JSONObject, options: PublishOptions): void;
  reply(request: JupyterMessage, msgType: string, content: JSONObject): void;
  /** One line into the kernel's own log (the Jupyter server's terminal), never into a cell. */
  log(line: string): void;
  /** Set when the front end's messages never reach this process (Deno's kernel): why, in words. */
  readonly oneWay?: string;
}

/** One message received on a comm. */
export interface CommMessage {
  data: JSONObject;
  metadata: JSONObject;
  buffers: Buffer[];
  header: MessageHeader;
}

export type CommOpenHandler = (comm: Comm, open: CommMessage) => void;
export type CommMsgHandler = (msg: CommMessage) => void;
export type CommCloseHandler = (msg: CommMessage | null) => void;

interface Listener<F> {
  fn: F;
  /** The request that was running when the listener was registered: its errors go there. */
  owner: ParentHeader;
}

export interface SendOptions {
  metadata?: JSONObject;
  buffers?: readonly ArrayBufferView[];
}

export class Comm {
  private readonly msgListeners: Listener<CommMsgHandler>[] = [];
  private readonly closeListeners: Listener<CommCloseHandler>[] = [];
  private isClosed = false;

  constructor(
    readonly id: string,
    readonly targetName: string,
    private readonly manager: CommManager,
  ) {}

  get closed(): boolean {
    return this.isClosed;
  }

  send(data: JSONObject, options: SendOptions = {}): void {
    if (this.isClosed) throw new Error(`comm ${this.id} (${this.targetName}) is closed; open a new one to send`);
    this.manager.publish('comm_msg', { comm_id: this.id, data }, options);
  }

  /** Close from the kernel side (tells the front end). */
  close(data: JSONObject = {}, options: SendOptions = {}): void {
    if (this.isClosed) return;
    this.manager.publish('comm_close', { comm_id: this.id, data }, options);
    this.closedBy(null);
  }

  onMsg(fn: CommMsgHandler): () => void {
    return addListener(this.msgListeners, fn, this.manager.currentParent());
  }

  onClose(fn: CommCloseHandler): () => void {
    return addListener(this.closeListeners, fn, this.manager.currentParent());
  }

  /** @internal called by CommManager. */
  dispatch(msg: CommMessage): void {
    for (const l of [...this.msgListeners]) this.manager.invoke(l.owner, `comm ${this.targetName} message handler`, () => l.fn(msg));
  }

  /** @internal the comm is gone (either side); listeners run once. */
  closedBy(msg: CommMessage | null): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.manager.forget(this.id);
    for (const l of this.closeListeners) this.manager.invoke(l.owner, `comm ${this.targetName} close handler`, () => l.fn(msg));
    this.msgListeners.length = 0;
    this.closeListeners.length = 0;
  }
}

function addListener<F>(list: Listener<F>[], fn: F, owner: ParentHeader): () => void {
  const entry = { fn, owner };
  list.push(entry);
  return () => {
    const i = list.indexOf(entry);
    if (i >= 0) list.splice(i, 1);
  };
}

const COMM_TYPES = new Set(['comm_open', 'comm_msg', 'comm_close', 'comm_info_request']);

export class CommManager {
  private readonly context = new AsyncLocalStorage<ParentHeader>();
  private readonly targets = new Map<string, CommOpenHandler>();
  private readonly comms = new Map<string, Comm>();
  /** Fallback parent for callbacks that escaped every async context (e.g. native event sources). */
  private lastExecute: ParentHeader = {};

  constructor(private readonly transport: KernelTransport) {}

  /** Run `fn` as part of handling `request`: messages it causes, now or later, are parented to it. */
  runWithin<T>(request: MessageHeader, fn: () => T): T {
    if (request.msg_type === 'execute_request') this.lastExecute = request;
    return this.context.run(request, fn);
  }

  currentParent(): ParentHeader {
    return this.context.getStore() ?? this.lastExecute;
  }

  log(line: string): void {
    this.transport.log(line);
  }

  registerTarget(name: string, handler: CommOpenHandler): void {
    this.targets.set(name, handler);
  }

  unregisterTarget(name: string): void {
    this.targets.delete(name);
  }

  /** Open a comm from the kernel side. */
  open(targetName: string, data: JSONObject = {}, options: SendOptions & { commId?: string } = {}): Comm {
    const comm = new Comm(options.commId ?? randomUUID().replace(/-/g, ''), targetName, this);
    this.comms.set(comm.id, comm);
    this.publish('comm_open', { comm_id: comm.id, target_name: targetName, data }, options);
    return comm;
  }

  get(commId: string): Comm | undefined {
    return this.comms.get(commId);
  }

  /** The open comms, optionally only those of one target. */
  list(targetName?: string): Comm[] {
    return [...this.comms.values()].filter((c) => targetName === undefined || c.targetName === targetName);
  }

  isCommMessage(msgType: string): boolean {
    return COMM_TYPES.has(msgType);
  }

  /** Handle one incoming comm_* message (already verified by the wire layer). */
  handle(msg: JupyterMessage): void {
    this.runWithin(msg.header, () => {
      switch (msg.header.msg_type) {
        case 'comm_info_request':
          return this.handleInfo(msg);
        case 'comm_open':
          return this.handleOpen(msg);
        case 'comm_msg':
          return this.handleMsg(msg);
        case 'comm_close':
          return this.handleClose(msg);
        default:
          this.log(`not a comm message: ${msg.header.msg_type}`);
      }
    });
  }

  /** @internal */
  publish(msgType: string, content: JSONObject, options: SendOptions): void {
    this.transport.publish(msgType, content, {
      parent: this.currentParent(),
      metadata: options.metadata ?? {},
      buffers: (options.buffers ?? []).map(toBuffer),
    });
  }

  /** @internal */
  forget(commId: string): void {
    this.comms.delete(commId);
  }

  /**
   * Call user code; a throw goes to the cell that registered it (as stderr) and to the log,
   * and nothing else is disturbed.
   */
  invoke(owner: ParentHeader, what: string, fn: () => void): void {
    try {
      const r: unknown = fn();
      if (r instanceof Promise) r.catch((e: unknown) => this.reportError(owner, what, e));
    } catch (e) {
      this.reportError(owner, what, e);
    }
  }

  reportError(owner: ParentHeader, what: string, error: unknown): void {
    const detail = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
    this.log(`error in ${what}: ${detail.split('\n')[0]}`);
    this.transport.publish('stream', { name: 'stderr', text: `Error in ${what}:\n${detail}\n` }, { parent: owner });
  }

  private handleInfo(msg: JupyterMessage): void {
    const target = ownValue(msg.content, 'target_name');
    const wanted = typeof target === 'string' ? target : undefined;
    const comms: JSONObject = {};
    for (const c of this.list(wanted)) comms[c.id] = { target_name: c.targetName };
    this.transport.reply(msg, 'comm_info_reply', { status: 'ok', comms });
  }

  private handleOpen(msg: JupyterMessage): void {
    const id = ownValue(msg.content, 'comm_id');
    const target = ownValue(msg.content, 'target_name');
    if (typeof id !== 'string' || typeof target !== 'string') {
      this.log('comm_open without a string comm_id and target_name; ignored');
      return;
    }
    if (isForbiddenKey(id)) {
      // comm_info lists comms in an object keyed by id: this one would reach its prototype.
      this.log(`comm_open with the comm id ${JSON.stringify(id)}, which the kernel refuses (use a uuid); answered with comm_close`);
      this.transport.publish('comm_close', { comm_id: id, data: {} }, { parent: msg.header });
      return;
    }
    const handler = this.targets.get(target);
    if (!handler) {
      // The spec's answer to an unknown target: close it at once so the front end does not wait.
      this.log(`comm_open for unknown target "${target}"; answered with comm_close`);
      this.transport.publish('comm_close', { comm_id: id, data: {} }, { parent: msg.header });
      return;
    }
    const comm = new Comm(id, target, this);
    this.comms.set(id, comm);
    this.invoke(msg.header, `comm target "${target}"`, () => handler(comm, toCommMessage(msg)));
  }

  private handleMsg(msg: JupyterMessage): void {
    const id = ownValue(msg.content, 'comm_id');
    const comm = typeof id === 'string' ? this.comms.get(id) : undefined;
    if (!comm) {
      this.log(`comm_msg for unknown comm id ${JSON.stringify(id)}; ignored`);
      return;
    }
    comm.dispatch(toCommMessage(msg));
  }

  private handleClose(msg: JupyterMessage): void {
    const id = ownValue(msg.content, 'comm_id');
    const comm = typeof id === 'string' ? this.comms.get(id) : undefined;
    if (!comm) {
      this.log(`comm_close for unknown comm id ${JSON.stringify(id)}; ignored`);
      return;
    }
    comm.closedBy(toCommMessage(msg));
  }
}

function toCommMessage(msg: JupyterMessage): CommMessage {
  const data = ownValue(msg.content, 'data');
  return {
    data: data !== null && typeof data === 'object' && !Array.isArray(data) ? data : {},
    metadata: msg.metadata,
    buffers: msg.buffers,
    header: msg.header,
  };
}

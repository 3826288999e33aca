/**
 * The kernel side of an ipywidgets-8 model (protocol 2.1.0): state synced over a
 * "jupyter.widget" comm, typed arrays as binary buffers, `update` / `echo_update` /
 * `request_state` / `custom`, and display as a widget-view mime bundle with text (and, for
 * subclasses that provide one, PNG) fallbacks for front ends without the widget.
 */
import { inspect } from 'util';
import type { Comm, CommMessage, ParentHeader } from './comm';
import { ANYWIDGET_FIELDS } from './anywidget';
import type { BufferPath, SplitState, WidgetState, WidgetValue } from './buffers';
import { putBuffers, removeBuffers, sameValue } from './buffers';
import type { KernelRuntime, MimeBundle, WidgetHandle } from './runtime';
import { requireRuntime } from './runtime';
import { hasOwn, ownValue, refuseForbiddenKeys } from './untrusted';
import type { JSONObject } from './wire';

export const WIDGET_TARGET = 'jupyter.widget';
export const WIDGET_PROTOCOL_VERSION = '2.1.0';
export const WIDGET_VIEW_MIME = 'application/vnd.jupyter.widget-view+json';

/**
 * Which front-end model (and view) renders this widget: ipywidgets' identity fields under their
 * own state names, as Python widgets declare them and as a saved notebook stores them. A spec may
 * carry more fields the front end needs before anything else, e.g. anywidgetState()'s `_esm`.
 */
export interface WidgetSpec {
  _model_name: string;
  _model_module: string;
  _model_module_version: string;
  _view_name?: string | null;
  _view_module?: string | null;
  _view_module_version?: string;
}

/** What a front end without the widget shows instead. */
export interface WidgetFallback {
  text?: string;
  /** PNG bytes. */
  png?: Uint8Array;
}

export interface WidgetOptions<M> {
  /** The kernel runtime; defaults to the one the gradcam-ts kernel installed. */
  runtime?: KernelRuntime;
  /** Echo front-end updates back (ipywidgets 8 default, keeps several front ends in sync). */
  echo?: boolean;
  fallback?: (model: M) => WidgetFallback;
  /**
   * Checks one field the front end set; returns why it is rejected, or undefined to accept. A
   * rejected value is logged and the front end gets the kernel's value back, as ipywidgets' trait
   * validation does.
   */
  validate?: (key: string, value: unknown, model: M) => string | undefined;
  /**
   * Open the comm with these identity fields instead of the widget class's own spec, e.g.
   * anywidgetState(frontEnd) to have anywidget draw it (the class's state and messages stay the same).
   */
  identity?: WidgetSpec;
}

export type ChangeSource = 'frontend' | 'kernel';
export interface ChangeInfo<V> {
  old: V;
  source: ChangeSource;
}

type Key<S> = keyof S & string;
/** Further events a subclass emits (name -> listener arguments), e.g. { edit: [EditEvent] }. */
export type WidgetEvents = { [event: string]: unknown[] };
type AnyListener = (...args: never[]) => unknown;
interface Entry {
  fn: AnyListener;
  owner: ParentHeader;
}

export class WidgetModel<S extends WidgetState = WidgetState, E extends WidgetEvents = Record<never, never>> implements WidgetHandle {
  readonly id: string;
  readonly modelName: string;
  readonly modelModule: string;
  readonly modelModuleVersion: string;
  private readonly runtime: KernelRuntime;
  private readonly comm: Comm;
  private readonly values: WidgetState;
  private readonly listeners = new Map<string, Entry[]>();
  private readonly echo: boolean;

  constructor(
    spec: WidgetSpec,
    initial: S,
    private readonly options: WidgetOptions<WidgetModel<S, E>> = {},
  ) {
    this.runtime = options.runtime ?? requireRuntime();
    this.echo = options.echo ?? process.env.JUPYTER_WIDGETS_ECHO !== '0';
    const identity = options.identity ?? spec;
    this.modelName = identity._model_name;
    this.modelModule = identity._model_module;
    this.modelModuleVersion = identity._model_module_version;
    this.values = { _view_name: null, _view_module: null, _view_module_version: '', ...identity, ...initial };
    const split = removeBuffers(this.values);
    this.comm = this.runtime.comms.open(
      WIDGET_TARGET,
      { state: split.state, buffer_paths: split.buffer_paths },
      { metadata: { version: WIDGET_PROTOCOL_VERSION }, buffers: split.buffers },
    );
    this.id = this.comm.id;
    this.runtime.widgets.set(this.id, this);
    this.comm.onMsg((msg) => this.receive(msg));
    this.comm.onClose(() => this.closed());
  }

  get isClosed(): boolean {
    return this.comm.closed;
  }

  get<K extends Key<S>>(key: K): S[K] {
    return this.values[key] as S[K];
  }

  /** A shallow copy of the synced state (without the _model_/_view_ fields and anywidget's _esm, _css, _anywidget_id). */
  get state(): S {
    const out: WidgetState = {};
    for (const [k, v] of Object.entries(this.values)) if (!/^_(model|view)_/.test(k) && !ANYWIDGET_FIELDS.includes(k)) out[k] = v;
    return out as S;
  }

  /** Change state here and in the front end; only values that really changed are sent. */
  set(patch: Partial<S>): void {
    const { changed, old } = this.apply(patch as WidgetState);
    if (Object.keys(changed).length === 0) return;
    this.sendState('update', changed);
    this.emitChanges(changed, old, 'kernel');
  }

  /** Listen for a change of one field (from either side), any change, custom messages or close. */
  on<K extends Key<S>>(event: `change:${K}`, fn: (value: S[K], info: ChangeInfo<S[K]>) => void): () => void;
  on(event: 'change', fn: (changed: Partial<S>, source: ChangeSource) => void): () => void;
  on(event: 'custom', fn: (content: JSONObject, buffers: Buffer[]) => void): () => void;
  on(event: 'close', fn: () => void): () => void;
  on<K extends keyof E & string>(event: K, fn: (...args: E[K]) => void): () => void;
  on(event: string, fn: AnyListener): () => void {
    const entry = { fn, owner: this.runtime.comms.currentParent() };
    const list = this.listeners.get(event) ?? [];
    list.push(entry);
    this.listeners.set(event, list);
    return () => {
      const i = list.indexOf(entry);
      if (i >= 0) list.splice(i, 1);
    };
  }

  /**
   * Resolve with the next value the front end sets for a field (or the next custom message);
   * rejects after `timeoutMs` (default: wait forever) or when the widget closes.
   */
  waitFor<K extends Key<S>>(event: `change:${K}`, options?: { timeoutMs?: number }): Promise<S[K]>;
  waitFor(event: 'custom', options?: { timeoutMs?: number }): Promise<{ content: JSONObject; buffers: Buffer[] }>;
  waitFor(event: string, options: { timeoutMs?: number } = {}): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const stops: (() => void)[] = [];
      const finish = (fn: () => void): void => {
        if (timer) clearTimeout(timer);
        stops.forEach((s) => s());
        fn();
      };
      if (event === 'custom') {
        stops.push(this.on('custom', (content, buffers) => finish(() => resolve({ content, buffers }))));
      } else if (event.startsWith('change:')) {
        const key = event.slice('change:'.length) as Key<S>;
        stops.push(
          this.on(`change:${key}`, (value, info) => {
            if (info.source === 'frontend') finish(() => resolve(value));
          }),
        );
      } else {
        throw new Error(`waitFor("${event}"): expected "change:<field>" or "custom"`);
      }
      stops.push(this.on('close', () => finish(() => reject(new Error(`widget ${this.id} closed while waiting for ${event}`)))));
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => finish(() => reject(new Error(`no ${event} from the front end within ${options.timeoutMs} ms`))), options.timeoutMs);
      }
    });
  }

  /**
   * Store values the front end already has, without an update message: the kernel and the front
   * end changed them together through a custom message (e.g. one image entry instead of the whole
   * list). Listeners still hear the change, from the kernel.
   */
  protected storeWithoutSync(patch: Partial<S>): void {
    const { changed, old } = this.apply(patch as WidgetState);
    if (Object.keys(changed).length > 0) this.emitChanges(changed, old, 'kernel');
  }

  /** Tell the listeners of a subclass's own event. */
  protected emitEvent<K extends keyof E & string>(event: K, ...args: E[K]): void {
    this.emit(event, args);
  }

  /** A custom message to the front-end model (`msg:custom` there). */
  send(content: JSONObject, buffers: readonly ArrayBufferView[] = []): void {
    this.comm.send({ method: 'custom', content }, { buffers });
  }

  /** The display bundle: the widget view, with text (and PNG when available) fallbacks. */
  mimeBundle(): MimeBundle {
    const fb = this.fallback();
    const bundle: MimeBundle = {
      [WIDGET_VIEW_MIME]: { version_major: 2, version_minor: 0, model_id: this.id },
      'text/plain': fb.text ?? `${this.modelName}(model_id='${this.id}')`,
    };
    if (fb.png) bundle['image/png'] = Buffer.from(fb.png.buffer, fb.png.byteOffset, fb.png.byteLength).toString('base64');
    return bundle;
  }

  /** What tslab prints when a cell ends with the widget: its text, not its internals. */
  [inspect.custom](): string {
    return String(this.mimeBundle()['text/plain']);
  }

  /** What Deno's kernel shows when a cell ends with the widget (its display protocol): the widget itself. */
  [Symbol.for('Jupyter.display')](): MimeBundle {
    return this.mimeBundle();
  }

  /** Show the widget in the running cell. */
  display(): void {
    if (this.isClosed) throw new Error(`widget ${this.id} is closed; create a new one to display`);
    this.runtime.display(this.mimeBundle());
  }

  close(): void {
    this.comm.close();
  }

  /** @internal the full state for request_state and the control comm. */
  fullState(): SplitState {
    return removeBuffers(this.values);
  }

  /** Subclasses override to offer a text / PNG picture of themselves. */
  protected fallback(): WidgetFallback {
    return this.options.fallback?.(this) ?? {};
  }

  private receive(msg: CommMessage): void {
    const method = ownValue(msg.data, 'method');
    if (method === 'update') return this.receiveUpdate(msg);
    if (method === 'request_state') {
      const full = this.fullState();
      this.comm.send({ method: 'update', state: full.state, buffer_paths: full.buffer_paths }, { buffers: full.buffers });
      return;
    }
    if (method === 'custom') {
      const content = ownValue(msg.data, 'content');
      const c = content !== null && typeof content === 'object' && !Array.isArray(content) ? content : {};
      this.emit('custom', [c, msg.buffers]);
      return;
    }
    this.runtime.comms.log(`widget ${this.id}: unknown method ${JSON.stringify(method)}; ignored`);
  }

  private receiveUpdate(msg: CommMessage): void {
    const state = ownValue(msg.data, 'state');
    const bufferPaths = ownValue(msg.data, 'buffer_paths');
    if (state === null || typeof state !== 'object' || Array.isArray(state)) {
      this.runtime.comms.log(`widget ${this.id}: update without a state object; ignored`);
      return;
    }
    const paths = (Array.isArray(bufferPaths) ? bufferPaths : []) as BufferPath[];
    let incoming: WidgetState;
    try {
      refuseForbiddenKeys(state, 'the update\'s state');
      incoming = putBuffers(JSON.parse(JSON.stringify(state)) as JSONObject, paths, msg.buffers);
    } catch (e) {
      this.runtime.comms.log(`widget ${this.id}: bad update (${(e as Error).message}); ignored`);
      return;
    }
    const rejected = this.rejectedKeys(incoming);
    for (const key of rejected) delete incoming[key];
    if (this.echo) {
      // Parented to the front end's update (the comm manager's context), which is how the
      // front end recognises its own echo. Only accepted values are echoed.
      const accepted: JSONObject = {};
      for (const [k, v] of Object.entries(state)) if (!rejected.includes(k)) accepted[k] = v;
      const kept = paths.map((p, i) => ({ p, b: msg.buffers[i] })).filter(({ p }) => !rejected.includes(String(p[0])));
      this.comm.send({ method: 'echo_update', state: accepted, buffer_paths: kept.map(({ p }) => p) }, { buffers: kept.map(({ b }) => b) });
    }
    if (rejected.length > 0) {
      // Put the front end back on the kernel's values.
      const current: WidgetState = {};
      for (const key of rejected) {
        const value = this.own(key);
        if (value !== undefined) current[key] = value;
      }
      this.sendState('update', current);
    }
    const { changed, old } = this.apply(incoming);
    if (Object.keys(changed).length > 0) this.emitChanges(changed, old, 'frontend');
  }

  /** Fields of a front-end update that fail validation (each logged with its reason). */
  private rejectedKeys(incoming: WidgetState): string[] {
    const validate = this.options.validate;
    if (!validate) return [];
    const rejected: string[] = [];
    for (const [key, value] of Object.entries(incoming)) {
      if (sameValue(this.own(key), value)) continue; // not a change: nothing to validate
      let reason: string | undefined;
      try {
        reason = validate(key, value, this);
      } catch (e) {
        reason = `the validator failed (${(e as Error).message})`;
      }
      if (reason !== undefined) {
        rejected.push(key);
        this.runtime.comms.log(`widget ${this.id} (${this.modelName}): rejected the front end's ${key} = ${JSON.stringify(value)?.slice(0, 200)}: ${reason}; sent the kernel's value back`);
      }
    }
    return rejected;
  }

  /** Store the values that differ; return them and what they replaced. */
  private apply(patch: WidgetState): { changed: WidgetState; old: WidgetState } {
    const changed: WidgetState = {};
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined) continue;
      if (!sameValue(this.own(k), v)) changed[k] = v;
    }
    const old: WidgetState = {};
    for (const k of Object.keys(changed)) old[k] = this.own(k) as WidgetValue;
    Object.assign(this.values, changed);
    return { changed, old };
  }

  /** A field's value; undefined for a name the state does not hold (never a prototype's member, e.g. "toString"). */
  private own(key: string): WidgetValue | undefined {
    return hasOwn(this.values, key) ? this.values[key] : undefined;
  }

  private emitChanges(changed: WidgetState, old: WidgetState, source: ChangeSource): void {
    for (const [k, v] of Object.entries(changed)) this.emit(`change:${k}`, [v, { old: old[k], source }]);
    this.emit('change', [changed, source]);
  }

  private sendState(method: 'update', values: WidgetState): void {
    const split = removeBuffers(values);
    this.comm.send({ method, state: split.state, buffer_paths: split.buffer_paths }, { buffers: split.buffers });
  }

  private emit(event: string, args: unknown[]): void {
    for (const l of [...(this.listeners.get(event) ?? [])]) {
      this.runtime.comms.invoke(l.owner, `widget ${this.modelName} "${event}" listener`, () => (l.fn as (...a: unknown[]) => unknown)(...args));
    }
  }

  private closed(): void {
    this.runtime.widgets.delete(this.id);
    this.emit('close', []);
    this.listeners.clear();
  }
}

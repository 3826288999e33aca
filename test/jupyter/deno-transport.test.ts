/**
 * The Deno transport over a stand-in `Deno.jupyter` (the real kernel is driven in test/deno):
 * recognising Deno's kernel, and widgets and displays going out through broadcast.
 */
import { expect } from 'chai';
import { denoJupyter, DenoTransport, DENO_ONE_WAY } from '../../src/jupyter/deno';
import { kernelRuntime, requireRuntime } from '../../src/jupyter/runtime';
import { WidgetModel } from '../../src/jupyter/widget';

interface Broadcast {
  msgType: string;
  content: Record<string, unknown>;
  metadata: Record<string, unknown>;
  buffers: Uint8Array[];
}

const RUNTIME_KEY = Symbol.for('gradcam-ts.kernel.runtime');
type Globals = { Deno?: unknown; [RUNTIME_KEY]?: unknown };
const globals = globalThis as Globals;

/** Runs `fn` with `deno` as the Deno global and no runtime installed, then puts both back. */
function withDeno<T>(deno: unknown, fn: () => T): T {
  const [hadDeno, oldDeno, oldRuntime] = ['Deno' in globals, globals.Deno, globals[RUNTIME_KEY]];
  globals.Deno = deno;
  delete globals[RUNTIME_KEY];
  try {
    return fn();
  } finally {
    if (hadDeno) globals.Deno = oldDeno;
    else delete globals.Deno;
    globals[RUNTIME_KEY] = oldRuntime;
    if (oldRuntime === undefined) delete globals[RUNTIME_KEY];
  }
}

function fakeKernel(): { deno: { jupyter: { broadcast: (...a: unknown[]) => void } }; sent: Broadcast[] } {
  const sent: Broadcast[] = [];
  const broadcast = (msgType: unknown, content: unknown, extra: unknown): void => {
    const { metadata, buffers } = (extra ?? {}) as { metadata?: Record<string, unknown>; buffers?: Uint8Array[] };
    sent.push({ msgType: String(msgType), content: content as Record<string, unknown>, metadata: metadata ?? {}, buffers: buffers ?? [] });
  };
  return { deno: { jupyter: { broadcast } }, sent };
}

describe("Deno's Jupyter kernel as a transport (stand-in Deno.jupyter)", () => {
  it('is recognised only where Deno.jupyter.broadcast exists: not under Node, not under `deno run`, whose getter throws', () => {
    expect(withDeno(undefined, () => denoJupyter())).to.equal(undefined);
    const denoRun = Object.defineProperty({}, 'jupyter', {
      get() {
        throw new Error('Deno.jupyter is only available in `deno jupyter` subcommand');
      },
    });
    expect(withDeno(denoRun, () => denoJupyter())).to.equal(undefined);
    expect(withDeno({ jupyter: {} }, () => denoJupyter())).to.equal(undefined);
    const { deno } = fakeKernel();
    expect(withDeno(deno, () => denoJupyter())).to.equal(deno.jupyter);
  });

  it('gives widgets a runtime inside Deno\'s kernel, one that says it cannot hear the front end', () => {
    const { deno } = fakeKernel();
    withDeno(deno, () => {
      const rt = requireRuntime();
      expect(rt.oneWay).to.equal(DENO_ONE_WAY);
      expect(kernelRuntime(), 'made once, then reused').to.equal(rt);
    });
    expect(withDeno(undefined, () => kernelRuntime())).to.equal(undefined);
    expect(() => withDeno(undefined, () => requireRuntime())).to.throw(/TypeScript \(gradcam-ts\)/);
  });

  it('opens a widget with comm_open carrying its state and binary buffers, then displays it, all through broadcast', () => {
    const { deno, sent } = fakeKernel();
    withDeno(deno, () => {
      const values = new Float32Array([0.25, 0.5, 1]);
      const w = new WidgetModel(
        { _model_name: 'AnyModel', _model_module: 'anywidget', _model_module_version: '~0.11.*' },
        { title: 'deer', values },
        { fallback: () => ({ text: 'a deer', png: new Uint8Array([137, 80, 78, 71]) }) },
      );
      w.display();
      w.set({ title: 'ship' });
      expect(sent.map((s) => s.msgType)).to.deep.equal(['comm_open', 'display_data', 'comm_msg']);
      const [open, display, update] = sent;
      expect(open.content.target_name).to.equal('jupyter.widget');
      expect(open.metadata).to.deep.equal({ version: '2.1.0' });
      const data = open.content.data as { state: Record<string, unknown>; buffer_paths: unknown[] };
      expect(data.state).to.include({ _model_module: 'anywidget', title: 'deer' });
      expect(data.buffer_paths).to.deep.equal([['values']]);
      expect(open.buffers).to.have.length(1);
      expect(Array.from(new Float32Array(Uint8Array.from(open.buffers[0]).buffer))).to.deep.equal([0.25, 0.5, 1]);
      const bundle = display.content.data as Record<string, unknown>;
      expect(bundle['application/vnd.jupyter.widget-view+json']).to.deep.include({ model_id: w.id });
      expect(bundle['text/plain']).to.equal('a deer');
      expect(bundle['image/png']).to.equal(Buffer.from([137, 80, 78, 71]).toString('base64'));
      expect(update.content).to.deep.include({ comm_id: w.id, data: { method: 'update', state: { title: 'ship' }, buffer_paths: [] } });
    });
  });

  it("offers Deno's display protocol: a cell ending with the widget shows the widget view", () => {
    const { deno } = fakeKernel();
    withDeno(deno, () => {
      const w = new WidgetModel({ _model_name: 'M', _model_module: 'mod', _model_module_version: '1.0.0' }, { n: 1 }, { fallback: () => ({ text: 'M with n = 1' }) });
      const show = (w as unknown as Record<symbol, () => Record<string, unknown>>)[Symbol.for('Jupyter.display')];
      expect(show.call(w)).to.deep.equal(w.mimeBundle());
      expect(w.mimeBundle()['text/plain']).to.equal('M with n = 1');
    });
  });

  it('has no replies to give: Deno answers shell requests itself', () => {
    const { deno, sent } = fakeKernel();
    const t = new DenoTransport(deno.jupyter);
    const header = { msg_id: 'm1', msg_type: 'comm_info_request', session: 's', username: 'u', date: '', version: '5.3' };
    t.reply({ identities: [], header, parent_header: {}, metadata: {}, content: {}, buffers: [] });
    expect(sent).to.deep.equal([]);
  });
});

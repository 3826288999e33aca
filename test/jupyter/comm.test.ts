/**
 * The comm and widget layers over a recording transport (no sockets): what goes out, to which
 * parent, and what a notebook's listeners see. Plus the tslab patch's guard and small pure helpers.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { inspect } from 'util';
import type { KernelTransport, PublishOptions } from '../../src/jupyter/comm';
import { KernelRuntime } from '../../src/jupyter/runtime';
import { WidgetModel } from '../../src/jupyter/widget';
import { putBuffers, removeBuffers, sameValue } from '../../src/jupyter/buffers';
import { TslabPatchError, errorFromStderr, patchTslab } from '../../src/jupyter/tslab-patch';
import type { TslabModules } from '../../src/jupyter/tslab-patch';
import { connectionFileFrom } from '../../src/jupyter/launcher';
import { KERNEL_DISPLAY_NAME, installKernel, installKernelCommand, kernelsDir } from '../../src/cli/install-kernel';
import { parseArgs } from '../../src/cli/args';
import type { JSONObject, JupyterMessage, MessageHeader } from '../../src/jupyter/wire';

interface Sent {
  msgType: string;
  content: JSONObject;
  parent: string | undefined;
  metadata: JSONObject;
  buffers: Buffer[];
}

class Recorder implements KernelTransport {
  sent: Sent[] = [];
  replies: { to: string; msgType: string; content: JSONObject }[] = [];
  logs: string[] = [];
  publish(msgType: string, content: JSONObject, o: PublishOptions): void {
    this.sent.push({ msgType, content, parent: (o.parent as Partial<MessageHeader>).msg_id, metadata: o.metadata ?? {}, buffers: o.buffers ?? [] });
  }
  reply(request: JupyterMessage, msgType: string, content: JSONObject): void {
    this.replies.push({ to: request.header.msg_id, msgType, content });
  }
  log(line: string): void {
    this.logs.push(line);
  }
  comm(method?: string): Sent[] {
    return this.sent.filter((s) => s.msgType === 'comm_msg' && (method === undefined || (s.content.data as JSONObject).method === method));
  }
}

let n = 0;
function incoming(msgType: string, content: JSONObject, buffers: Buffer[] = []): JupyterMessage {
  const header: MessageHeader = { msg_id: `m${++n}`, msg_type: msgType, session: 's', username: 'u', date: '', version: '5.3' };
  return { identities: [], header, parent_header: {}, metadata: {}, content, buffers };
}
const execReq = (): MessageHeader => incoming('execute_request', { code: '' }).header;
const SPEC = { _model_name: 'M', _model_module: 'mod', _model_module_version: '1.0.0', _view_name: 'V', _view_module: 'mod', _view_module_version: '1.0.0' };
const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('kernel comms (recording transport)', () => {
  let t: Recorder;
  let rt: KernelRuntime;
  beforeEach(() => {
    t = new Recorder();
    rt = new KernelRuntime(t);
  });

  it('opens a registered target, routes messages and buffers, and lists it in comm_info by target', () => {
    const got: number[][] = [];
    rt.comms.registerTarget('t.a', (comm, open) => {
      expect(open.data).to.deep.equal({ hi: 1 });
      comm.onMsg((m) => got.push([...m.buffers[0]]));
    });
    rt.comms.handle(incoming('comm_open', { comm_id: 'c1', target_name: 't.a', data: { hi: 1 } }));
    rt.comms.handle(incoming('comm_msg', { comm_id: 'c1', data: {} }, [Buffer.from([4, 5])]));
    expect(got).to.deep.equal([[4, 5]]);
    const info = incoming('comm_info_request', { target_name: 't.a' });
    rt.comms.handle(info);
    rt.comms.handle(incoming('comm_info_request', { target_name: 'other' }));
    expect(t.replies).to.deep.equal([
      { to: info.header.msg_id, msgType: 'comm_info_reply', content: { status: 'ok', comms: { c1: { target_name: 't.a' } } } },
      { to: t.replies[1].to, msgType: 'comm_info_reply', content: { status: 'ok', comms: {} } },
    ]);
  });

  it('answers an unknown target with comm_close parented to the comm_open, and logs unknown comm ids', () => {
    const open = incoming('comm_open', { comm_id: 'zz', target_name: 'nope', data: {} });
    rt.comms.handle(open);
    expect(t.sent).to.deep.equal([{ msgType: 'comm_close', content: { comm_id: 'zz', data: {} }, parent: open.header.msg_id, metadata: {}, buffers: [] }]);
    rt.comms.handle(incoming('comm_msg', { comm_id: 'missing', data: {} }));
    rt.comms.handle(incoming('comm_close', { comm_id: 'missing', data: {} }));
    expect(t.logs.join('\n')).to.match(/unknown target "nope"/).and.match(/comm_msg for unknown comm id "missing"/).and.match(/comm_close for unknown comm id/);
  });

  it('parents messages sent later from a timer to the execute_request that set the timer', async () => {
    const cell = execReq();
    let comm: ReturnType<typeof rt.comms.open> | undefined;
    rt.comms.runWithin(cell, () => {
      comm = rt.comms.open('t.b');
      setTimeout(() => comm?.send({ late: true }), 5);
    });
    // Another cell runs meanwhile; the timer still belongs to the first.
    rt.comms.runWithin(execReq(), () => undefined);
    await tick(20);
    expect(t.sent.map((s) => [s.msgType, s.parent])).to.deep.equal([
      ['comm_open', cell.msg_id],
      ['comm_msg', cell.msg_id],
    ]);
  });

  it('reports a throwing (or rejecting) handler into the cell that registered it, and keeps the others running', async () => {
    const cell = execReq();
    const seen: string[] = [];
    rt.comms.runWithin(cell, () => {
      rt.comms.registerTarget('t.c', (comm) => {
        comm.onMsg(() => {
          throw new Error('sync boom');
        });
        comm.onMsg(async () => {
          throw new Error('async boom');
        });
        comm.onMsg(() => seen.push('third'));
      });
    });
    rt.comms.handle(incoming('comm_open', { comm_id: 'c3', target_name: 't.c', data: {} }));
    rt.comms.handle(incoming('comm_msg', { comm_id: 'c3', data: {} }));
    await tick();
    const errs = t.sent.filter((s) => s.msgType === 'stream');
    // Listeners were registered inside the comm_open's handling, so their errors go there.
    expect(errs.map((e) => (e.content.text as string).split('\n')[1])).to.deep.equal(['Error: sync boom', 'Error: async boom']);
    expect(errs.every((e) => e.content.name === 'stderr')).to.equal(true);
    expect(seen).to.deep.equal(['third']);
    expect(t.logs.filter((l) => l.includes('boom'))).to.have.length(2);
  });

  it('closes from either side exactly once, firing close listeners', () => {
    let closes = 0;
    rt.comms.registerTarget('t.d', (comm) => comm.onClose(() => closes++));
    rt.comms.handle(incoming('comm_open', { comm_id: 'c4', target_name: 't.d', data: {} }));
    rt.comms.handle(incoming('comm_close', { comm_id: 'c4', data: {} }));
    rt.comms.handle(incoming('comm_close', { comm_id: 'c4', data: {} }));
    expect(closes).to.equal(1);
    const mine = rt.comms.open('t.e');
    mine.close();
    mine.close();
    expect(t.sent.filter((s) => s.msgType === 'comm_close')).to.have.length(1);
    expect(() => mine.send({})).to.throw(/closed/);
  });
});

describe('kernel widget model (ipywidgets 8 protocol)', () => {
  let t: Recorder;
  let rt: KernelRuntime;
  beforeEach(() => {
    t = new Recorder();
    rt = new KernelRuntime(t);
  });
  const update = (id: string, state: JSONObject, paths: (string | number)[][] = [], buffers: Buffer[] = []): JupyterMessage =>
    incoming('comm_msg', { comm_id: id, data: { method: 'update', state, buffer_paths: paths } }, buffers);

  it('opens with the full state, version 2.1.0 metadata and typed arrays as buffers', () => {
    const w = new WidgetModel(SPEC, { a: 1, pix: new Uint8Array([7, 8]) }, { runtime: rt });
    const [open] = t.sent;
    expect(open.msgType).to.equal('comm_open');
    expect(open.metadata).to.deep.equal({ version: '2.1.0' });
    expect(open.content).to.deep.equal({
      comm_id: w.id,
      target_name: 'jupyter.widget',
      data: {
        state: { _model_name: 'M', _model_module: 'mod', _model_module_version: '1.0.0', _view_name: 'V', _view_module: 'mod', _view_module_version: '1.0.0', a: 1 },
        buffer_paths: [['pix']],
      },
    });
    expect(open.buffers.map((b) => [...b])).to.deep.equal([[7, 8]]);
    expect(w.state).to.deep.equal({ a: 1, pix: new Uint8Array([7, 8]) });
  });

  it('applies a front-end update, echoes it to the same parent, and tells listeners the source and old value', () => {
    const w = new WidgetModel(SPEC, { a: 1, b: 'x' }, { runtime: rt });
    const calls: unknown[] = [];
    w.on('change:a', (v, info) => calls.push(['a', v, info]));
    w.on('change', (changed, source) => calls.push(['any', changed, source]));
    const up = update(w.id, { a: 2, b: 'x' });
    rt.comms.handle(up);
    const [echo] = t.comm('echo_update');
    expect(echo.parent).to.equal(up.header.msg_id);
    expect(echo.content.data).to.deep.equal({ method: 'echo_update', state: { a: 2, b: 'x' }, buffer_paths: [] });
    // b did not change, so only a is reported.
    expect(calls).to.deep.equal([
      ['a', 2, { old: 1, source: 'frontend' }],
      ['any', { a: 2 }, 'frontend'],
    ]);
    expect(w.get('a')).to.equal(2);
  });

  it('puts update buffers back at their paths and sends kernel-side changes as update with buffers', () => {
    const w = new WidgetModel(SPEC, { img: { pixels: new Uint8Array([0]) as Uint8Array | Buffer, h: 1 }, n: 0 }, { runtime: rt });
    rt.comms.handle(update(w.id, { img: { h: 2 } }, [['img', 'pixels']], [Buffer.from([1, 2])]));
    expect([...(w.get('img').pixels as Uint8Array)]).to.deep.equal([1, 2]);
    expect(w.get('img').h).to.equal(2);
    t.sent = [];
    w.set({ n: 5, img: { pixels: new Uint8Array([3]), h: 2 } });
    const [u] = t.comm('update');
    expect(u.content.data).to.deep.equal({ method: 'update', state: { n: 5, img: { h: 2 } }, buffer_paths: [['img', 'pixels']] });
    expect([...u.buffers[0]]).to.deep.equal([3]);
    t.sent = [];
    w.set({ n: 5 });
    expect(t.sent).to.deep.equal([], 'an unchanged value sends nothing');
  });

  it('answers request_state with the full state and passes custom messages both ways', () => {
    const w = new WidgetModel(SPEC, { a: 1, raw: new Float32Array([0.5]) }, { runtime: rt });
    const rq = incoming('comm_msg', { comm_id: w.id, data: { method: 'request_state' } });
    rt.comms.handle(rq);
    const [full] = t.comm('update');
    expect(full.parent).to.equal(rq.header.msg_id);
    expect((full.content.data as JSONObject).buffer_paths).to.deep.equal([['raw']]);
    expect(full.buffers[0].readFloatLE(0)).to.equal(0.5);
    w.on('custom', (content, buffers) => w.send({ back: content }, buffers));
    rt.comms.handle(incoming('comm_msg', { comm_id: w.id, data: { method: 'custom', content: { q: 1 } } }, [Buffer.from('z')]));
    const [c] = t.comm('custom');
    expect(c.content.data).to.deep.equal({ method: 'custom', content: { back: { q: 1 } } });
    expect(c.buffers.map(String)).to.deep.equal(['z']);
  });

  it('waitFor resolves on the next front-end value only, and times out with a clear error', async () => {
    const w = new WidgetModel(SPEC, { a: 1 }, { runtime: rt });
    const p = w.waitFor('change:a');
    w.set({ a: 10 }); // kernel-side: does not resolve
    rt.comms.handle(update(w.id, { a: 11 }));
    expect(await p).to.equal(11);
    let err: Error | undefined;
    await w.waitFor('change:a', { timeoutMs: 10 }).catch((e: Error) => (err = e));
    expect(err?.message).to.match(/no change:a from the front end within 10 ms/);
  });

  it('displays a widget-view bundle with text and PNG fallbacks into the running cell', () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
    const cell = execReq();
    const w = rt.comms.runWithin(cell, () => new WidgetModel(SPEC, { a: 1 }, { runtime: rt, fallback: () => ({ text: 'an M', png }) }));
    rt.comms.runWithin(cell, () => w.display());
    const d = t.sent.find((s) => s.msgType === 'display_data');
    expect(d?.parent).to.equal(cell.msg_id);
    expect(d?.content).to.deep.equal({
      data: { 'application/vnd.jupyter.widget-view+json': { version_major: 2, version_minor: 0, model_id: w.id }, 'text/plain': 'an M', 'image/png': 'iVBORw==' },
      metadata: {},
      transient: {},
    });
  });

  it('answers the control comm with every live widget and forgets closed ones', () => {
    const w1 = new WidgetModel(SPEC, { a: 1, p: new Uint8Array([1]) }, { runtime: rt });
    const w2 = new WidgetModel(SPEC, { a: 2 }, { runtime: rt });
    w2.close();
    rt.comms.handle(incoming('comm_open', { comm_id: 'ctl', target_name: 'jupyter.widget.control', data: {} }));
    rt.comms.handle(incoming('comm_msg', { comm_id: 'ctl', data: { method: 'request_states' } }));
    const [s] = t.comm('update_states');
    const data = s.content.data as { states: JSONObject; buffer_paths: unknown };
    expect(Object.keys(data.states)).to.deep.equal([w1.id]);
    expect(data.buffer_paths).to.deep.equal([[w1.id, 'state', 'p']]);
    expect(w2.isClosed).to.equal(true);
  });

  it('logs a malformed update instead of throwing', () => {
    const w = new WidgetModel(SPEC, { a: 1 }, { runtime: rt });
    rt.comms.handle(update(w.id, { a: 2 }, [['a', 'deep', 'x']], [Buffer.from('q')]));
    rt.comms.handle(incoming('comm_msg', { comm_id: w.id, data: { method: 'update', state: 'nope' } }));
    expect(w.get('a')).to.equal(1);
    expect(t.logs.join('\n')).to.match(/bad update \(buffer_paths\[0\]/).and.match(/update without a state object/);
  });

  it('refuses to be created outside the gradcam-ts kernel, naming the fix', () => {
    expect(() => new WidgetModel(SPEC, {})).to.throw(/TypeScript \(gradcam-ts\).*install-kernel/);
  });
});

describe('kernel buffers helpers', () => {
  it('removeBuffers/putBuffers round-trip nested objects and lists (list slots become null)', () => {
    const state = { a: [1, new Uint8Array([1]), { b: new Uint16Array([2]) }], c: 'x' };
    const split = removeBuffers(state);
    expect(split.state).to.deep.equal({ a: [1, null, {}], c: 'x' });
    expect(split.buffer_paths).to.deep.equal([['a', 1], ['a', 2, 'b']]);
    const back = putBuffers(JSON.parse(JSON.stringify(split.state)), split.buffer_paths, split.buffers);
    expect(sameValue(back, state)).to.equal(true);
    expect(state.a[1]).to.be.instanceOf(Uint8Array, 'input untouched');
  });

  it('compares bytes by content', () => {
    expect(sameValue(new Uint8Array([1, 2]), Buffer.from([1, 2]))).to.equal(true);
    expect(sameValue(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).to.equal(false);
    expect(sameValue({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).to.equal(true);
    expect(sameValue({ a: 1 }, { a: 1, b: 2 })).to.equal(false);
  });

  it('rejects buffer_paths that name more buffers than sent', () => {
    expect(() => putBuffers({}, [['a']], [])).to.throw(/names 1 buffers but the message carries 0/);
  });
});

describe('kernel launcher, tslab patch guard and install', () => {
  it('reads the connection file from the argv forms tslab and Jupyter use', () => {
    expect(connectionFileFrom(['/r/kernel-1.json'])).to.equal('/r/kernel-1.json');
    expect(connectionFileFrom(['--config-path', '/r/k.json'])).to.equal('/r/k.json');
    expect(connectionFileFrom(['--config-path=/r/k.json'])).to.equal('/r/k.json');
    expect(connectionFileFrom([])).to.equal(undefined);
  });

  it('exits on its own when the process that started it dies without shutting it down', async function () {
    this.timeout(20_000);
    const launcher = path.resolve(__dirname, '..', '..', 'src', 'jupyter', 'launcher.ts');
    // bash starts a stand-in kernel (JPY_PARENT_PID = bash) and exits half a second later.
    const js = `require(${JSON.stringify(launcher)}).exitWithParent(Number(process.env.JPY_PARENT_PID), 100); setInterval(() => {}, 1000);`;
    const { spawnSync } = await import('child_process');
    const r = spawnSync('bash', ['-c', `JPY_PARENT_PID=$$ node --require tsx/cjs -e '${js}' >/dev/null 2>&1 & echo $!; sleep 0.5`], { encoding: 'utf8', cwd: path.resolve(__dirname, '..', '..') });
    const pid = Number(r.stdout.trim());
    expect(pid).to.be.above(1);
    const alive = (): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const deadline = Date.now() + 15_000;
    while (alive() && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    const stillAlive = alive();
    if (stillAlive) process.kill(pid, 'SIGKILL');
    expect(stillAlive, 'the orphaned kernel is still running').to.equal(false);
  });

  it('fails with the tslab version and the fix when a private member is missing', () => {
    function Server(): void {}
    function Handler(): void {}
    const fake = { version: '9.9.9', jupyter: { ZmqServer: Server, JupyterHandlerImpl: Handler } } as unknown as TslabModules;
    expect(() => patchTslab(fake)).to.throw(TslabPatchError, /tslab 9\.9\.9: ZmqServer\.prototype\.publishStatus is missing.*tslab@1\.0\.22/);
  });

  it('finds every member it patches in the installed tslab', () => {
    // The real check, on a copy of the prototypes so the suite's tslab stays unpatched.
    const j = require('tslab/dist/jupyter') as TslabModules['jupyter'];
    const copy = (c: { prototype: object }): { prototype: object } => {
      const p: Record<string, unknown> = {};
      for (const k of Object.getOwnPropertyNames(c.prototype)) p[k] = (c.prototype as Record<string, unknown>)[k];
      return { prototype: p };
    };
    const version = (require('tslab/package.json') as { version: string }).version;
    expect(version).to.equal('1.0.22');
    expect(() => patchTslab({ version, jupyter: { ZmqServer: copy(j.ZmqServer), JupyterHandlerImpl: copy(j.JupyterHandlerImpl) } as TslabModules['jupyter'] })).not.to.throw();
  });

  it('turns tslab stderr into error reply fields', () => {
    expect(errorFromStderr('evalmachine.<anonymous>:2\nthrow x;\n^\n\nTypeError: bad thing\n    at foo\n')).to.include({ ename: 'TypeError', evalue: 'bad thing' });
    expect(errorFromStderr("1:7 - Type 'string' is not assignable to type 'number'.\n")).to.include({ ename: 'TypeScriptError', evalue: "Type 'string' is not assignable to type 'number'." });
    expect(errorFromStderr('')).to.include({ ename: 'Error', evalue: 'the cell failed' });
  });

  it('installs a kernelspec with absolute node and launcher paths, replacing an older one', async () => {
    const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'gradcam-kspec-'));
    try {
      const dir = await installKernel({ prefix });
      expect(dir).to.equal(path.join(prefix, 'share', 'jupyter', 'kernels', 'gradcam-ts'));
      fs.writeFileSync(path.join(dir, 'stale.txt'), 'old');
      const again = await installKernel({ prefix });
      const spec = JSON.parse(fs.readFileSync(path.join(again, 'kernel.json'), 'utf8')) as { argv: string[]; display_name: string; language: string };
      expect(spec.display_name).to.equal(KERNEL_DISPLAY_NAME);
      expect(spec.language).to.equal('typescript');
      expect(spec.argv).to.deep.equal([process.execPath, path.resolve(__dirname, '..', '..', 'dist', 'jupyter', 'launcher.js'), '{connection_file}']);
      expect(spec.argv.slice(0, 2).every((p) => path.isAbsolute(p))).to.equal(true);
      expect(fs.readdirSync(path.dirname(again))).to.deep.equal(['gradcam-ts'], 'no temp or old folders left');
    } finally {
      fs.rmSync(prefix, { recursive: true, force: true });
    }
  });

  it('picks the kernels folder per option and refuses two at once', () => {
    expect(kernelsDir({ prefix: '/opt/j' })).to.equal('/opt/j/share/jupyter/kernels');
    const saved = process.env.JUPYTER_DATA_DIR;
    process.env.JUPYTER_DATA_DIR = '/tmp/jdata';
    try {
      expect(kernelsDir({ user: true })).to.equal('/tmp/jdata/kernels');
    } finally {
      if (saved === undefined) delete process.env.JUPYTER_DATA_DIR;
      else process.env.JUPYTER_DATA_DIR = saved;
    }
    expect(kernelsDir({ sysPrefix: true })).to.match(/\/share\/jupyter\/kernels$/);
    expect(() => kernelsDir({ user: true, prefix: '/x' })).to.throw(/pick one of --user, --sys-prefix or --prefix/);
    expect(() => kernelsDir({ prefix: ' ' })).to.throw(/--prefix needs a folder/);
  });
});

describe('kernel widget printing', () => {
  it('prints as its text fallback (what tslab shows for a cell ending with a widget)', () => {
    const rt = new KernelRuntime(new Recorder());
    const w = new WidgetModel(SPEC, { a: 1 }, { runtime: rt });
    expect(inspect(w)).to.equal(`M(model_id='${w.id}')`);
  });
});

describe('gradcam install-kernel command', () => {
  it('parses --prefix and --sys-prefix/--user and rejects unknown options', async () => {
    const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'gradcam-kcmd-'));
    const log = console.log;
    const lines: string[] = [];
    console.log = (s: string) => lines.push(s);
    try {
      expect(await installKernelCommand(parseArgs(['--prefix', prefix], ['user', 'sys-prefix']))).to.equal(0);
    } finally {
      console.log = log;
    }
    expect(fs.existsSync(path.join(prefix, 'share/jupyter/kernels/gradcam-ts/kernel.json'))).to.equal(true);
    expect(lines[0]).to.include(prefix);
    fs.rmSync(prefix, { recursive: true, force: true });
    let err: Error | undefined;
    await installKernelCommand(parseArgs(['--prefx', '/x'], ['user', 'sys-prefix'])).catch((e: Error) => (err = e));
    expect(err?.message).to.match(/unknown option --prefx/);
    await installKernelCommand(parseArgs(['--user', '--sys-prefix'], ['user', 'sys-prefix'])).catch((e: Error) => (err = e));
    expect(err?.message).to.match(/pick one of/);
  });
});

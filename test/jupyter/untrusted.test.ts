/**
 * Untrusted input is data, never a path into our objects: every place in the kernel that walks or
 * indexes front-end JSON refuses __proto__, constructor and prototype, and reads messages through
 * their own properties only (so a prototype polluted by anything else cannot steer a handler).
 */
import { expect } from 'chai';
import type { KernelTransport, PublishOptions } from '../../src/jupyter/comm';
import { KernelRuntime } from '../../src/jupyter/runtime';
import { WidgetModel } from '../../src/jupyter/widget';
import { putBuffers, sameValue } from '../../src/jupyter/buffers';
import { forbiddenKeyPath, ForbiddenKeyError, refuseForbiddenKeys } from '../../src/jupyter/untrusted';
import { invalidRequest, type GradCamState } from '../../src/shared/gradcam-schema';
import { parseFrames, serialize, WireError, type JSONObject, type JupyterMessage, type MessageHeader } from '../../src/jupyter/wire';

class Recorder implements KernelTransport {
  sent: { msgType: string; content: JSONObject }[] = [];
  logs: string[] = [];
  publish(msgType: string, content: JSONObject, _o: PublishOptions): void {
    this.sent.push({ msgType, content });
  }
  reply(_r: JupyterMessage, msgType: string, content: JSONObject): void {
    this.sent.push({ msgType, content });
  }
  log(line: string): void {
    this.logs.push(line);
  }
}

let n = 0;
/** A message as the wire layer hands it over: its content made by JSON.parse, as from a socket. */
function incoming(msgType: string, json: string, buffers: Buffer[] = []): JupyterMessage {
  const header: MessageHeader = { msg_id: `m${++n}`, msg_type: msgType, session: 's', username: 'u', date: '', version: '5.3' };
  return { identities: [], header, parent_header: {}, metadata: {}, content: JSON.parse(json) as JSONObject, buffers };
}

const PROTO = Object.prototype as unknown as Record<string, unknown>;
/** Object.prototype as some other code might have left it; cleaned up whatever happens. */
function withPollutedPrototype<T>(fields: Record<string, unknown>, fn: () => T): T {
  for (const [k, value] of Object.entries(fields)) Object.defineProperty(PROTO, k, { value, configurable: true, writable: true, enumerable: false });
  try {
    return fn();
  } finally {
    for (const k of Object.keys(fields)) delete PROTO[k];
  }
}

const SPEC = { _model_name: 'M', _model_module: 'mod', _model_module_version: '1.0.0' };

describe('front-end JSON is data, never a path into kernel objects', () => {
  let t: Recorder;
  let rt: KernelRuntime;
  beforeEach(() => {
    t = new Recorder();
    rt = new KernelRuntime(t);
  });
  afterEach(() => {
    expect(Object.getOwnPropertyNames(Object.prototype).filter((k) => /polluted|hacked/.test(k)), 'Object.prototype is clean').to.deep.equal([]);
  });

  it('finds a forbidden key at any depth of parsed JSON, without recursion limits', () => {
    expect(forbiddenKeyPath(JSON.parse('{"a":[1,{"b":{"__proto__":{"polluted":1}}}]}'))).to.deep.equal(['a', 1, 'b', '__proto__']);
    expect(forbiddenKeyPath({ a: { constructor: 1 } })).to.deep.equal(['a', 'constructor']);
    expect(forbiddenKeyPath({ a: [{ prototype: 1 }] })).to.deep.equal(['a', 0, 'prototype']);
    expect(forbiddenKeyPath({ a: { b: [1, 'constructor'] }, toString: 1 })).to.equal(undefined);
    const deep = JSON.parse(`${'['.repeat(100_000)}{"__proto__":1}${']'.repeat(100_000)}`) as unknown;
    expect(forbiddenKeyPath(deep)).to.have.length(100_001);
    expect(() => refuseForbiddenKeys(JSON.parse('{"x":{"__proto__":{}}}'), 'the state')).to.throw(
      ForbiddenKeyError,
      /the state uses the key "__proto__" at \["x","__proto__"\]; the kernel refuses __proto__, constructor, prototype as keys from a front end/,
    );
  });

  it('putBuffers refuses buffer paths through __proto__, constructor, prototype, prototype members and outside lists', () => {
    const state = (): JSONObject => JSON.parse('{"a":{"b":1},"list":[null,null]}') as JSONObject;
    const buf = [Buffer.from('x')];
    for (const path of [['__proto__', 'polluted'], ['constructor', 'prototype', 'polluted'], ['a', '__proto__', 'polluted'], ['a', 'prototype'], ['__proto__']]) {
      expect(() => putBuffers(state(), [path], buf), JSON.stringify(path)).to.throw(ForbiddenKeyError, /buffer_paths\[0\] uses the key/);
    }
    expect(() => putBuffers(state(), [['toString', 'polluted']], buf)).to.throw(/leads through a missing or non-container value at "toString"/);
    expect(() => putBuffers(state(), [['list', 'length']], buf)).to.throw(/ends in "length", which is not a position in a list of 2/);
    expect(() => putBuffers(state(), [['list', 2]], buf)).to.throw(/not a position in a list of 2/);
    expect(() => putBuffers(state(), [['list', -1]], buf)).to.throw(/not a position/);
    expect(() => putBuffers(state(), [[{ k: 1 } as unknown as string]], buf)).to.throw(ForbiddenKeyError);
    const ok = putBuffers(state(), [['a', 'c'], ['list', 1]], [Buffer.from('1'), Buffer.from('2')]);
    expect(String((ok.a as { c: Buffer }).c) + String((ok.list as Buffer[])[1])).to.equal('12');
  });

  it("a widget refuses an update with a forbidden key in its state or buffer paths: logged, no change, no echo, no listener", () => {
    const w = new WidgetModel(SPEC, { a: 1, img: { h: 1 } }, { runtime: rt });
    const heard: unknown[] = [];
    w.on('change', (c) => heard.push(c));
    const update = (state: string, paths = '[]', buffers: Buffer[] = []): void =>
      rt.comms.handle(incoming('comm_msg', `{"comm_id":"${w.id}","data":{"method":"update","state":${state},"buffer_paths":${paths}}}`, buffers));
    update('{"__proto__":{"polluted":1},"a":2}');
    update('{"a":3,"img":{"constructor":{"prototype":{"hacked":1}}}}');
    update('{"a":4,"img":{"h":[{"prototype":1}]}}');
    update('{"a":5}', '[["__proto__","polluted"]]', [Buffer.from('x')]);
    update('{"a":6}', '[["img","__proto__","polluted"]]', [Buffer.from('x')]);
    expect(heard).to.deep.equal([]);
    expect(w.get('a')).to.equal(1);
    expect(t.sent.filter((s) => s.msgType === 'comm_msg')).to.deep.equal([]);
    expect(t.logs.filter((l) => /bad update \(.*the kernel refuses __proto__, constructor, prototype/.test(l))).to.have.length(5);
    update('{"a":7}');
    expect(heard).to.deep.equal([{ a: 7 }], 'an honest update still works');
  });

  it('a widget reads the method and fields of a message from the message itself, not from a polluted prototype', () => {
    const w = new WidgetModel(SPEC, { a: 1 }, { runtime: rt });
    let customs = 0;
    w.on('custom', () => customs++);
    withPollutedPrototype({ method: 'request_state' }, () => rt.comms.handle(incoming('comm_msg', `{"comm_id":"${w.id}","data":{}}`)));
    withPollutedPrototype({ state: { a: 9 } }, () => rt.comms.handle(incoming('comm_msg', `{"comm_id":"${w.id}","data":{"method":"update"}}`)));
    withPollutedPrototype({ content: { evil: 1 } }, () => rt.comms.handle(incoming('comm_msg', `{"comm_id":"${w.id}","data":{"method":"custom"}}`)));
    expect(t.sent.filter((s) => s.msgType === 'comm_msg'), 'no state was sent').to.deep.equal([]);
    expect(w.get('a')).to.equal(1);
    expect(customs).to.equal(1);
    expect(t.logs.join('\n')).to.match(/unknown method undefined/).and.match(/update without a state object/);
  });

  it('the comm manager refuses a comm id of __proto__ and finds comms by own fields only', () => {
    rt.comms.registerTarget('t.a', () => undefined);
    rt.comms.handle(incoming('comm_open', '{"comm_id":"__proto__","target_name":"t.a","data":{}}'));
    expect(t.sent).to.deep.equal([{ msgType: 'comm_close', content: { comm_id: '__proto__', data: {} } }]);
    expect(rt.comms.list()).to.deep.equal([]);
    rt.comms.handle(incoming('comm_open', '{"comm_id":"c1","target_name":"t.a","data":{}}'));
    withPollutedPrototype({ comm_id: 'c1', target_name: 't.a' }, () => {
      rt.comms.handle(incoming('comm_msg', '{"data":{}}'));
      rt.comms.handle(incoming('comm_close', '{"data":{}}'));
      rt.comms.handle(incoming('comm_open', '{"data":{}}'));
      rt.comms.handle(incoming('comm_info_request', '{}'));
    });
    expect(rt.comms.get('c1')?.closed).to.equal(false);
    expect(t.sent[t.sent.length - 1]).to.deep.equal({ msgType: 'comm_info_reply', content: { status: 'ok', comms: { c1: { target_name: 't.a' } } } });
    expect(t.logs.join('\n')).to.match(/refuses \(use a uuid\)/).and.match(/comm_msg for unknown comm id undefined/).and.match(/comm_open without a string comm_id/);
  });

  it('the widget control comm reads its method from the message only', () => {
    new WidgetModel(SPEC, { a: 1 }, { runtime: rt });
    rt.comms.handle(incoming('comm_open', '{"comm_id":"ctl","target_name":"jupyter.widget.control","data":{}}'));
    withPollutedPrototype({ method: 'request_states' }, () => rt.comms.handle(incoming('comm_msg', '{"comm_id":"ctl","data":{"__proto__":{"method":"request_states"}}}')));
    expect(t.sent.filter((s) => s.msgType === 'comm_msg')).to.deep.equal([]);
    expect(t.logs.join('\n')).to.match(/jupyter\.widget\.control: unknown method undefined/);
  });

  it("the Grad-CAM widget's request check refuses forbidden fields and reads only the request's own fields", () => {
    const state = { images: [{}], class_names: ['a', 'b'], layers: ['conv'] } as unknown as GradCamState;
    expect(invalidRequest(JSON.parse('{"type":"reset","request":"r","image":0,"__proto__":{"x":1}}'), state)).to.equal('a request may not have a field named __proto__');
    expect(invalidRequest({ type: 'reset', request: 'r', image: 0, constructor: 1 }, state)).to.equal('a request may not have a field named constructor');
    const steered = withPollutedPrototype({ type: 'reset', image: 0 }, () => invalidRequest({ request: 'r' }, state));
    expect(steered).to.equal('unknown request type undefined (expected edit, reset, add, layer or class)');
    const layer = withPollutedPrototype({ layer: 'conv' }, () => invalidRequest({ type: 'layer', request: 'r' }, state));
    expect(layer).to.match(/^layer undefined is not one of the offered layers/);
    expect(invalidRequest({ type: 'reset', request: 'r', image: 0 }, state)).to.equal(undefined);
  });

  it('sameValue compares own keys only', () => {
    expect(withPollutedPrototype({ p: 1 }, () => sameValue({ p: 1 }, { q: 2 }))).to.equal(false);
    expect(sameValue({ p: 1 }, { p: 1 })).to.equal(true);
  });

  it('the wire layer takes msg_type and msg_id from the header itself', () => {
    const msg = (header: object): Buffer[] =>
      serialize({ identities: [], header: header as MessageHeader, parent_header: {}, metadata: {}, content: {}, buffers: [] }, 'key');
    const frames = msg({ msg_id: 'a' });
    expect(() => withPollutedPrototype({ msg_type: 'execute_request' }, () => parseFrames(frames, 'key'))).to.throw(WireError, /header lacks a string msg_type or msg_id/);
    expect(parseFrames(msg({ msg_id: 'a', msg_type: 'kernel_info_request' }), 'key').header.msg_type).to.equal('kernel_info_request');
  });
});

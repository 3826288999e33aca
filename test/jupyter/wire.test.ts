/**
 * The wire format against independent truths: HMACs computed by Python's hmac module (pasted
 * below), the spec's frame layout, and round trips.
 */
import { expect } from 'chai';
import { DELIMITER, WireError, digestOf, parseFrames, serialize, sign, toBuffer } from '../../src/jupyter/wire';
import type { JupyterMessage, MessageHeader } from '../../src/jupyter/wire';

const KEY = 'secret-key';
const header: MessageHeader = { msg_id: 'a1', msg_type: 'comm_msg', session: 's', username: 'u', date: '2024-01-01T00:00:00.000Z', version: '5.3' };
const jsonFrames = [JSON.stringify(header), '{}', '{}', '{"comm_id":"c","data":{"x":1}}'].map((s) => Buffer.from(s));
// python3 -c "import hmac,hashlib; h=hmac.new(b'secret-key',digestmod=hashlib.sha256); [h.update(f) for f in frames]; print(h.hexdigest())"
const PY_SHA256 = '30c11b2ccdec71acabfb6f10e44107a3e04d7ea1e02d9498f5e90b3460e1b2fa';
const PY_SHA512 =
  'eb18d85710f98cb2a8f7ad517e8523f0738fa826056b2f94ce3f03a33414619d812b87f1fbf81eb3a3d755ed7ddfaba247a452a47c09288ac764ba6bc690fef9';

function message(buffers: Buffer[] = []): JupyterMessage {
  return { identities: [Buffer.from('client-1')], header, parent_header: {}, metadata: {}, content: { comm_id: 'c', data: { x: 1 } }, buffers };
}

describe('kernel wire format', () => {
  it('signs the four JSON frames exactly as Python hmac does (sha256 and sha512)', () => {
    expect(sign(KEY, jsonFrames)).to.equal(PY_SHA256);
    expect(sign(KEY, jsonFrames, 'sha512')).to.equal(PY_SHA512);
  });

  it('ignores binary buffers when signing (HMAC over the four JSON frames only)', () => {
    const frames = serialize(message([Buffer.from([1, 2, 3]), Buffer.alloc(1000, 7)]), KEY);
    const at = frames.findIndex((f) => f.equals(DELIMITER));
    expect(frames[at + 1].toString()).to.equal(PY_SHA256);
    expect(frames.slice(at + 6)).to.have.length(2);
    expect([...frames[at + 6]]).to.deep.equal([1, 2, 3]);
  });

  it('lays frames out as identities, delimiter, signature, 4 JSON frames, raw buffers', () => {
    const frames = serialize(message([Buffer.from('raw')]), KEY);
    expect(frames.map((f) => f.toString())).to.deep.equal(['client-1', '<IDS|MSG>', PY_SHA256, ...jsonFrames.map(String), 'raw']);
  });

  it('round-trips a message with buffers through serialize and parseFrames', () => {
    const back = parseFrames(serialize(message([Buffer.from([9, 8]), Buffer.from([])]), KEY), KEY);
    expect(back.header).to.deep.equal(header);
    expect(back.content).to.deep.equal({ comm_id: 'c', data: { x: 1 } });
    expect(back.identities.map(String)).to.deep.equal(['client-1']);
    expect(back.buffers.map((b) => [...b])).to.deep.equal([[9, 8], []]);
  });

  it('accepts a buffer-carrying message signed over the JSON frames only (what jupyter_client sends)', () => {
    const frames = [DELIMITER, Buffer.from(PY_SHA256), ...jsonFrames, Buffer.from([0xff, 0x00])];
    expect([...parseFrames(frames, KEY).buffers[0]]).to.deep.equal([0xff, 0]);
  });

  it('rejects a wrong, a missing and a truncated signature, naming the problem', () => {
    const body = [...jsonFrames];
    expect(() => parseFrames([DELIMITER, Buffer.from('0'.repeat(64)), ...body], KEY)).to.throw(WireError, /wrong signature/);
    expect(() => parseFrames([DELIMITER, Buffer.from(''), ...body], KEY)).to.throw(WireError, /missing signature/);
    expect(() => parseFrames([DELIMITER, Buffer.from(PY_SHA256.slice(0, 10)), ...body], KEY)).to.throw(WireError, /wrong signature/);
    // A tampered content frame no longer matches its signature.
    const tampered = [...body.slice(0, 3), Buffer.from('{"comm_id":"c","data":{"x":2}}')];
    expect(() => parseFrames([DELIMITER, Buffer.from(PY_SHA256), ...tampered], KEY)).to.throw(WireError, /wrong signature/);
  });

  it('rejects malformed JSON, non-object frames, a missing delimiter and too few frames', () => {
    const badJson = [Buffer.from('{not json'), Buffer.from('{}'), Buffer.from('{}'), Buffer.from('{}')];
    expect(() => parseFrames([DELIMITER, Buffer.from(sign(KEY, badJson)), ...badJson], KEY)).to.throw(WireError, /malformed JSON in the header frame/);
    const arr = [Buffer.from(JSON.stringify(header)), Buffer.from('[]'), Buffer.from('{}'), Buffer.from('{}')];
    expect(() => parseFrames([DELIMITER, Buffer.from(sign(KEY, arr)), ...arr], KEY)).to.throw(WireError, /parent_header frame must be a JSON object/);
    expect(() => parseFrames(jsonFrames, KEY)).to.throw(WireError, /delimiter/);
    expect(() => parseFrames([DELIMITER, Buffer.from(PY_SHA256), jsonFrames[0]], KEY)).to.throw(WireError, /need a signature and 4 JSON frames/);
    const noType = [Buffer.from('{"msg_id":"x"}'), Buffer.from('{}'), Buffer.from('{}'), Buffer.from('{}')];
    expect(() => parseFrames([DELIMITER, Buffer.from(sign(KEY, noType)), ...noType], KEY)).to.throw(WireError, /msg_type/);
  });

  it('uses no signature when the key is empty (the spec\'s unauthenticated mode)', () => {
    const frames = serialize(message(), '');
    expect(frames[2].toString()).to.equal('');
    expect(parseFrames(frames, '').header.msg_id).to.equal('a1');
  });

  it('maps signature_scheme to a digest and refuses others', () => {
    expect(digestOf('hmac-sha256')).to.equal('sha256');
    expect(digestOf(undefined)).to.equal('sha256');
    expect(digestOf('hmac-sha512')).to.equal('sha512');
    expect(() => digestOf('rsa')).to.throw(WireError, /hmac-<digest>/);
  });

  it('views typed arrays as bytes without copying', () => {
    const f = new Float32Array([1, -2]);
    const b = toBuffer(f.subarray(1));
    expect(b.length).to.equal(4);
    expect(b.readFloatLE(0)).to.equal(-2);
    b.writeFloatLE(5, 0);
    expect(f[1]).to.equal(5);
  });
});

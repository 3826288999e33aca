/**
 * The Jupyter wire protocol (messaging spec 5.x), written from the spec rather than from tslab:
 *
 *   [identities..., "<IDS|MSG>", signature, header, parent_header, metadata, content, buffers...]
 *
 * The signature is an HMAC over the four JSON frames only; binary buffers travel as raw frames
 * and are not signed (tslab 1.0.22 signs them and JSON-stringifies outgoing buffers, which no
 * other kernel or client does).
 */
import { createHmac, timingSafeEqual } from 'crypto';

export type JSONValue = string | number | boolean | null | JSONValue[] | { [key: string]: JSONValue };
export type JSONObject = { [key: string]: JSONValue };

export interface MessageHeader {
  msg_id: string;
  msg_type: string;
  session: string;
  username: string;
  date: string;
  version: string;
  [key: string]: JSONValue;
}

export interface JupyterMessage {
  /** ZeroMQ routing prefix (ROUTER identities, or a PUB topic). */
  identities: Buffer[];
  header: MessageHeader;
  /** Empty object when the message has no parent. */
  parent_header: MessageHeader | Record<string, never>;
  metadata: JSONObject;
  content: JSONObject;
  buffers: Buffer[];
}

export const DELIMITER = Buffer.from('<IDS|MSG>');

/** A message the kernel refuses; the caller logs it and carries on. */
export class WireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireError';
  }
}

/** Node's digest name for a connection file's `signature_scheme` ("hmac-sha256" -> "sha256"). */
export function digestOf(scheme: string | undefined): string {
  const s = scheme ?? 'hmac-sha256';
  if (!s.startsWith('hmac-')) {
    throw new WireError(`unsupported signature_scheme "${s}"; expected "hmac-<digest>", e.g. "hmac-sha256"`);
  }
  return s.slice('hmac-'.length);
}

/** Hex HMAC of the four JSON frames; "" when the key is empty (the spec's "no auth"). */
export function sign(key: string, jsonFrames: readonly Buffer[], digest = 'sha256'): string {
  if (key === '') return '';
  const hmac = createHmac(digest, key);
  for (const f of jsonFrames.slice(0, 4)) hmac.update(f);
  return hmac.digest('hex');
}

function parseJsonFrame(frame: Buffer, name: string): JSONObject {
  let v: unknown;
  try {
    v = JSON.parse(frame.toString('utf8'));
  } catch (e) {
    throw new WireError(`malformed JSON in the ${name} frame: ${(e as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new WireError(`the ${name} frame must be a JSON object, got ${JSON.stringify(v).slice(0, 40)}`);
  }
  return v as JSONObject;
}

/** Frames -> message, checking delimiter, signature and JSON; throws WireError naming the problem. */
export function parseFrames(frames: readonly Buffer[], key: string, digest = 'sha256'): JupyterMessage {
  const at = frames.findIndex((f) => f.equals(DELIMITER));
  if (at < 0) throw new WireError('message has no <IDS|MSG> delimiter');
  if (frames.length < at + 6) {
    throw new WireError(`message has ${frames.length - at - 1} frames after the delimiter; need a signature and 4 JSON frames`);
  }
  const signature = frames[at + 1].toString('ascii');
  const json = frames.slice(at + 2, at + 6);
  if (key !== '') {
    const want = Buffer.from(sign(key, json, digest), 'ascii');
    const got = Buffer.from(signature, 'ascii');
    if (got.length !== want.length || !timingSafeEqual(got, want)) {
      throw new WireError(signature === '' ? 'missing signature' : 'wrong signature');
    }
  }
  const header = parseJsonFrame(json[0], 'header');
  const own = (k: string): unknown => (Object.prototype.hasOwnProperty.call(header, k) ? header[k] : undefined);
  if (typeof own('msg_type') !== 'string' || typeof own('msg_id') !== 'string') {
    throw new WireError('header lacks a string msg_type or msg_id');
  }
  return {
    identities: frames.slice(0, at),
    header: header as MessageHeader,
    parent_header: parseJsonFrame(json[1], 'parent_header') as JupyterMessage['parent_header'],
    metadata: parseJsonFrame(json[2], 'metadata'),
    content: parseJsonFrame(json[3], 'content'),
    buffers: frames.slice(at + 6),
  };
}

/** Message -> frames, signed; buffers appended raw. */
export function serialize(msg: JupyterMessage, key: string, digest = 'sha256'): Buffer[] {
  const json = [msg.header, msg.parent_header, msg.metadata, msg.content].map((p) => Buffer.from(JSON.stringify(p), 'utf8'));
  return [...msg.identities, DELIMITER, Buffer.from(sign(key, json, digest), 'ascii'), ...json, ...msg.buffers];
}

/** Bytes of any typed array / DataView as a Buffer sharing its memory (no copy). */
export function toBuffer(view: ArrayBufferView): Buffer {
  return Buffer.isBuffer(view) ? view : Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

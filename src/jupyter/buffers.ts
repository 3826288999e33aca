/**
 * ipywidgets' binary-buffer convention: typed arrays anywhere in a state travel as separate
 * message buffers, and `buffer_paths` says where each one goes back ([key, index, ...]).
 * Removed object keys are deleted, removed list items become null (what the front end expects).
 */
import { isBytes } from '../shared/arrays';
import type { JSONObject, JSONValue } from './wire';
import { toBuffer } from './wire';
import { ForbiddenKeyError, hasOwn, isForbiddenKey, ownValue } from './untrusted';

/** A synced value: JSON, or bytes, nested in lists and objects. */
export type WidgetValue = JSONValue | ArrayBufferView | WidgetValue[] | { [key: string]: WidgetValue };
export type WidgetState = { [key: string]: WidgetValue };
export type BufferPath = (string | number)[];

export interface SplitState {
  state: JSONObject;
  buffer_paths: BufferPath[];
  buffers: Buffer[];
}

export { isBytes };

/** Split `state` into JSON and buffers; the input is not modified. */
export function removeBuffers(state: WidgetState): SplitState {
  const buffer_paths: BufferPath[] = [];
  const buffers: Buffer[] = [];
  const walk = (v: WidgetValue, path: BufferPath): JSONValue | undefined => {
    if (isBytes(v)) {
      buffer_paths.push(path);
      buffers.push(toBuffer(v));
      return undefined;
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, i]) ?? null);
    if (v !== null && typeof v === 'object') {
      const out: JSONObject = {};
      for (const [k, x] of Object.entries(v)) {
        const j = walk(x, [...path, k]);
        if (j !== undefined) out[k] = j;
      }
      return out;
    }
    return v;
  };
  return { state: walk(state, []) as JSONObject, buffer_paths, buffers };
}

/**
 * Put `buffers` back into `state` (in place) at `paths`; rejects paths that do not fit. Paths come
 * from the front end: each step must be an own property of an object (never __proto__,
 * constructor or prototype) or an index into a list, so no path leads outside `state`.
 */
export function putBuffers(state: JSONObject, paths: readonly BufferPath[], buffers: readonly Buffer[]): WidgetState {
  if (paths.length > buffers.length) {
    throw new Error(`buffer_paths names ${paths.length} buffers but the message carries ${buffers.length}`);
  }
  const root = state as WidgetState;
  paths.forEach((path, n) => {
    if (!Array.isArray(path) || path.length === 0) throw new Error(`buffer_paths[${n}] must be a non-empty list of keys, got ${JSON.stringify(path)}`);
    const bad = path.findIndex((k) => (typeof k !== 'string' && typeof k !== 'number') || isForbiddenKey(k));
    if (bad >= 0) throw new ForbiddenKeyError(`buffer_paths[${n}]`, path.slice(0, bad + 1));
    let obj: WidgetValue = root;
    for (let i = 0; i < path.length - 1; i++) {
      const next: WidgetValue | undefined = child(obj, path[i]);
      if (next === undefined || next === null || typeof next !== 'object' || isBytes(next)) {
        throw new Error(`buffer_paths[${n}] = ${JSON.stringify(path)} leads through a missing or non-container value at ${JSON.stringify(path[i])}`);
      }
      obj = next;
    }
    const last = path[path.length - 1];
    if (Array.isArray(obj)) {
      const i = Number(last);
      if (!Number.isInteger(i) || i < 0 || i >= obj.length) {
        throw new Error(`buffer_paths[${n}] = ${JSON.stringify(path)} ends in ${JSON.stringify(last)}, which is not a position in a list of ${obj.length}`);
      }
      obj[i] = buffers[n];
    } else (obj as { [key: string]: WidgetValue })[String(last)] = buffers[n];
  });
  return root;
}

/** The list item or own property `key` of `obj`; undefined for anything else (a prototype's member included). */
function child(obj: WidgetValue, key: string | number): WidgetValue | undefined {
  if (Array.isArray(obj)) {
    const i = Number(key);
    return Number.isInteger(i) && i >= 0 && i < obj.length ? obj[i] : undefined;
  }
  if (obj !== null && typeof obj === 'object' && !isBytes(obj)) return ownValue(obj as { [key: string]: WidgetValue }, String(key));
  return undefined;
}

/** Deep equality for synced values (bytes compared byte by byte). */
export function sameValue(a: WidgetValue | undefined, b: WidgetValue | undefined): boolean {
  if (a === b) return true;
  if (isBytes(a) || isBytes(b)) return isBytes(a) && isBytes(b) && toBuffer(a).equals(toBuffer(b));
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    const bo = b as { [key: string]: WidgetValue };
    return ka.length === kb.length && ka.every((k) => hasOwn(bo, k) && sameValue((a as { [key: string]: WidgetValue })[k], bo[k]));
  }
  return false;
}

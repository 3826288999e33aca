/**
 * Front-end JSON is data, never a path into our objects. JSON.parse makes "__proto__" an ordinary
 * own key, but the moment a kernel walks or assigns with it (obj[key] = ...), it reaches
 * Object.prototype: one comm message then changes every object in the kernel. So these keys are
 * refused wherever front-end keys meet our objects, and front-end objects are read through their
 * own properties only (a key missing from the message must not find a value on a prototype).
 */

export const FORBIDDEN_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

export function isForbiddenKey(key: unknown): boolean {
  return typeof key === 'string' && FORBIDDEN_KEYS.includes(key);
}

/** Object.hasOwn (ES2022; the project compiles to ES2020). */
export function hasOwn(obj: object, key: PropertyKey): boolean {
  return Object.prototype.hasOwnProperty.call(obj, key);
}

/** obj[key] when it is obj's own property, else undefined (never a value found on a prototype). */
export function ownValue<T>(obj: { [key: string]: T }, key: string): T | undefined {
  return hasOwn(obj, key) ? obj[key] : undefined;
}

export class ForbiddenKeyError extends Error {
  constructor(what: string, path: readonly (string | number)[]) {
    super(
      `${what} uses the key ${JSON.stringify(path[path.length - 1])} at ${JSON.stringify(path)}; ` +
        `the kernel refuses ${FORBIDDEN_KEYS.join(', ')} as keys from a front end (they reach into the kernel's objects). ` +
        'Rename the field.',
    );
    this.name = 'ForbiddenKeyError';
  }
}

interface Step {
  key: string | number;
  up: Step | undefined;
}

function pathOf(step: Step | undefined): (string | number)[] {
  const path: (string | number)[] = [];
  for (let s = step; s; s = s.up) path.push(s.key);
  return path.reverse();
}

/**
 * The path of the first forbidden key anywhere inside `value` (JSON from a front end), or
 * undefined. Iterative and linear in the size of `value` (each step links to its parent rather
 * than copying a path), so hostile nesting can neither overflow the stack nor cost quadratic time.
 */
export function forbiddenKeyPath(value: unknown): (string | number)[] | undefined {
  const todo: { v: unknown; at: Step | undefined }[] = [{ v: value, at: undefined }];
  for (let item = todo.pop(); item; item = todo.pop()) {
    const { v, at } = item;
    if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) continue;
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        if (x !== null && typeof x === 'object') todo.push({ v: x, at: { key: i, up: at } });
      });
      continue;
    }
    for (const [k, x] of Object.entries(v)) {
      if (isForbiddenKey(k)) return [...pathOf(at), k];
      if (x !== null && typeof x === 'object') todo.push({ v: x, at: { key: k, up: at } });
    }
  }
  return undefined;
}

/** Throws ForbiddenKeyError when `value` holds a forbidden key anywhere. */
export function refuseForbiddenKeys(value: unknown, what: string): void {
  const path = forbiddenKeyPath(value);
  if (path) throw new ForbiddenKeyError(what, path);
}

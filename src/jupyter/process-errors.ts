/**
 * The kernel owns the process-level error handlers. An uncaught exception or unhandled rejection
 * from notebook code (a throwing timer, a forgotten await) becomes an error output and the kernel
 * lives. Others install handlers too: tfjs-backend-wasm's Emscripten module adds listeners that
 * rethrow (Node then exits with code 7), and tslab's main.js adds console.error ones.
 *
 * Why every foreign listener is removed when it is added, rather than a before/after diff around
 * our wasm initialisation: the wasm module is also started by tf.setBackend('wasm') in a cell, by a
 * second copy of gradcam-ts or tfjs in the notebook's folder, and any library a notebook imports
 * may add its own; a diff covers one of those call sites, the 'newListener' event covers them all.
 * The removal runs on the next tick (the listener is added after 'newListener'), which is before
 * Node reports any rejection; and Emscripten's dispose removes every listener, ours included, so
 * ours is put back whenever it is removed.
 */
import { inspect } from 'util';
import { asWasmOutOfMemory } from '../backend/wasm-memory';
import type { JSONObject } from './wire';

export const PROCESS_ERROR_EVENTS = ['uncaughtException', 'unhandledRejection'] as const;
export type ProcessErrorEvent = (typeof PROCESS_ERROR_EVENTS)[number];
export type StrayKind = 'uncaught exception' | 'unhandled promise rejection';

type Listener = (...args: unknown[]) => void;

/** What is used of `process` (a test hands in an EventEmitter). */
export interface ProcessLike {
  on(event: string, listener: Listener): unknown;
  removeListener(event: string, listener: Listener): unknown;
  listeners(event: string): Function[]; // eslint-disable-line @typescript-eslint/ban-types
  nextTick(fn: () => void): void;
}

export interface StraySink {
  /** Show the error to the person (the kernel: an IOPub error output of the cell it came from). */
  report(error: unknown, kind: StrayKind): void;
  /** One line into the kernel's log. */
  log(line: string): void;
}

const isErrorEvent = (event: unknown): event is ProcessErrorEvent => (PROCESS_ERROR_EVENTS as readonly unknown[]).includes(event);

function describe(listener: Function): string { // eslint-disable-line @typescript-eslint/ban-types
  const text = String(listener).replace(/\s+/g, ' ');
  return text.length > 90 ? `${text.slice(0, 90)}…` : text;
}

/** Install the kernel's handlers and keep them the only ones; returns a function that undoes it. */
export function ownProcessErrors(proc: ProcessLike, sink: StraySink): () => void {
  let active = true;
  const deliver = (error: unknown, kind: StrayKind): void => {
    try {
      sink.report(error, kind);
    } catch (e) {
      sink.log(`could not report an ${kind} (${(e as Error).message}): ${String(error)}`);
    }
  };
  const mine: Record<ProcessErrorEvent, Listener> = {
    uncaughtException: (error: unknown) => deliver(error, 'uncaught exception'),
    unhandledRejection: (reason: unknown) => deliver(reason, 'unhandled promise rejection'),
  };
  const drop = (event: ProcessErrorEvent, listener: Listener): void => {
    if (!active || listener === mine[event] || !proc.listeners(event).includes(listener)) return;
    proc.removeListener(event, listener);
    sink.log(`removed a process '${event}' listener someone else added (${describe(listener)}): the kernel reports these errors itself`);
  };
  const onNew = (event: unknown, listener: Listener): void => {
    if (active && isErrorEvent(event) && listener !== mine[event]) proc.nextTick(() => drop(event, listener));
  };
  const onRemoved = (event: unknown, listener: Listener): void => {
    if (active && isErrorEvent(event) && listener === mine[event]) proc.on(event, listener);
  };
  for (const event of PROCESS_ERROR_EVENTS) {
    for (const l of proc.listeners(event)) drop(event, l as Listener);
    proc.on(event, mine[event]);
  }
  proc.on('newListener', onNew as Listener);
  proc.on('removeListener', onRemoved as Listener);
  return () => {
    active = false;
    proc.removeListener('newListener', onNew as Listener);
    proc.removeListener('removeListener', onRemoved as Listener);
    for (const event of PROCESS_ERROR_EVENTS) proc.removeListener(event, mine[event]);
  };
}

/** The IOPub `error` content for an error no cell caught (out-of-memory named as such). */
export function strayErrorContent(error: unknown, kind: StrayKind): JSONObject {
  const e = asWasmOutOfMemory(error);
  const ename = e instanceof Error ? e.name : 'Error';
  const evalue = e instanceof Error ? e.message : `${inspect(e, { depth: 2 })} (thrown, and not an Error)`;
  const where = error instanceof Error && error.stack ? error.stack.split('\n').slice(e === error ? 1 : 0) : [];
  return {
    ename,
    evalue,
    traceback: [`${kind[0].toUpperCase()}${kind.slice(1)} (the kernel caught it and keeps running):`, `${ename}: ${evalue}`, ...where],
  };
}

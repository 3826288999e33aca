/**
 * The widget's requests as a table: for each kind, how it is checked, which queue slot it takes
 * (a newer request for the same slot supersedes a waiting one) and what runs. The widget class
 * only feeds messages in and sends what comes out.
 */
import type { GradCamRequest, GradCamState } from '../shared/gradcam-schema';
import { invalidRequest, MAX_UPLOAD_BYTES } from '../shared/gradcam-schema';
import type { JSONObject } from '../jupyter/wire';
import type { GradCamEdit } from './options';

/** What the requests can ask of the widget; the widget implements it. */
export interface WidgetActions {
  readonly inputSize: { height: number; width: number };
  edit(image: number, pixels: Uint8Array, from: GradCamEdit['from'], request: string): GradCamEdit;
  reset(image: number, from: GradCamEdit['from'], request: string): GradCamEdit;
  add(file: Buffer, name: string, from: GradCamEdit['from'], request: string): Promise<GradCamEdit>;
  layer(layer: string, request: string): void;
  addClass(image: number, c: number, request: string): void;
}

/** A request waiting in the queue; kernel-code requests carry the promise they settle. */
export interface Job {
  request: string;
  image?: number;
  work: (request: string) => Promise<GradCamEdit | void> | GradCamEdit | void;
  settle?: { resolve: (e: GradCamEdit | void) => void; reject: (e: Error) => void };
}

/** A job and its queue slot. */
export interface Routed {
  key: string;
  job: Job;
}

type Kind = GradCamRequest['type'];
type Handler<K extends Kind> = (r: Extract<GradCamRequest, { type: K }>, buffer: Buffer | undefined, actions: WidgetActions) => Routed;

/** The edited image from the front end, checked against the model's input before tfjs sees it. */
function editedPixels(r: { width: number; height: number }, buffer: Buffer | undefined, size: { height: number; width: number }): Uint8Array {
  const { height: H, width: W } = size;
  if (r.width !== W || r.height !== H) throw new Error(`The edited image is ${r.width}x${r.height}; this model takes ${W}x${H}.`);
  if (!buffer || buffer.byteLength !== H * W * 3) {
    throw new Error(`The edited image has ${buffer?.byteLength ?? 0} bytes; a ${W}x${H} RGB image has ${H * W * 3}.`);
  }
  return Uint8Array.from(buffer);
}

/** An uploaded file's bytes, refused when empty or over the upload limit. */
function uploadedBytes(name: string, buffer: Buffer | undefined): Buffer {
  if (!buffer || buffer.byteLength === 0) throw new Error(`${name} arrived empty; drop the file again.`);
  if (buffer.byteLength > MAX_UPLOAD_BYTES) {
    throw new Error(`${name} is ${(buffer.byteLength / 1024 / 1024).toFixed(1)} MB; the widget takes images up to ${MAX_UPLOAD_BYTES / 1024 / 1024} MB.`);
  }
  return buffer;
}

const TABLE: { [K in Kind]: Handler<K> } = {
  edit: (r, buffer, a) => ({
    key: `image:${r.image}`,
    job: { request: r.request, image: r.image, work: () => a.edit(r.image, editedPixels(r, buffer, a.inputSize), 'frontend', r.request) },
  }),
  reset: (r, _buffer, a) => ({ key: `image:${r.image}`, job: { request: r.request, image: r.image, work: () => a.reset(r.image, 'frontend', r.request) } }),
  add: (r, buffer, a) => ({ key: `add:${r.request}`, job: { request: r.request, work: () => a.add(uploadedBytes(r.name, buffer), r.name, 'frontend', r.request) } }),
  layer: (r, _buffer, a) => ({ key: 'layer', job: { request: r.request, work: () => a.layer(r.layer, r.request) } }),
  class: (r, _buffer, a) => ({ key: `class:${r.image}:${r.class}`, job: { request: r.request, image: r.image, work: () => a.addClass(r.image, r.class, r.request) } }),
};

/** A front end's message as a queued job, or the sentence that refuses it. */
export function routeRequest(content: JSONObject, buffers: readonly Buffer[], state: GradCamState, actions: WidgetActions): Routed | { refused: string; request: string } {
  const request = typeof content.request === 'string' ? content.request : '';
  const problem = invalidRequest(content, state);
  if (problem) return { refused: `The kernel refused the widget's request: ${problem}.`, request };
  const r = content as unknown as GradCamRequest;
  return (TABLE[r.type] as Handler<Kind>)(r as never, buffers[0], actions);
}

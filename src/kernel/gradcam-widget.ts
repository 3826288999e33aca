/**
 * The Grad-CAM widget's kernel side: `showGradCam(model, images)` explains every image for every
 * class with each method in one go (the engine runs the trunk once per image), ships the maps as
 * binary buffers, and displays the widget with a PNG fallback of its current state.
 *
 * The widget then asks the model again on a person's behalf: an image edited with the occlusion
 * brush, an image file dropped onto it, another layer. Each request is a custom message; the
 * answer is one new image entry (or, for a layer, the whole state), and requests for the same
 * panel that are still waiting are superseded by the newest (SupersedingQueue).
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend';
import { candidateLayers } from '../cam';
import type { Explanation, ImageBatch } from '../cam';
import { concatFloat32 } from '../util/typed-arrays';
import { figureRows, FigureRow, readImageForModel, renderFigure } from '../render';
import type { WidgetState } from './buffers';
import { removeBuffers } from './buffers';
import {
  ColormapName, GRADCAM_WIDGET_SPEC, GradCamReply, GradCamRequest, GradCamState, ImageEntry, ImageOrigin,
  invalidFrontendValue, invalidRequest, MAX_UPLOAD_BYTES, MethodName, OCCLUSION_GREY,
} from './gradcam-schema';
import { SupersedingQueue } from './superseding-queue';
import { WidgetFallback, WidgetModel, WidgetOptions } from './widget';
import { ExplainedImage, ImageFacts, WidgetExplainer } from './widget-explainer';
import type { JSONObject } from './wire';

export interface ShowGradCamOptions {
  /** Target conv layer; default: the last layer with a 4-D output. */
  layer?: string;
  classNames?: readonly string[];
  /** True class per image (marked in the class selector), -1 or omitted when unknown. */
  trueLabels?: ArrayLike<number>;
  /** Caption per image. */
  titles?: string[];
  /**
   * Methods to compute; Grad-CAM and Guided Grad-CAM always. The widget's toggle offers exactly
   * these. Score-CAM and Ablation-CAM cost K forward passes per image, and EigenCAM ignores the
   * class, so they are opt-in. Default: gradcam, guided-gradcam, counterfactual, gradcam++.
   */
  methods?: MethodName[];
  method?: MethodName;
  /**
   * For models with more classes than this, each image's this-many most probable classes get maps
   * (the class list still shows every probability). Default 10: CIFAR-10 gets all, an ImageNet
   * model its top 10 instead of 1000 maps per method.
   */
  maxClasses?: number;
  colormap?: ColormapName;
  opacity?: number;
  /**
   * Answer the widget's questions (occlusion brush, dropped images, layer selector). Default true;
   * false draws the explanations only.
   */
  interactive?: boolean;
  /** Create the widget without displaying it (e.g. to display it later or in another cell). */
  display?: boolean;
  /** Passed to the widget layer (tests give a runtime here). */
  widget?: WidgetOptions<WidgetModel<GradCamState, GradCamEvents>>;
}

export const DEFAULT_METHODS: readonly MethodName[] = ['gradcam', 'guided-gradcam', 'counterfactual', 'gradcam++'];
export const DEFAULT_MAX_CLASSES = 10;

/** What `w.on('edit', e => ...)` hears after an image changed in the widget (or from kernel code). */
export interface GradCamEdit {
  /** 'edit': new pixels (the brush); 'reset': back to as given; 'add': a new image appended. */
  kind: 'edit' | 'reset' | 'add';
  image: number;
  /** A person in the widget, or kernel code (w.occlude, w.editImage, ...). */
  from: 'frontend' | 'kernel';
  pixels: Uint8Array;
  /** The class the unedited image was predicted as, and its probability before and after the edit. */
  originalClass: number;
  className: string;
  before: number;
  after: number;
  /** The class predicted now. */
  predicted: number;
  /** Grad-CAM of the image as it is now, every class. */
  explanation: Explanation;
}

export type GradCamEvents = { edit: [GradCamEdit] };

/** A rectangle of image pixels: x, y from the top left. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Pixels of each image as HWC bytes, whatever form the caller passed them in. */
function pixelsOf(images: ImageBatch): Uint8Array[] {
  const list: ArrayLike<number>[] = images instanceof tf.Tensor
    ? tf.tidy(() => tf.unstack(images.rank === 3 ? tf.expandDims(images) : images).map((t) => t.dataSync()))
    : Array.isArray(images)
      ? images.map((im) => (im instanceof tf.Tensor ? im.dataSync() : im))
      : [images as ArrayLike<number>];
  return list.map((a) => Uint8Array.from(a as ArrayLike<number>, (v) => Math.round(Math.min(255, Math.max(0, v)))));
}

function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** One panel's images: the one it started from and the one it shows now. */
interface Slot {
  original: { pixels: Uint8Array; origin: ImageOrigin; probs: Float32Array; explained?: ExplainedImage; layer?: string };
  current: ExplainedImage;
  pixels: Uint8Array;
  title: string;
  trueClass: number;
}

/** A request waiting in the queue; kernel-code requests carry the promise they settle. */
interface Job {
  request: string;
  image?: number;
  work: (request: string) => Promise<GradCamEdit | void> | GradCamEdit | void;
  settle?: { resolve: (e: GradCamEdit | void) => void; reject: (e: Error) => void };
}

/** The figure of the widget's current state: one row per image, for its selected class. */
function fallbackPicture(state: GradCamState, slots: readonly Slot[]): WidgetFallback {
  const rows: FigureRow[] = [];
  state.images.forEach((img, i) => {
    const gradcam = slots[i].current.explanations.get('gradcam') as Explanation;
    const all = figureRows(gradcam, [img.pixels as Uint8Array], img.true_class >= 0 ? { trueLabels: [img.true_class] } : {});
    // Rows follow the explained classes (every class, or the image's top ones): the selected one, else the best.
    const row = Math.max(0, gradcam.images[0].classes.findIndex((c) => c.classIndex === state.selected_class[i]));
    rows.push({ ...all[row], caption: `${img.title} · ${all[row].caption}` });
  });
  const png = renderFigure(rows, { colormap: state.colormap, opacity: state.opacity, title: `Grad-CAM on ${state.layer}` });
  const text = state.images
    .map((img, i) => `${img.title}: ${state.class_names[state.selected_class[i]]} (Grad-CAM on ${state.layer})`)
    .join('\n');
  return { png, text: `GradCamWidget\n${text}` };
}

/** A failure as the one line a person reads in the panel. */
function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class GradCamWidget extends WidgetModel<GradCamState, GradCamEvents> {
  private readonly queue = new SupersedingQueue<Job>(
    (job) => this.runJob(job),
    (job) => {
      this.reply({ type: 'superseded', request: job.request });
      job.settle?.reject(new Error(`request ${job.request} was superseded by a newer one for the same image`));
    },
  );
  private kernelRequests = 0;
  private latest: GradCamEdit | undefined;
  /** When each front-end request arrived, until it is answered. */
  private readonly receivedAt = new Map<string, number>();

  /** @internal made by showGradCam. */
  constructor(
    state: GradCamState,
    private readonly slots: Slot[],
    private readonly explainer: WidgetExplainer,
    options: WidgetOptions<WidgetModel<GradCamState, GradCamEvents>>,
  ) {
    super(GRADCAM_WIDGET_SPEC, state, {
      ...options,
      fallback: (w) => fallbackPicture(w.state, (w as GradCamWidget).slots),
      validate: (key, value, w) => invalidFrontendValue(key, value, w.state),
    });
    if (state.interactive) this.on('custom', (content, buffers) => this.receiveRequest(content, buffers));
  }

  /** The selected class of each image (synced from the browser). */
  get selectedClass(): number[] {
    return this.get('selected_class');
  }

  /** Selects a class for one image (0 by default), from kernel code. */
  selectClass(classIndex: number, image = 0): void {
    const next = [...this.selectedClass];
    next[image] = classIndex;
    this.set({ selected_class: next });
  }

  /** The latest edit, reset or added image (from the widget or kernel code), if any. */
  get lastEdit(): GradCamEdit | undefined {
    return this.latest;
  }

  /** How image `image` is explained now (every class) by `method` (default Grad-CAM). */
  explanation(image = 0, method: MethodName = 'gradcam'): Explanation {
    const slot = this.slotAt(image);
    const e = slot.current.explanations.get(method === 'guided-gradcam' || method === 'guided-backprop' ? 'gradcam' : method);
    if (!e) throw new Error(`method '${method}' was not computed for this widget; computed: ${this.explainer.methods.join(', ')}.`);
    return e;
  }

  /** The pixels image `image` shows now (uint8 HWC). */
  pixels(image = 0): Uint8Array {
    return this.slotAt(image).pixels;
  }

  /** Explain new pixels for image `image` and show them, as the occlusion brush does. */
  async editImage(image: number, pixels: ArrayLike<number>): Promise<GradCamEdit> {
    this.slotAt(image);
    const px = this.checkedPixels(pixels, `editImage(${image}, pixels)`);
    return this.fromKernel(`image:${image}`, image, (request) => this.replaceImage(image, px, 'edited', 'kernel', request));
  }

  /** Cover a box of image `image` with a flat grey (or `fill`), as a person would with the brush. */
  async occlude(image: number, box: Box, fill: readonly [number, number, number] = OCCLUSION_GREY): Promise<GradCamEdit> {
    const px = Uint8Array.from(this.slotAt(image).pixels);
    const { height: H, width: W } = this.explainer.inputSize;
    const x0 = Math.max(0, Math.round(box.x));
    const y0 = Math.max(0, Math.round(box.y));
    const x1 = Math.min(W, Math.round(box.x + box.width));
    const y1 = Math.min(H, Math.round(box.y + box.height));
    if (x1 <= x0 || y1 <= y0) throw new Error(`occlude: the box ${JSON.stringify(box)} covers no pixel of the ${W}x${H} image.`);
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) px.set(fill, 3 * (y * W + x));
    return this.editImage(image, px);
  }

  /** Put image `image` back as it was given (or added). */
  async resetImage(image: number): Promise<GradCamEdit> {
    this.slotAt(image);
    return this.fromKernel(`image:${image}`, image, (request) => this.restore(image, 'kernel', request));
  }

  /** Append an image file (path or bytes; PNG, JPEG or GIF), resized to the model's input. */
  async addImage(file: string | Buffer, name?: string): Promise<GradCamEdit> {
    const label = name ?? (typeof file === 'string' ? file : 'image');
    return this.fromKernel(`add:${this.kernelRequests}`, undefined, (request) => this.add(file, label, 'kernel', request));
  }

  /** Re-explain every image at another layer (one of `this.get('layers')`). */
  async setLayer(layer: string): Promise<void> {
    const problem = invalidRequest({ type: 'layer', request: 'kernel', layer }, this.state);
    if (problem) throw new Error(`setLayer: ${problem}.`);
    await this.fromKernel('layer', undefined, (request) => this.changeLayer(layer, request));
  }

  private slotAt(image: number): Slot {
    const slot = this.slots[image];
    if (!Number.isInteger(image) || !slot) throw new Error(`image ${image} does not exist; this widget has images 0..${this.slots.length - 1}.`);
    return slot;
  }

  private checkedPixels(pixels: ArrayLike<number>, what: string): Uint8Array {
    const { height: H, width: W } = this.explainer.inputSize;
    if (pixels.length !== H * W * 3) {
      throw new Error(`${what}: got ${pixels.length} values; the model takes ${W}x${H} RGB images (${H * W * 3} bytes, HWC). Resize the image first (readImageForModel).`);
    }
    return Uint8Array.from(pixels, (v) => Math.round(Math.min(255, Math.max(0, v))));
  }

  private fromKernel(key: string, image: number | undefined, work: Job['work']): Promise<GradCamEdit> {
    return new Promise<GradCamEdit | void>((resolve, reject) => {
      this.queue.push(key, { request: `kernel-${++this.kernelRequests}`, image, work, settle: { resolve, reject } });
    }) as Promise<GradCamEdit>;
  }

  private receiveRequest(content: JSONObject, buffers: Buffer[]): void {
    const problem = invalidRequest(content, this.state);
    const request = typeof content.request === 'string' ? content.request : '';
    if (problem) {
      this.reply({ type: 'error', request, message: `The kernel refused the widget's request: ${problem}.` });
      return;
    }
    const r = content as unknown as GradCamRequest;
    this.receivedAt.set(request, performance.now());
    switch (r.type) {
      case 'edit':
        this.queue.push(`image:${r.image}`, { request, image: r.image, work: () => this.replaceImage(r.image, this.editedPixels(r, buffers[0]), 'edited', 'frontend', request) });
        return;
      case 'reset':
        this.queue.push(`image:${r.image}`, { request, image: r.image, work: () => this.restore(r.image, 'frontend', request) });
        return;
      case 'add':
        this.queue.push(`add:${request}`, { request, work: () => this.add(this.uploadedBytes(r.name, buffers[0]), r.name, 'frontend', request) });
        return;
      case 'layer':
        this.queue.push('layer', { request, work: () => this.changeLayer(r.layer, request) });
        return;
      case 'class':
        this.queue.push(`class:${r.image}:${r.class}`, { request, image: r.image, work: () => this.addClass(r.image, r.class, request) });
    }
  }

  /** The edited image from the front end, checked against the model's input before tfjs sees it. */
  private editedPixels(r: { width: number; height: number }, buffer: Buffer | undefined): Uint8Array {
    const { height: H, width: W } = this.explainer.inputSize;
    if (r.width !== W || r.height !== H) throw new Error(`The edited image is ${r.width}x${r.height}; this model takes ${W}x${H}.`);
    if (!buffer || buffer.byteLength !== H * W * 3) {
      throw new Error(`The edited image has ${buffer?.byteLength ?? 0} bytes; a ${W}x${H} RGB image has ${H * W * 3}.`);
    }
    return Uint8Array.from(buffer);
  }

  private uploadedBytes(name: string, buffer: Buffer | undefined): Buffer {
    if (!buffer || buffer.byteLength === 0) throw new Error(`${name} arrived empty; drop the file again.`);
    if (buffer.byteLength > MAX_UPLOAD_BYTES) {
      throw new Error(`${name} is ${(buffer.byteLength / 1024 / 1024).toFixed(1)} MB; the widget takes images up to ${MAX_UPLOAD_BYTES / 1024 / 1024} MB.`);
    }
    return buffer;
  }

  private async runJob(job: Job): Promise<void> {
    try {
      // (Awaited first: `settle?.resolve(await ...)` would skip the work when there is no settle.)
      const result = await job.work(job.request);
      job.settle?.resolve(result);
    } catch (e) {
      if (job.settle) job.settle.reject(e instanceof Error ? e : new Error(String(e)));
      else this.reply({ type: 'error', request: job.request, image: job.image, message: messageOf(e) });
    }
  }

  private replaceImage(image: number, pixels: Uint8Array, origin: ImageOrigin, from: GradCamEdit['from'], request?: string): GradCamEdit {
    const slot = this.slotAt(image);
    // Painted back to the image as given (undo, or the same pixels from code): not an edit.
    if (Buffer.from(pixels).equals(Buffer.from(slot.original.pixels))) return this.restore(image, from, request);
    const facts = { title: slot.title, trueClass: slot.trueClass, origin, originalProbs: slot.original.probs };
    const [explained] = this.explainer.explain([pixels], [facts], this.get('layer'), { guided: false }).images;
    this.slots[image] = { ...slot, current: explained, pixels };
    return this.publish(image, explained, request, origin === 'edited' ? 'edit' : 'reset', from);
  }

  /** After an answer without them: the guided maps, as a second message (a newer edit of the image drops it). */
  private followWithGuided(image: number, request: string): void {
    const { pixels, current } = this.slots[image];
    if (this.explainer.guidedMethods.every((m) => current.entry.maps[m])) return;
    this.queue.push(`image:${image}`, { request, image, work: () => this.addGuided(image, pixels, request) });
  }

  private addGuided(image: number, pixels: Uint8Array, request: string): void {
    const slot = this.slots[image];
    const missing = this.explainer.guidedMethods.some((m) => !slot.current.entry.maps[m]);
    if (slot.pixels !== pixels || !missing) return; // replaced since, or already complete (a layer change)
    const { maps, gradcam } = this.explainer.guidedMaps(pixels, this.get('layer'), slot.current.entry.map_classes as Int32Array | undefined);
    const entry: ImageEntry = { ...slot.current.entry, maps: { ...slot.current.entry.maps, ...maps } };
    const explanations = new Map(slot.current.explanations).set('gradcam', gradcam);
    const current = { entry, explanations };
    this.slots[image] = { ...slot, current };
    if (slot.original.explained === slot.current) slot.original.explained = current;
    const images = [...this.get('images')];
    images[image] = entry;
    this.storeWithoutSync({ images });
    const split = removeBuffers(maps as WidgetState);
    this.reply({ type: 'maps', request, image, maps: split.state, buffer_paths: split.buffer_paths }, split.buffers);
  }

  private restore(image: number, from: GradCamEdit['from'], request?: string): GradCamEdit {
    const slot = this.slotAt(image);
    const layer = this.get('layer');
    const { original } = slot;
    if (!original.explained || original.layer !== layer) {
      const facts: ImageFacts = { title: slot.title, trueClass: slot.trueClass, origin: original.origin };
      original.explained = this.explainer.explain([original.pixels], [facts], layer, { guided: false }).images[0];
      original.layer = layer;
    }
    this.slots[image] = { ...slot, current: original.explained, pixels: original.pixels };
    return this.publish(image, original.explained, request, 'reset', from);
  }

  private async add(file: string | Buffer, name: string, from: GradCamEdit['from'], request?: string): Promise<GradCamEdit> {
    const { height, width } = this.explainer.inputSize;
    const img = await readImageForModel(file, height, width, name);
    const title = img.resizedFrom ? `${name} (${img.resizedFrom.width}x${img.resizedFrom.height})` : name;
    const facts: ImageFacts = { title, trueClass: -1, origin: 'added' };
    const [explained] = this.explainer.explain([img.pixels], [facts], this.get('layer'), { guided: false }).images;
    const image = this.slots.length;
    this.slots.push({
      original: { pixels: img.pixels, origin: 'added', probs: explained.entry.probs as Float32Array, explained, layer: this.get('layer') },
      current: explained, pixels: img.pixels, title, trueClass: -1,
    });
    return this.publish(image, explained, request, 'add', from);
  }

  private changeLayer(layer: string, request?: string): void {
    const facts = this.slots.map((s) => ({ title: s.title, trueClass: s.trueClass, origin: s.current.entry.origin ?? 'given', originalProbs: s.original.probs }));
    const { images } = this.explainer.explain(this.slots.map((s) => s.pixels), facts, layer);
    images.forEach((explained, i) => {
      const slot = this.slots[i];
      const unedited = slot.pixels === slot.original.pixels;
      this.slots[i] = { ...slot, current: explained, original: unedited ? { ...slot.original, explained, layer } : { ...slot.original, explained: undefined } };
    });
    this.set({ layer, images: images.map((e) => e.entry) });
    if (request) this.reply({ type: 'done', request });
  }

  /**
   * Adds class c's maps to an image explained for its top classes only: computed now, appended to
   * map_classes, maps and alphas (the guided maps too once they are there), sent as the new entry.
   */
  private addClass(image: number, c: number, request: string): void {
    const slot = this.slotAt(image);
    const { entry } = slot.current;
    const have = entry.map_classes as Int32Array | undefined;
    if (!have || have.includes(c)) {
      this.sendEntry(image, entry, request);
      return;
    }
    const withGuided = this.explainer.guidedMethods.every((m) => entry.maps[m]);
    const facts: ImageFacts = { title: slot.title, trueClass: slot.trueClass, origin: entry.origin ?? 'given' };
    const [extra] = this.explainer.explain([slot.pixels], [facts], this.get('layer'), { guided: withGuided, classes: [c] }).images;
    const maps: ImageEntry['maps'] = {};
    for (const [m, rows] of Object.entries(entry.maps)) maps[m] = concatFloat32([rows as Float32Array, extra.entry.maps[m] as Float32Array]);
    const grown: ImageEntry = {
      ...entry,
      maps,
      map_classes: Int32Array.from([...have, c]),
      alphas: concatFloat32([entry.alphas as Float32Array, extra.entry.alphas as Float32Array]),
    };
    const explanations = new Map(slot.current.explanations);
    for (const [m, e] of extra.explanations) {
      const mine = explanations.get(m);
      if (mine) explanations.set(m, { ...mine, images: [{ ...mine.images[0], classes: [...mine.images[0].classes, ...e.images[0].classes] }] });
    }
    const current = { entry: grown, explanations };
    if (slot.original.explained === slot.current) slot.original.explained = current;
    this.slots[image] = { ...slot, current };
    this.sendEntry(image, grown, request);
  }

  /** Store the image's entry here and send it to the front end as one custom message. */
  private sendEntry(image: number, entry: ImageEntry, request: string | undefined): void {
    const images = [...this.get('images')];
    images[image] = entry;
    const selected = [...this.selectedClass];
    const probs = entry.probs as Float32Array;
    if (image === selected.length) selected.push(argmax(probs));
    this.storeWithoutSync({ images, selected_class: selected });
    const split = removeBuffers(entry as unknown as WidgetState);
    const received = request === undefined ? undefined : this.receivedAt.get(request);
    const kernelMs = received === undefined ? undefined : Math.round((performance.now() - received) * 10) / 10;
    this.reply(
      { type: 'image', request: request ?? 'kernel', image, entry: split.state, buffer_paths: split.buffer_paths, selected_class: selected[image], ...(kernelMs === undefined ? {} : { kernel_ms: kernelMs }) },
      split.buffers,
    );
  }

  /** Store and send the image's new explanation, tell the listeners, and queue its guided maps. */
  private publish(image: number, explained: ExplainedImage, request: string | undefined, kind: GradCamEdit['kind'], from: GradCamEdit['from']): GradCamEdit {
    const { entry } = explained;
    this.sendEntry(image, entry, request);
    const probs = entry.probs as Float32Array;
    const originalProbs = (entry.original_probs ?? probs) as Float32Array;
    const originalClass = argmax(originalProbs);
    const edit: GradCamEdit = {
      kind, image, from, pixels: this.slots[image].pixels,
      originalClass, className: this.get('class_names')[originalClass],
      before: originalProbs[originalClass], after: probs[originalClass], predicted: argmax(probs),
      explanation: explained.explanations.get('gradcam') as Explanation,
    };
    this.latest = edit;
    this.emitEvent('edit', edit);
    this.followWithGuided(image, request ?? 'kernel');
    return edit;
  }

  private reply(reply: GradCamReply, buffers: readonly ArrayBufferView[] = []): void {
    if (reply.type !== 'maps') this.receivedAt.delete(reply.request);
    if (!this.isClosed) this.send(reply as unknown as JSONObject, buffers);
  }
}

/** Computes every method for every class and builds the widget state (no display). */
export function gradCamState(
  model: tf.LayersModel,
  images: ImageBatch,
  options: ShowGradCamOptions = {},
): { state: GradCamState; explanations: Map<MethodName, Explanation>; slots: Slot[]; explainer: WidgetExplainer } {
  const pixels = pixelsOf(images);
  const maxClasses = options.maxClasses ?? DEFAULT_MAX_CLASSES;
  if (!Number.isInteger(maxClasses) || maxClasses < 1) throw new Error(`maxClasses must be a whole number of classes, 1 or more; got ${maxClasses}.`);
  const explainer = new WidgetExplainer(model, options.methods ?? DEFAULT_METHODS, options.classNames, maxClasses);
  const layer = explainer.resolveLayer(options.layer);
  const facts: ImageFacts[] = pixels.map((_, i) => ({
    title: options.titles?.[i] ?? `image ${i + 1}`,
    trueClass: options.trueLabels?.[i] ?? -1,
    origin: 'given',
  }));
  const { images: explained, batch } = explainer.explain(pixels, facts, layer);
  const gradcam = batch.get('gradcam') as Explanation;
  const classNames = [...(gradcam.classNames ?? Array.from(gradcam.images[0].probabilities, (_, c) => `class ${c}`))];
  const method = options.method ?? 'gradcam';
  if (!explainer.methods.includes(method)) throw new Error(`method '${method}' is not among the computed methods (${explainer.methods.join(', ')}).`);
  const interactive = options.interactive ?? true;
  const slots: Slot[] = explained.map((e, i) => ({
    original: { pixels: pixels[i], origin: 'given', probs: e.entry.probs as Float32Array, explained: e, layer },
    current: e, pixels: pixels[i], title: facts[i].title, trueClass: facts[i].trueClass,
  }));
  return {
    explanations: batch,
    slots,
    explainer,
    state: {
      class_names: classNames,
      layer,
      layers: interactive ? candidateLayers(model).map((l) => l.name) : [],
      interactive,
      images: explained.map((e) => e.entry) as ImageEntry[],
      selected_class: gradcam.images.map((im) => im.predicted),
      method,
      colormap: options.colormap ?? 'jet',
      opacity: options.opacity ?? 0.5,
    },
  };
}

/**
 * Explains `images` with `model` and shows the interactive widget in the running cell:
 * `const w = await showGradCam(model, [img]); w.on('change:selected_class', (c) => ...)`;
 * `w.on('edit', (e) => ...)` hears the occlusion brush, added images and resets.
 */
export async function showGradCam(model: tf.LayersModel, images: ImageBatch, options: ShowGradCamOptions = {}): Promise<GradCamWidget> {
  await initBackend();
  const { state, slots, explainer } = gradCamState(model, images, options);
  const widget = new GradCamWidget(state, slots, explainer, options.widget ?? {});
  if (options.display !== false) widget.display();
  return widget;
}

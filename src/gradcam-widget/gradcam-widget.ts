/**
 * The Grad-CAM widget's kernel side: `showGradCam(model, images)` explains every image for every
 * class with each method in one go, ships the maps as binary buffers, and displays the widget with
 * a PNG fallback of its current state.
 *
 * The widget then asks the model again on a person's behalf (occlusion brush, a dropped file,
 * another layer, a class without maps): request-table.ts turns each message into a job, the
 * SupersedingQueue runs them one at a time (a newer one for the same panel replaces a waiting
 * one), the ImageStore explains and keeps the images, and this class sends the answers.
 * Image entries reach the front end one way: sendEntry (a custom message carrying one entry,
 * stored here without a second sync); only a layer change, which replaces every image, syncs state.
 */
import { initBackend } from '../backend';
import type { ExplainableModel, Explanation, ImageBatch } from '../cam';
import type { WidgetState } from '../jupyter/buffers';
import { removeBuffers } from '../jupyter/buffers';
import {
  GRADCAM_WIDGET_SPEC, GradCamReply, GradCamState, ImageEntry, invalidFrontendValue, invalidRequest, MethodName, OCCLUSION_GREY,
} from '../shared/gradcam-schema';
import { WidgetModel, WidgetOptions } from '../jupyter/widget';
import type { JSONObject } from '../jupyter/wire';
import { argmax } from '../shared/arrays';
import { fallbackPicture } from './fallback';
import { showGradCamIdentity } from './front-end';
import type { ImageChange, ImageStore } from './image-store';
import { gradCamState } from './initial-state';
import type { Box, GradCamEdit, GradCamEvents, ShowGradCamOptions } from './options';
import { checkedPixels, paintBox } from './pixels';
import { Job, routeRequest, WidgetActions } from './request-table';
import { SupersedingQueue } from './superseding-queue';

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
  private readonly actions: WidgetActions;

  /** @internal made by showGradCam. */
  constructor(state: GradCamState, private readonly store: ImageStore, options: WidgetOptions<WidgetModel<GradCamState, GradCamEvents>>) {
    super(GRADCAM_WIDGET_SPEC, state, {
      ...options,
      fallback: (w) => fallbackPicture(w.state, store),
      validate: (key, value, w) => invalidFrontendValue(key, value, w.state),
    });
    const layer = (): string => this.get('layer');
    this.actions = {
      inputSize: store.explainer.inputSize,
      edit: (image, pixels, from, request) => this.publish(store.replace(image, pixels, layer()), from, request),
      reset: (image, from, request) => this.publish(store.restore(image, layer()), from, request),
      add: async (file, name, from, request) => this.publish(await store.add(file, name, layer()), from, request),
      layer: (next, request) => {
        this.set({ layer: next, images: store.relayer(next) });
        this.reply({ type: 'done', request });
      },
      addClass: (image, c, request) => this.sendEntry(image, store.addClass(image, c, layer()), request),
    };
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
    const e = this.store.explanation(image, method === 'guided-gradcam' || method === 'guided-backprop' ? 'gradcam' : method);
    if (!e) throw new Error(`method '${method}' was not computed for this widget; computed: ${this.store.explainer.methods.join(', ')}.`);
    return e;
  }

  /** The pixels image `image` shows now (uint8 HWC). */
  pixels(image = 0): Uint8Array {
    return this.store.at(image).pixels;
  }

  /** Explain new pixels for image `image` and show them, as the occlusion brush does. */
  async editImage(image: number, pixels: ArrayLike<number>): Promise<GradCamEdit> {
    this.store.at(image);
    const px = checkedPixels(pixels, this.actions.inputSize, `editImage(${image}, pixels)`);
    return this.fromKernel(`image:${image}`, image, (request) => this.actions.edit(image, px, 'kernel', request));
  }

  /** Cover a box of image `image` with a flat grey (or `fill`), as a person would with the brush. */
  async occlude(image: number, box: Box, fill: readonly [number, number, number] = OCCLUSION_GREY): Promise<GradCamEdit> {
    return this.editImage(image, paintBox(this.store.at(image).pixels, this.actions.inputSize, box, fill));
  }

  /** Put image `image` back as it was given (or added). */
  async resetImage(image: number): Promise<GradCamEdit> {
    this.store.at(image);
    return this.fromKernel(`image:${image}`, image, (request) => this.actions.reset(image, 'kernel', request));
  }

  /** Append an image file (path or bytes; PNG, JPEG or GIF), resized to the model's input. */
  async addImage(file: string | Buffer, name?: string): Promise<GradCamEdit> {
    const label = name ?? (typeof file === 'string' ? file : 'image');
    return this.fromKernel(`add:${this.kernelRequests}`, undefined, async (request) => this.publish(await this.store.add(file, label, this.get('layer')), 'kernel', request));
  }

  /** Re-explain every image at another layer (one of `this.get('layers')`). */
  async setLayer(layer: string): Promise<void> {
    const problem = invalidRequest({ type: 'layer', request: 'kernel', layer }, this.state);
    if (problem) throw new Error(`setLayer: ${problem}.`);
    await this.fromKernel('layer', undefined, (request) => this.actions.layer(layer, request));
  }

  private fromKernel(key: string, image: number | undefined, work: Job['work']): Promise<GradCamEdit> {
    return new Promise<GradCamEdit | void>((resolve, reject) => {
      this.queue.push(key, { request: `kernel-${++this.kernelRequests}`, image, work, settle: { resolve, reject } });
    }) as Promise<GradCamEdit>;
  }

  private receiveRequest(content: JSONObject, buffers: Buffer[]): void {
    const routed = routeRequest(content, buffers, this.state, this.actions);
    if ('refused' in routed) {
      this.reply({ type: 'error', request: routed.request, message: routed.refused });
      return;
    }
    this.receivedAt.set(routed.job.request, performance.now());
    this.queue.push(routed.key, routed.job);
  }

  private async runJob(job: Job): Promise<void> {
    try {
      // (Awaited first: `settle?.resolve(await ...)` would skip the work when there is no settle.)
      const result = await job.work(job.request);
      job.settle?.resolve(result);
    } catch (e) {
      if (job.settle) job.settle.reject(e instanceof Error ? e : new Error(String(e)));
      else this.reply({ type: 'error', request: job.request, image: job.image, message: e instanceof Error ? e.message : String(e) });
    }
  }

  /** After an answer without them: the guided maps, as a second message (a newer edit of the image drops it). */
  private followWithGuided(image: number, request: string): void {
    if (!this.store.lacksGuided(image)) return;
    const { pixels } = this.store.at(image);
    this.queue.push(`image:${image}`, { request, image, work: () => this.sendGuided(image, pixels, request) });
  }

  private sendGuided(image: number, pixels: Uint8Array, request: string): void {
    const added = this.store.addGuided(image, pixels, this.get('layer'));
    if (!added) return; // replaced since, or already complete (a layer change)
    this.storeImage(image, added.entry);
    const split = removeBuffers(added.maps as WidgetState);
    this.reply({ type: 'maps', request, image, maps: split.state, buffer_paths: split.buffer_paths }, split.buffers);
  }

  /** Keep image `image`'s entry in the widget state the front end already has (no second sync). */
  private storeImage(image: number, entry: ImageEntry): number[] {
    const images = [...this.get('images')];
    images[image] = entry;
    const selected = [...this.selectedClass];
    if (image === selected.length) selected.push(this.store.explainer.initialSelection(entry));
    this.storeWithoutSync({ images, selected_class: selected });
    return selected;
  }

  /** Store the image's entry and send it to the front end as one custom message. */
  private sendEntry(image: number, entry: ImageEntry, request: string | undefined): void {
    const selected = this.storeImage(image, entry);
    const split = removeBuffers(entry as unknown as WidgetState);
    const received = request === undefined ? undefined : this.receivedAt.get(request);
    const kernelMs = received === undefined ? undefined : Math.round((performance.now() - received) * 10) / 10;
    this.reply(
      { type: 'image', request: request ?? 'kernel', image, entry: split.state, buffer_paths: split.buffer_paths, selected_class: selected[image], ...(kernelMs === undefined ? {} : { kernel_ms: kernelMs }) },
      split.buffers,
    );
  }

  /** Send the image's new explanation, tell the listeners, and queue its guided maps. */
  private publish({ image, explained, kind }: ImageChange, from: GradCamEdit['from'], request: string | undefined): GradCamEdit {
    const { entry } = explained;
    this.sendEntry(image, entry, request);
    const probs = entry.probs as Float32Array;
    const originalProbs = (entry.original_probs ?? probs) as Float32Array;
    // A classifier reports its unedited top class; a list of targets the one selected.
    const targetList = this.store.explainer.listing.kind === 'targets';
    const originalClass = targetList ? this.selectedClass[image] : argmax(originalProbs);
    const edit: GradCamEdit = {
      kind, image, from, pixels: this.store.at(image).pixels,
      originalClass, className: this.get('class_names')[originalClass],
      before: originalProbs[originalClass], after: probs[originalClass], predicted: targetList ? -1 : argmax(probs),
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

/**
 * Explains `images` with `model` and shows the interactive widget in the running cell:
 * `const w = await showGradCam(model, [img]); w.on('change:selected_class', (c) => ...)`;
 * `w.on('edit', (e) => ...)` hears the occlusion brush, added images and resets.
 */
export async function showGradCam(model: ExplainableModel, images: ImageBatch, options: ShowGradCamOptions = {}): Promise<GradCamWidget> {
  await initBackend();
  const identity = showGradCamIdentity(options.frontEnd); // a bad choice fails before the explaining
  const { state, store } = gradCamState(model, images, options);
  const widget = new GradCamWidget(state, store, { ...options.widget, identity });
  if (options.display !== false) widget.display();
  return widget;
}

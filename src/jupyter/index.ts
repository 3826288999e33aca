/**
 * What notebooks use of the kernel extension: widget models, raw comms, display.
 * (The launcher and the tslab patch are internal; the CLI installs the kernelspec.)
 */
export { WidgetModel, WIDGET_TARGET, WIDGET_PROTOCOL_VERSION, WIDGET_VIEW_MIME } from './widget';
export type { WidgetSpec, WidgetOptions, WidgetFallback, ChangeInfo, ChangeSource } from './widget';
export type { WidgetState, WidgetValue, BufferPath } from './buffers';
export { anywidgetState, ANYWIDGET_MODULE, ANYWIDGET_MODULE_VERSION } from './anywidget';
export type { AnywidgetFrontEnd, AnywidgetIdentity } from './anywidget';
export { Comm, CommManager } from './comm';
export type { CommMessage, CommOpenHandler, KernelTransport, SendOptions } from './comm';
export { KernelRuntime, kernelRuntime, requireRuntime } from './runtime';
export type { MimeBundle } from './runtime';
export type { JSONObject, JSONValue } from './wire';

import type { CommOpenHandler, Comm as CommT, SendOptions } from './comm';
import type { MimeBundle } from './runtime';
import { requireRuntime } from './runtime';
import type { JSONObject } from './wire';

/** Accept comms the front end opens for `targetName` (replaces an earlier handler). */
export function registerCommTarget(targetName: string, handler: CommOpenHandler): void {
  requireRuntime().comms.registerTarget(targetName, handler);
}

/** Open a comm from the kernel to the front end's `targetName`. */
export function openComm(targetName: string, data: JSONObject = {}, options: SendOptions = {}): CommT {
  return requireRuntime().comms.open(targetName, data, options);
}

/** Display any mime bundle in the running cell (tslab's display only takes one mime type). */
export function displayBundle(bundle: MimeBundle, metadata: JSONObject = {}): void {
  requireRuntime().display(bundle, metadata);
}

let liveDisplays = 0;

/** An output that later calls replace in place (Jupyter's update_display_data): progress, curves. */
export class LiveDisplay {
  private readonly id = `gradcam-live-${process.pid}-${++liveDisplays}`;
  private shown = false;

  update(bundle: MimeBundle): void {
    const runtime = requireRuntime();
    if (this.shown) runtime.updateDisplay(bundle, this.id);
    else runtime.display(bundle, {}, this.id);
    this.shown = true;
  }
}

/** Shows PNG bytes (e.g. a figure from renderFigure) in the running cell. */
export function showPng(png: Uint8Array, text = 'image'): void {
  displayBundle({ 'image/png': Buffer.from(png.buffer, png.byteOffset, png.byteLength).toString('base64'), 'text/plain': text });
}

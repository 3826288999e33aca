/**
 * The kernel-wide state a notebook's widgets attach to: the comm manager, the live widgets and
 * the display channel. It lives on a global symbol, not in a module variable, so a second copy
 * of this package (e.g. a notebook's own node_modules/gradcam-ts) still finds the one the
 * launcher installed.
 */
import { CommManager } from './comm';
import type { KernelTransport } from './comm';
import { denoJupyter, DenoTransport } from './deno';
import type { SplitState } from './buffers';
import { removeBuffers } from './buffers';
import { strayErrorContent, type StrayKind } from './process-errors';
import { ownValue } from './untrusted';
import type { JSONObject, JSONValue } from './wire';

/** A display bundle: mime type -> data (strings, or JSON for json mime types). */
export type MimeBundle = { [mime: string]: JSONValue };

/** What the control comm needs of each live widget. */
export interface WidgetHandle {
  readonly id: string;
  readonly modelName: string;
  readonly modelModule: string;
  readonly modelModuleVersion: string;
  fullState(): SplitState;
}

export const CONTROL_TARGET = 'jupyter.widget.control';
const RUNTIME_KEY = Symbol.for('gradcam-ts.kernel.runtime');

export class KernelRuntime {
  readonly comms: CommManager;
  readonly widgets = new Map<string, WidgetHandle>();

  constructor(private readonly transport: KernelTransport) {
    this.comms = new CommManager(transport);
    this.comms.registerTarget(CONTROL_TARGET, (comm) => {
      comm.onMsg((msg) => {
        const method = ownValue(msg.data, 'method');
        if (method !== 'request_states') {
          this.comms.log(`${CONTROL_TARGET}: unknown method ${JSON.stringify(method)}; ignored`);
          return;
        }
        // ipywidgets 8's answer: every model's full state in one message, buffer paths
        // prefixed with [model_id, "state"].
        const states: JSONObject = {};
        const buffer_paths: (string | number)[][] = [];
        const buffers: Buffer[] = [];
        for (const w of this.widgets.values()) {
          const s = w.fullState();
          states[w.id] = { model_name: w.modelName, model_module: w.modelModule, model_module_version: w.modelModuleVersion, state: s.state };
          s.buffer_paths.forEach((p, i) => {
            buffer_paths.push([w.id, 'state', ...p]);
            buffers.push(s.buffers[i]);
          });
        }
        comm.send({ method: 'update_states', states, buffer_paths }, { buffers });
      });
    });
  }

  /**
   * Why the front end cannot be answered, when it cannot (Deno's kernel drops what the browser
   * sends); undefined when the kernel hears the front end (tslab with our patch).
   */
  get oneWay(): string | undefined {
    return this.transport.oneWay;
  }

  /** Show a bundle in the cell being run (or the cell an async callback came from). */
  display(data: MimeBundle, metadata: JSONObject = {}, displayId?: string): void {
    const transient: JSONObject = displayId ? { display_id: displayId } : {};
    this.transport.publish('display_data', { data, metadata, transient }, { parent: this.comms.currentParent() });
  }

  /** Replace, in place, every output shown earlier with this display id (live progress, charts). */
  updateDisplay(data: MimeBundle, displayId: string, metadata: JSONObject = {}): void {
    this.transport.publish('update_display_data', { data, metadata, transient: { display_id: displayId } }, { parent: this.comms.currentParent() });
  }

  /**
   * An error no cell caught (a throwing timer or listener, a forgotten await): an error output of
   * the cell whose code caused it (the async context survives into the process handlers), else of
   * the last cell run.
   */
  reportStray(error: unknown, kind: StrayKind): void {
    const content = strayErrorContent(error, kind);
    this.comms.log(`${kind}, reported to the cell: ${String(content.evalue).split('\n')[0]}`);
    this.transport.publish('error', content, { parent: this.comms.currentParent() });
  }

  /** Make this the process's runtime (the launcher does this once). */
  install(): void {
    (globalThis as { [RUNTIME_KEY]?: KernelRuntime })[RUNTIME_KEY] = this;
  }
}


/**
 * The runtime of the kernel this process runs, if any: the one the gradcam-ts launcher installed,
 * else, inside Deno's Jupyter kernel, one over Deno.jupyter.broadcast (made on first use).
 */
export function kernelRuntime(): KernelRuntime | undefined {
  const installed = (globalThis as { [RUNTIME_KEY]?: KernelRuntime })[RUNTIME_KEY];
  if (installed) return installed;
  const deno = denoJupyter();
  if (!deno) return undefined;
  const runtime = new KernelRuntime(new DenoTransport(deno));
  runtime.install();
  return runtime;
}

/** Like kernelRuntime(), but a clear error when not inside our kernel. */
export function requireRuntime(): KernelRuntime {
  const rt = kernelRuntime();
  if (!rt) {
    throw new Error(
      'gradcam-ts widgets need the "TypeScript (gradcam-ts)" Jupyter kernel (or Deno\'s, with fewer features), and this process is not running one. ' +
        'Install it with `gradcam install-kernel --user`, then pick "TypeScript (gradcam-ts)" as the notebook kernel.',
    );
  }
  return rt;
}

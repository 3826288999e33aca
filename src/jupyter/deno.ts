/**
 * Deno's Jupyter kernel (`deno jupyter`) as a kernel transport. It is one-way: user code can
 * publish on IOPub with `Deno.jupyter.broadcast(msgType, content, { metadata, buffers })` (comm_open,
 * comm_msg and display_data, binary buffers included; the kernel parents them to the running
 * cell), but nothing the front end sends reaches user code: Deno answers a comm_open from the
 * browser with comm_close, comm_info with no comms, and drops comm_msg. So widgets open and
 * update from here; whatever needs the kernel to answer the browser cannot work.
 */
import { denoGlobal, type DenoJupyter } from '../util/deno';
import type { KernelTransport, PublishOptions } from './comm';
import type { JSONObject, JupyterMessage } from './wire';

export { denoJupyter } from '../util/deno';
export type { DenoJupyter } from '../util/deno';

/** Why front-end messages never reach code in Deno's kernel (for widgets to say). */
export const DENO_ONE_WAY =
  "Deno's Jupyter kernel sends to the widget but never passes the widget's messages back to the notebook's code";

/** Publishes through Deno.jupyter.broadcast; has no shell replies to give and hears nothing. */
export class DenoTransport implements KernelTransport {
  readonly oneWay = DENO_ONE_WAY;

  constructor(private readonly jupyter: DenoJupyter) {}

  publish(msgType: string, content: JSONObject, options: PublishOptions): void {
    // The parent header is Deno's to set (the cell being run); ours would be empty here anyway.
    const sent = this.jupyter.broadcast(msgType, content, { metadata: options.metadata ?? {}, buffers: options.buffers ?? [] });
    if (sent instanceof Promise) sent.catch((e: unknown) => this.log(`broadcast of ${msgType} failed: ${String(e)}`));
  }

  reply(request: JupyterMessage): void {
    // Deno's kernel answers every shell request itself, so none reaches this transport.
    this.log(`no reply to ${request.header.msg_type}: Deno's kernel answers shell requests itself`);
  }

  /** To the kernel process's stderr, i.e. the Jupyter server's terminal (console output would go to the cell). */
  log(line: string): void {
    denoGlobal()?.stderr?.writeSync(new TextEncoder().encode(`gradcam-ts (deno kernel): ${line}\n`));
  }
}

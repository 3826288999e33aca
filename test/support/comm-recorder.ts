/** A kernel transport that records what the kernel publishes, and comm messages as a front end sends them. */
import type { KernelTransport, PublishOptions } from '../../src/jupyter/comm';
import type { JSONObject, JupyterMessage, MessageHeader } from '../../src/jupyter/wire';

export interface Published { msgType: string; content: JSONObject; buffers: Buffer[] }

export class Recorder implements KernelTransport {
  sent: Published[] = [];
  publish(msgType: string, content: JSONObject, o: PublishOptions): void {
    this.sent.push({ msgType, content, buffers: o.buffers ?? [] });
  }
  reply(): void {}
  log(): void {}
}

/** A comm_msg from the front end to comm `commId` carrying `data` (e.g. { method: 'update', ... }). */
export function frontendMessage(commId: string, data: JSONObject, buffers: Buffer[] = []): JupyterMessage {
  const header: MessageHeader = { msg_id: `fe-${Math.random()}`, msg_type: 'comm_msg', session: 's', username: 'u', date: '', version: '5.3' };
  return { identities: [], header, parent_header: {}, metadata: {}, content: { comm_id: commId, data }, buffers };
}

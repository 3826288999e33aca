/**
 * The browser test page: an ipywidgets-8 manager (@jupyter-widgets/html-manager) that knows our
 * widget module, driven from the test through `window.harness`.
 *   Stage 1: renderSaved() loads a saved widget state (no server) and displays its view.
 *   Stage 2: connect() talks to a real Jupyter server with @jupyterlab/services, starts a kernel,
 *     wires the manager to its comms (as @jupyter-widgets/jupyterlab-manager does) and renders
 *     every widget view an executed cell displays.
 */
import { HTMLManager } from '@jupyter-widgets/html-manager';
import { shims, type DOMWidgetView, type WidgetModel } from '@jupyter-widgets/base';
import type { IClassicComm } from '@jupyter-widgets/base';
import { KernelManager, ServerConnection, type Kernel, type KernelMessage } from '@jupyterlab/services';
import * as gradcam from '../../../../widget/src/index';
import { WIDGET_MODULE } from '../../../../src/shared/gradcam-schema';
import '../../../../widget/style/index.css';
import './page.css';
import type { ExecuteResult, PageHarness, Theme } from '../page-api';

const VIEW_MIME = 'application/vnd.jupyter.widget-view+json';

function loader(name: string, version: string): Promise<unknown> {
  if (name === WIDGET_MODULE) return Promise.resolve(gradcam);
  return Promise.reject(new Error(`test page: no module '${name}@${version}'`));
}

/** The html-manager with a kernel behind it: comms go to the kernel instead of nowhere. */
class KernelWidgetManager extends HTMLManager {
  constructor(private readonly kernel: Kernel.IKernelConnection) {
    super({ loader });
    kernel.registerCommTarget('jupyter.widget', (comm, msg) => {
      void this.handle_comm_open(new shims.services.Comm(comm), msg);
    });
  }
  async _create_comm(target: string, modelId: string, data?: object, metadata?: object, buffers?: ArrayBuffer[] | ArrayBufferView[]): Promise<IClassicComm> {
    const comm = this.kernel.createComm(target, modelId);
    if (data || metadata) comm.open(data as never, metadata as never, buffers);
    return new shims.services.Comm(comm);
  }
  async _get_comm_info(): Promise<{}> {
    const reply = await this.kernel.requestCommInfo({ target_name: 'jupyter.widget' });
    return reply.content.status === 'ok' ? reply.content.comms : {};
  }
}

class Harness implements PageHarness {
  manager: HTMLManager = new HTMLManager({ loader });
  kernel: Kernel.IKernelConnection | undefined;
  private hosts = 0;

  /** Display model `id` in a new host element; resolves once the view is in the DOM. */
  async show(id: string, theme: Theme = 'light'): Promise<string> {
    const model = await this.manager.get_model(id);
    const host = document.createElement('div');
    host.className = `host jp-theme-${theme}`;
    host.id = `host-${this.hosts++}`;
    document.getElementById('outputs')?.append(host);
    const view = await this.manager.create_view<DOMWidgetView>(model);
    await this.manager.display_view(view, host);
    return host.id;
  }

  /** Stage 1: a saved widget state (as in a notebook's metadata.widgets). */
  async renderSaved(saved: object, id: string, theme: Theme = 'light'): Promise<string> {
    await this.manager.set_state(saved as never);
    return this.show(id, theme);
  }

  async model(id: string): Promise<WidgetModel> {
    return this.manager.get_model(id);
  }

  async get(id: string, key: string): Promise<unknown> {
    return (await this.model(id)).get(key);
  }

  /** Stage 2: a kernel on a real Jupyter server. */
  async connect(baseUrl: string, token: string, kernelName: string): Promise<string> {
    const serverSettings = ServerConnection.makeSettings({ baseUrl, wsUrl: baseUrl.replace(/^http/, 'ws'), token, appendToken: true });
    const kernels = new KernelManager({ serverSettings });
    await kernels.ready;
    this.kernel = await kernels.startNew({ name: kernelName });
    this.manager = new KernelWidgetManager(this.kernel);
    const info = await this.kernel.info;
    return info.implementation;
  }

  /** Run code in the kernel; widget views it displays are rendered as they arrive. */
  async execute(code: string, theme: Theme = 'light'): Promise<ExecuteResult> {
    const kernel = this.kernel;
    if (!kernel) throw new Error('harness.execute: connect() first');
    const result: ExecuteResult = { status: 'unknown', views: [], stdout: '' };
    const shown: Promise<string>[] = [];
    const future = kernel.requestExecute({ code, store_history: false });
    future.onIOPub = (msg: KernelMessage.IIOPubMessage) => {
      const t = msg.header.msg_type;
      if (t === 'display_data' || t === 'execute_result') {
        const data = (msg.content as KernelMessage.IDisplayDataMsg['content']).data[VIEW_MIME] as { model_id?: string } | undefined;
        if (data?.model_id) {
          result.views.push(data.model_id);
          shown.push(this.show(data.model_id, theme));
        }
      } else if (t === 'stream') {
        result.stdout += (msg.content as KernelMessage.IStreamMsg['content']).text;
      } else if (t === 'error') {
        const c = msg.content as KernelMessage.IErrorMsg['content'];
        result.error = `${c.ename}: ${c.evalue}`;
      }
    };
    const reply = await future.done;
    result.status = reply.content.status;
    await Promise.all(shown);
    return result;
  }

  async shutdown(): Promise<void> {
    await this.kernel?.shutdown();
  }
}

window.harness = new Harness();
document.body.dataset.ready = 'true';

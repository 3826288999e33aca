/**
 * What the test page offers the test as `window.harness` (implemented in page/index.ts). Kept
 * free of DOM types so both the page and the Node-side test import it.
 */
export type Theme = 'light' | 'dark';

export interface ExecuteResult {
  status: string;
  /** Widget model ids of the views the cell displayed, in order. */
  views: string[];
  stdout: string;
  error?: string;
}

export interface PageHarness {
  /** Stage 1: load a saved widget state (a notebook's metadata.widgets) and show model `id`; returns the host element's id. */
  renderSaved(saved: object, id: string, theme?: Theme): Promise<string>;
  /** Display model `id` in a new host element; returns its id. */
  show(id: string, theme?: Theme): Promise<string>;
  /** A synced attribute of model `id`, as the front end holds it. */
  get(id: string, key: string): Promise<unknown>;
  /** Stage 2: start kernel `kernelName` on a Jupyter server and route its widget comms to the manager; returns the kernel's implementation name. */
  connect(baseUrl: string, token: string, kernelName: string): Promise<string>;
  /** Run code in that kernel; the widget views it displays are rendered. */
  execute(code: string, theme?: Theme): Promise<ExecuteResult>;
  shutdown(): Promise<void>;
}

declare global {
  interface Window {
    harness: PageHarness;
  }
}

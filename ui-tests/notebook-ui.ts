/// <reference lib="dom" />
/**
 * A person's steps in JupyterLab 4 and Notebook 7 (both are Lumino apps with the same menus, cells
 * and output areas): open a notebook from the file browser, use the menus, run cells, read what
 * the page shows. Each step waits on what a person would see, never on fixed sleeps.
 */
import type { Page } from 'playwright-core';
import { openBrowser, type Browser } from './browser';
import { missingUiPrerequisite, startJupyter, type RunningJupyter, type SessionOptions } from './jupyter';

export const STDERR_MIME = 'application/vnd.jupyter.stderr';

/**
 * The steps of one person's session depend on the ones before: once a step fails, the later ones
 * are skipped (and say so) instead of failing for the same cause.
 */
export function stepByStep(suite: Mocha.Suite): void {
  let failed: string | undefined;
  suite.afterEach(function () {
    if (this.currentTest?.state === 'failed' && !failed) failed = this.currentTest.title;
  });
  suite.beforeEach(function () {
    if (failed) {
      console.log(`      (skipped: the earlier step "${failed}" failed)`);
      this.skip();
    }
  });
}

/** After a failed step, print the tail of the browser console and of the server log. */
export function reportFailures(suite: Mocha.Suite, session: () => { browser?: Browser; server?: RunningJupyter }): void {
  suite.afterEach(function () {
    if (this.currentTest?.state !== 'failed') return;
    const { browser, server } = session();
    console.log(`--- browser console ---\n${browser?.console.slice(-40).join('\n')}`);
    console.log(`--- server log (tail) ---\n${server?.log().split('\n').slice(-60).join('\n')}`);
  });
}

/**
 * One person's session for a suite: a Jupyter server (`lab` or `notebook`) with copies of
 * `notebooks`, its kernels opening the widget for `options.frontEnd`, and one browser, started
 * before the first step and stopped after the last; steps run in order (stepByStep) and a failure
 * prints the logs. Skips, saying why, when the pinned Jupyter, Chromium or the build is missing (a
 * failure under CI).
 */
export function uiSession(suite: Mocha.Suite, app: 'lab' | 'notebook', notebooks: string[], options: SessionOptions): { readonly server: RunningJupyter; readonly browser: Browser } {
  suite.timeout(600_000);
  stepByStep(suite);
  let server: RunningJupyter | undefined;
  let browser: Browser | undefined;
  suite.beforeAll(async function () {
    const missing = missingUiPrerequisite();
    if (missing) {
      console.log(`      (skipping the ${app === 'lab' ? 'JupyterLab' : 'Notebook 7'} UI tests: ${missing})`);
      this.skip();
    }
    server = await startJupyter(app, notebooks, options);
    browser = await openBrowser();
  });
  suite.afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });
  reportFailures(suite, () => ({ browser, server }));
  return {
    get server(): RunningJupyter {
      if (!server) throw new Error('the Jupyter server is not started');
      return server;
    },
    get browser(): Browser {
      if (!browser) throw new Error('the browser is not open');
      return browser;
    },
  };
}

export class NotebookUi {
  constructor(
    readonly page: Page,
    readonly server: RunningJupyter,
  ) {}

  /** The landing page: JupyterLab's file browser, or Notebook 7's tree. */
  static async openHome(browser: Browser, server: RunningJupyter): Promise<NotebookUi> {
    const page = await browser.newPage();
    const route = server.app === 'lab' ? 'lab' : 'tree';
    await page.goto(`${server.base}${route}?token=${server.token}`);
    await page.locator('.jp-DirListing-item').first().waitFor({ timeout: 90_000 });
    return new NotebookUi(page, server);
  }

  /**
   * Double-click a notebook in the file browser. JupyterLab opens it in a tab; Notebook 7 opens
   * it in a new browser tab, whose UI is returned.
   */
  async openFromFileBrowser(name: string): Promise<NotebookUi> {
    const item = this.page.locator('.jp-DirListing-item', { hasText: name });
    let page = this.page;
    if (this.server.app === 'notebook') {
      const [popup] = await Promise.all([this.page.context().waitForEvent('page'), item.dblclick()]);
      page = popup;
    } else {
      await item.dblclick();
    }
    const ui = new NotebookUi(page, this.server);
    // Loaded: more than the one placeholder cell a notebook panel shows while it reads the file.
    await page.waitForFunction(() => document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell').length > 1, undefined, { timeout: 60_000 });
    await ui.waitForKernelIdle();
    return ui;
  }

  /** The notebook being shown (JupyterLab: the current tab). */
  notebook() {
    return this.page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook').first();
  }

  /** The kernel's name as the notebook toolbar shows it. */
  async kernelName(): Promise<string> {
    const name = this.page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-KernelName, .jp-NotebookPanel:not(.lm-mod-hidden) .jp-Toolbar-kernelName').first();
    await name.waitFor({ timeout: 60_000 });
    return (await name.innerText()).trim();
  }

  /** Waits until the toolbar names a kernel and its execution indicator says idle. */
  async waitForKernelIdle(timeout = 120_000): Promise<void> {
    await this.page.waitForFunction(() => {
      const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
      const name = panel?.querySelector('.jp-Toolbar-kernelName')?.textContent?.trim();
      const status = panel?.querySelector('.jp-Notebook-ExecutionIndicator')?.getAttribute('data-status');
      return !!name && name !== 'No Kernel' && status === 'idle';
    }, undefined, { timeout, polling: 200 });
  }

  /** Menu bar > item, by the item's command id (its label may differ between versions). */
  async menu(menuLabel: string, command: string, itemText?: string): Promise<void> {
    await this.page.locator('.lm-MenuBar-item', { hasText: new RegExp(`^${menuLabel}$`) }).first().click();
    const item = this.page.locator(`.lm-Menu-item[data-command="${command}"]`, itemText ? { hasText: itemText } : {}).first();
    await item.click();
  }

  /** Kernel > Restart Kernel…, accept the dialog, and wait until the new kernel is idle. */
  async restartKernel(): Promise<void> {
    await this.menu('Kernel', 'kernelmenu:restart');
    await this.page.locator('.jp-Dialog .jp-mod-accept').click();
    // The indicator still says idle for a moment; wait for the restart to show, then for idle.
    await this.page.waitForFunction(() => document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator')?.getAttribute('data-status') !== 'idle', undefined, { timeout: 30_000, polling: 50 });
    await this.waitForKernelIdle();
  }

  /** Settings > Theme > name. */
  async setTheme(name: string): Promise<void> {
    await this.page.locator('.lm-MenuBar-item', { hasText: /^Settings$/ }).first().click();
    await this.page.locator('.lm-Menu-item[data-type="submenu"]', { hasText: /^Theme/ }).first().hover();
    await this.page.locator('.lm-Menu-item[data-command="apputils:change-theme"]', { hasText: name }).first().click();
    await this.page.waitForFunction((n) => document.body.dataset.jpThemeName === n, name, { timeout: 30_000 });
  }

  /** Code cells' prompts, e.g. ["[1]:", "[*]:", "[ ]:"]. */
  async prompts(): Promise<string[]> {
    return this.notebook().locator('.jp-CodeCell .jp-InputArea-prompt').evaluateAll((els) => els.map((e) => (e.textContent ?? '').trim()));
  }

  /** Edit > Clear Outputs of All Cells, then Run > Run All Cells, then wait for every cell to have run. */
  async runAllFromScratch(timeout = 300_000): Promise<number> {
    await this.menu('Edit', 'editmenu:clear-all');
    await this.page.waitForFunction(() => !document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-OutputArea-output'), undefined, { timeout: 30_000 });
    const t0 = Date.now();
    await this.menu('Run', 'runmenu:run-all');
    await this.waitForAllCellsRun(timeout);
    return Date.now() - t0;
  }

  /** Every code cell shows an execution count and the kernel is idle. */
  async waitForAllCellsRun(timeout = 300_000): Promise<void> {
    try {
      await this.page.waitForFunction(() => {
        // Run All skips empty cells, which keep their blank prompt.
        const cells = Array.from(document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell'))
          .filter((c) => (c.querySelector('.cm-content')?.textContent ?? '').trim() !== '');
        return cells.length > 0 && cells.every((c) => /\[\d+\]/.test(c.querySelector('.jp-InputArea-prompt')?.textContent ?? ''));
      }, undefined, { timeout, polling: 500 });
    } catch (e) {
      throw new Error(`not every cell ran within ${timeout / 1000} s; prompts: ${(await this.prompts()).join(' ')}; errors: ${(await this.errorOutputs()).join(' | ')}`);
    }
    await this.waitForKernelIdle(timeout);
  }

  /** Outputs drawn as errors (error outputs and stderr streams share this mime type). */
  async errorOutputs(): Promise<string[]> {
    return this.notebook().locator(`.jp-OutputArea-output[data-mime-type="${STDERR_MIME}"]`).evaluateAll((els) => els.map((e) => (e.textContent ?? '').slice(0, 500)));
  }

  /** Text of all outputs, to find what the ipywidgets manager prints when it fails. */
  async outputText(): Promise<string> {
    return this.notebook().locator('.jp-OutputArea').evaluateAll((els) => els.map((e) => e.textContent ?? '').join('\n'));
  }

  /** Selector of the first rendered Grad-CAM widget, after waiting for its panels and chart. */
  async waitForWidget(timeout = 60_000): Promise<string> {
    const scope = '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output .gc-widget';
    await this.page.locator(`${scope} .gc-panel[data-image="0"] .gc-alpha-chart rect`).first().waitFor({ timeout });
    return scope;
  }

  /** Adds a cell under the last one, types `code` and runs it; returns its output text. */
  async runNewCell(code: string, timeout = 60_000): Promise<string> {
    const cells = this.notebook().locator('.jp-Cell');
    const before = await cells.count();
    await cells.last().locator('.jp-InputPrompt, .jp-InputArea-prompt').first().click();
    await this.page.keyboard.press('Escape');
    await this.page.keyboard.press('b'); // command mode: insert a cell below
    await this.page.waitForFunction((n) => document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell').length === n + 1, before);
    const cell = cells.nth(before);
    await cell.locator('.cm-content').click();
    await this.page.keyboard.type(code);
    await this.page.keyboard.press('Control+Enter'); // run in place, without adding a cell below
    await this.page.waitForFunction((n) => {
      const c = document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell')[n];
      return /\[\d+\]/.test(c?.querySelector('.jp-InputArea-prompt')?.textContent ?? '');
    }, before, { timeout });
    return (await cell.locator('.jp-OutputArea').innerText()).trim();
  }

  /**
   * Settings > Save Widget State Automatically, switched on (not toggled off if it already is), and
   * waited for until the settings server has it: a save in the meantime would keep the notebook's
   * old widget state, whose model ids are not the ones on the page.
   */
  async saveWidgetStateOn(): Promise<void> {
    const plugin = '@jupyter-widgets/jupyterlab-manager:plugin';
    const isOn = async (): Promise<boolean> => {
      const res = await fetch(`${this.server.base}lab/api/settings/${plugin}`, { headers: { Authorization: `token ${this.server.token}` } });
      const body = (await res.json()) as { settings?: { saveState?: boolean } };
      return body.settings?.saveState === true;
    };
    if (await isOn()) return;
    await this.menu('Settings', '@jupyter-widgets/jupyterlab-manager:saveWidgetState');
    for (const until = Date.now() + 30_000; !(await isOn()); ) {
      if (Date.now() > until) throw new Error('Save Widget State Automatically did not reach the settings server in 30 s');
      await this.page.waitForTimeout(100);
    }
  }

  /** File > Save (Ctrl+S), waiting for the tab's dirty mark to clear. */
  async save(): Promise<void> {
    await this.notebook().click({ position: { x: 5, y: 5 } }).catch(() => undefined);
    await this.page.keyboard.press('Control+s');
    await this.page.waitForFunction(() => !document.querySelector('.jp-mod-current.jp-mod-dirty, .lm-TabBar-tab.lm-mod-current.jp-mod-dirty'), undefined, { timeout: 30_000 });
    await this.page.waitForTimeout(300); // the contents API write completes after the mark clears
  }
}

/// <reference lib="dom" />
/** A person's brush strokes on a Grad-CAM panel, in the real page, timed until the kernel's answer is drawn. */
import type { Page } from 'playwright-core';

/** Client coordinates of image pixel (x, y) on panel i's canvas (32x32 image). */
export async function canvasPoint(page: Page, scope: string, i: number, x: number, y: number): Promise<{ x: number; y: number }> {
  const canvas = page.locator(`${scope} .gc-panel[data-image="${i}"] canvas`);
  const viewport = page.viewportSize() ?? { width: 1280, height: 900 };
  let box = await canvas.boundingBox();
  // JupyterLab's windowed notebook may move cells after a scroll: scroll until it stays in view.
  for (let tries = 0; tries < 10 && (!box || box.y < 0 || box.y + box.height > viewport.height); tries++) {
    await canvas.evaluate((c) => c.scrollIntoView({ block: 'center' }));
    await page.waitForTimeout(200);
    box = await canvas.boundingBox();
  }
  if (!box || box.y < 0 || box.y + box.height > viewport.height) throw new Error(`panel ${i}'s canvas does not stay on screen (${JSON.stringify(box)})`);
  return { x: box.x + ((x + 0.5) / 32) * box.width, y: box.y + ((y + 0.5) / 32) * box.height };
}

/**
 * In the page: strokes (press, moves, release) on panel i's canvas as pointer events, `gapMs`
 * apart, then the milliseconds from the last release until the panel is redrawn from the kernel's
 * answer; `drawn` counts panels drawn after that release, `stale` the answers the view set aside.
 */
export function strokeAndWait(page: Page, scope: string, i: number, strokes: [number, number][][], gapMs = 0): Promise<{ ms: number; drawn: number; stale: number; waitingAfterRelease: boolean }> {
  return page.evaluate(
    async ({ scope, i, strokes, gapMs }) => {
      const root = document.querySelector(scope) as HTMLElement;
      const gallery = root.querySelector('.gc-gallery') as HTMLElement;
      const first = root.querySelector(`.gc-panel[data-image="${i}"]`) as HTMLElement;
      const staleBefore = Number(root.dataset.staleAnswers ?? 0);
      let t0 = 0;
      let released = false;
      let drawn = 0;
      let answered: () => void = () => undefined;
      let ms = 0;
      const seen = new MutationObserver((records) => {
        for (const r of records) {
          r.addedNodes.forEach((n) => {
            const node = n as HTMLElement;
            if (!released || node.dataset?.image !== String(i)) return;
            drawn++;
            if (drawn === 1) ms = performance.now() - t0; // inserted already drawn: the canvas is painted in the constructor
            answered();
          });
        }
      });
      seen.observe(gallery, { childList: true });
      const canvas = first.querySelector('canvas') as HTMLCanvasElement;
      const rect = canvas.getBoundingClientRect();
      const size = canvas.width;
      const at = ([x, y]: number[]) => ({ clientX: rect.left + ((x + 0.5) / size) * rect.width, clientY: rect.top + ((y + 0.5) / size) * rect.height });
      const fire = (type: string, p: number[]) =>
        canvas.dispatchEvent(new PointerEvent(type, { ...at(p), button: 0, buttons: type === 'pointerup' ? 0 : 1, pointerId: 7, bubbles: true }));
      let waitingAfterRelease = false;
      for (const [n, stroke] of strokes.entries()) {
        if (n > 0 && gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
        fire('pointerdown', stroke[0]);
        for (const p of stroke.slice(1)) fire('pointermove', p);
        t0 = performance.now();
        fire('pointerup', stroke[stroke.length - 1]);
        waitingAfterRelease = first.dataset.state === 'waiting';
      }
      released = true;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no redraw within 30 s')), 30_000);
        answered = () => {
          clearTimeout(timer);
          resolve();
        };
        if (drawn > 0) answered();
      });
      await new Promise((r) => setTimeout(r, 300)); // any late (stale) answer would be drawn by now
      seen.disconnect();
      return { ms, drawn, stale: Number(root.dataset.staleAnswers ?? 0) - staleBefore, waitingAfterRelease };
    },
    { scope, i, strokes, gapMs },
  );
}

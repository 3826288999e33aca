/**
 * The Grad-CAM widget in a kernel that cannot answer it (Deno's: it never passes the browser's
 * messages on). The widget is then made with interactive: false, which hides the controls that
 * ask the model, and this note, shown in the widget, says why and where they work.
 */
import { kernelRuntime, type KernelRuntime } from '../jupyter/runtime';

/** Why `runtime` (default: this process's kernel) cannot answer the widget, or undefined when it can. */
export function oneWayKernel(runtime: KernelRuntime | undefined = kernelRuntime()): string | undefined {
  return runtime?.oneWay;
}

/** What the widget shows when its kernel is one-way: what works here and where the rest works. */
export function kernelNote(oneWay: string): string {
  return (
    `${oneWay}. The class list, methods, colormap, opacity and the channel hover work here; the occlusion brush, ` +
    'adding an image, the layer menu and maps of classes not computed up front need the "TypeScript (gradcam-ts)" ' +
    'kernel (tslab: gradcam install-kernel).'
  );
}

/**
 * Grad-CAM widget states for the browser test, and their encoding as the saved widget state
 * (application/vnd.jupyter.widget-state+json, buffers base64) that an ipywidgets-8 manager loads
 * exactly as it loads a notebook's metadata.widgets.
 *   syntheticState(): fixed numbers, no TensorFlow, every class's map different by construction;
 *   explainedState(): the shipped model explaining shipped CIFAR-10 images: the state showGradCam
 *     sends (its gradCamState), for the screenshot.
 */
import {
  GRADCAM_WIDGET_SPEC,
  type GradCamState,
  type ImageEntry,
} from '../../../src/shared/gradcam-schema';
import { removeBuffers, type WidgetState } from '../../../src/jupyter/buffers';
import { initBackend } from '../../../src/backend';
import { loadModelWithClasses } from '../../../src/cli/load';
import { readExamples } from '../../../src/render/examples';
import { gradCamState } from '../../../src/gradcam-widget';

export const CLASS_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

function gaussian(H: number, W: number, cy: number, cx: number, s: number): Float32Array {
  const out = new Float32Array(H * W);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) out[y * W + x] = Math.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * s * s));
  return out;
}

function syntheticImage(index: number, title: string, trueClass: number, H = 32, W = 32, K = 24, h = 8, w = 8): ImageEntry {
  const C = CLASS_NAMES.length;
  const pixels = new Uint8Array(H * W * 3);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const p = 3 * (y * W + x);
      pixels[p] = 40 + 5 * x + 20 * index;
      pixels[p + 1] = 60 + 4 * y;
      pixels[p + 2] = 200 - 3 * (x + y);
    }
  const logits = Float32Array.from({ length: C }, (_, c) => Math.cos(c * 1.7 + index) * 2 + (c === trueClass ? 3 : 0));
  const z = logits.reduce((s, v) => s + Math.exp(v), 0);
  const probs = logits.map((v) => Math.exp(v) / z);
  const gradcam = new Float32Array(C * H * W);
  const counterfactual = new Float32Array(C * H * W);
  const guided = new Float32Array(C * H * W * 3);
  for (let c = 0; c < C; c++) {
    // Class c's blob sits at its own place, so any two classes' maps differ.
    const g = gaussian(H, W, 4 + ((c * 7) % 24), 4 + ((c * 11) % 24), 5);
    gradcam.set(g, c * H * W);
    counterfactual.set(g.map((v) => 1 - v), c * H * W);
    for (let i = 0; i < H * W; i++) {
      guided[(c * H * W + i) * 3] = 0.5 + 0.5 * g[i];
      guided[(c * H * W + i) * 3 + 1] = 0.5;
      guided[(c * H * W + i) * 3 + 2] = 0.5 - 0.5 * g[i];
    }
  }
  const alphas = Float32Array.from({ length: C * K }, (_, i) => Math.sin(i * 0.37 + index) * 0.02 + 0.004);
  const activations = new Float32Array(h * w * K);
  for (let k = 0; k < K; k++) {
    const g = gaussian(h, w, k % h, (3 * k) % w, 1.5);
    for (let p = 0; p < h * w; p++) activations[p * K + k] = 2 * g[p];
  }
  return {
    title,
    true_class: trueClass,
    height: H,
    width: W,
    pixels,
    probs,
    logits,
    map_height: h,
    map_width: w,
    channels: K,
    maps: { gradcam, counterfactual, 'guided-gradcam': guided },
    alphas,
    activations,
  };
}

export function syntheticState(): GradCamState {
  const images = [syntheticImage(0, 'synthetic A', 4), syntheticImage(1, 'synthetic B', -1)];
  return {
    class_names: CLASS_NAMES,
    layer: 'conv_synthetic',
    layers: [],
    interactive: false,
    images,
    selected_class: images.map((img) => argmax(img.probs as Float32Array)),
    method: 'gradcam',
    colormap: 'jet',
    opacity: 0.5,
  };
}

function argmax(v: ArrayLike<number>): number {
  let b = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[b]) b = i;
  return b;
}

/** The shipped model on shipped test images (one per role given): showGradCam's own state. */
export async function explainedState(roles: string[] = ['deer', 'ship']): Promise<GradCamState> {
  await initBackend();
  const { model, classNames } = await loadModelWithClasses(undefined);
  try {
    const all = await readExamples();
    const picked = roles.map((r) => {
      const ex = all.find((e) => e.role === r);
      if (!ex) throw new Error(`no shipped example with role '${r}'`);
      return ex;
    });
    return gradCamState(
      model,
      picked.map((e) => e.pixels),
      { classNames, trueLabels: picked.map((e) => e.label), titles: picked.map((e) => `test #${e.testIndex}`) },
    ).state;
  } finally {
    model.dispose();
  }
}

export interface SavedWidgetState {
  version_major: 2;
  version_minor: 0;
  state: Record<string, { model_name: string; model_module: string; model_module_version: string; state: object; buffers: { path: (string | number)[]; encoding: 'base64'; data: string }[] }>;
}

/** The state as a notebook would save it (metadata.widgets), ready for HTMLManager.set_state. */
export function savedWidgetState(state: GradCamState, modelId: string): SavedWidgetState {
  const full: WidgetState = {
    ...GRADCAM_WIDGET_SPEC,
    ...(state as unknown as WidgetState),
  };
  const split = removeBuffers(full);
  return {
    version_major: 2,
    version_minor: 0,
    state: {
      [modelId]: {
        model_name: GRADCAM_WIDGET_SPEC._model_name,
        model_module: GRADCAM_WIDGET_SPEC._model_module,
        model_module_version: GRADCAM_WIDGET_SPEC._model_module_version,
        state: split.state,
        buffers: split.buffer_paths.map((path, i) => ({ path, encoding: 'base64', data: split.buffers[i].toString('base64') })),
      },
    },
  };
}

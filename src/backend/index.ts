/**
 * Backend selection: tensorflow (tfjs-node, native) > wasm (SIMD, XNNPACK) > cpu (pure JS).
 *
 * Imported first by everything that touches tensors. `initBackend()` is idempotent and reports
 * once which backend runs, so a notebook or a CLI run always says what speed to expect.
 */
import * as tf from '@tensorflow/tfjs';
import { registerWasmConvGradients } from './wasm-gradients';
import { nativeThreads } from './native';
import { registerNativeKernels } from './native-kernels';
import { registerHostCopies } from './host-copies';
import { registerExplicitPadding } from './tfjs-node-explicit-padding';
import { registerSmallSums } from './tfjs-node-small-sums';
import { registerHostViews } from './tfjs-node-views';
import { guardWasmMalloc, type WasmAllocator } from './wasm-memory';
import { registerSharedIdentity } from './wasm-identity';
import { registerWasmSplit } from './wasm-split';
import { denoJupyter } from '../util/deno';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_PREFERENCE: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];
export const BACKEND_ENV = 'GRADCAM_BACKEND';

export interface BackendInfo {
  name: BackendName;
  /** Why faster backends were not taken (e.g. tfjs-node's native library is missing). */
  skipped: { name: BackendName; reason: string }[];
  tfjsVersion: string;
  /** On wasm and tensorflow: whether convolutions run natively (OpenBLAS), or why not. */
  nativeConvolutions?: { active: boolean; detail: string };
}

let chosen: Promise<BackendInfo> | undefined;

/** Loads the optional native binding; it is absent when its libtensorflow download failed. */
function loadNativeBinding(): string | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    require('@tensorflow/tfjs-node');
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'MODULE_NOT_FOUND'
      ? '@tensorflow/tfjs-node is not installed (its libtensorflow download needs internet)'
      : `@tensorflow/tfjs-node failed to load: ${(err as Error).message.split('\n')[0]}`;
  }
}

async function tryBackend(name: BackendName): Promise<string | undefined> {
  if (name === 'tensorflow') {
    const why = loadNativeBinding();
    if (why) return why;
  } else if (name === 'wasm') {
    require('@tensorflow/tfjs-backend-wasm');
  }
  try {
    const ok = await tf.setBackend(name);
    return ok ? undefined : `tf.setBackend('${name}') returned false`;
  } catch (err) {
    return (err as Error).message;
  }
}

function parseRequested(value: string | undefined): BackendName | undefined {
  if (!value) return undefined;
  const name = value.trim().toLowerCase();
  const alias = name === 'node' || name === 'tfjs-node' ? 'tensorflow' : name;
  if (!(BACKEND_PREFERENCE as readonly string[]).includes(alias)) {
    throw new Error(
      `${BACKEND_ENV}='${value}' is not a backend; use one of ${BACKEND_PREFERENCE.join(', ')} (or unset it to pick the fastest).`,
    );
  }
  return alias as BackendName;
}

async function select(requested: BackendName | undefined, quiet: boolean): Promise<BackendInfo> {
  const candidates = requested ? [requested] : [...BACKEND_PREFERENCE];
  const skipped: BackendInfo['skipped'] = [];
  for (const name of candidates) {
    const reason = await tryBackend(name);
    if (reason === undefined) {
      const info: BackendInfo = { name, skipped, tfjsVersion: tf.version.tfjs };
      if (name === 'wasm') {
        guardWasmMalloc((tf.backend() as unknown as { wasm: WasmAllocator }).wasm);
        registerWasmConvGradients();
        registerSharedIdentity();
        registerWasmSplit();
      }
      if (name === 'tensorflow') {
        registerHostViews();
        registerHostCopies();
        registerExplicitPadding(); // before the native kernels, which fall back to it
        registerSmallSums();
      }
      if (name !== 'cpu') {
        // On tfjs-node too: its TensorFlow 2.9 convolutions and their gradients are 3-7x slower (src/backend/native-kernels.ts).
        const native = registerNativeKernels(name);
        info.nativeConvolutions = native.loaded
          ? { active: true, detail: `native OpenBLAS convolutions (${native.blas.trim()}) on ${nativeThreads()} thread${nativeThreads() === 1 ? '' : 's'}` }
          : { active: false, detail: native.reason };
      }
      if (!quiet) reportBackend(info);
      return info;
    }
    skipped.push({ name, reason });
  }
  throw new Error(
    `No TensorFlow.js backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}.` +
      (requested ? ` Unset ${BACKEND_ENV} to let gradcam-ts pick one.` : ''),
  );
}

export function describeBackend(info: BackendInfo): string {
  const note = info.skipped.length ? ` (skipped ${info.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')})` : '';
  const conv = info.nativeConvolutions;
  const own = info.name === 'wasm' ? 'XNNPACK' : "TensorFlow's";
  const convNote = conv ? (conv.active ? ` with ${conv.detail}` : ` (${own} convolutions: ${conv.detail})`) : '';
  return `gradcam-ts: TensorFlow.js ${info.tfjsVersion} on the '${info.name}' backend${convNote}${note}`;
}

/** Where the one-line report goes: env GRADCAM_REPORT = stderr (default) | stdout | off. */
export const REPORT_ENV = 'GRADCAM_REPORT';

/**
 * The report is information, not a warning: in a terminal it goes to stderr so it stays out of
 * piped output, but in a notebook it goes to stdout (our kernel sets it; Deno's kernel is
 * recognised), because front ends draw stderr as an error box.
 * There it is the short form; `gradcam info` gives the details.
 */
function reportBackend(info: BackendInfo): void {
  // Deno's Jupyter kernel has no launcher to set this, so it is recognised here.
  const where = process.env[REPORT_ENV] ?? (denoJupyter() ? 'stdout' : undefined);
  if (where === 'off') return;
  if (where === 'stdout') {
    const conv = info.nativeConvolutions?.active ? ' + native OpenBLAS kernels' : '';
    console.log(`gradcam-ts: TensorFlow.js ${info.tfjsVersion} on ${info.name}${conv} (details: gradcam info)`);
  } else {
    console.error(describeBackend(info));
  }
}

export interface InitBackendOptions {
  /** Force a backend; defaults to env GRADCAM_BACKEND, else the fastest available. */
  backend?: BackendName;
  /** Do not print the one-line report. Defaults to env GRADCAM_QUIET === '1'. */
  quiet?: boolean;
}

/** Picks and initialises the backend once per process; later calls return the same answer. */
export function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  if (!chosen) {
    const requested = options.backend ?? parseRequested(process.env[BACKEND_ENV]);
    chosen = select(requested, options.quiet ?? process.env.GRADCAM_QUIET === '1');
    chosen.catch(() => {
      chosen = undefined; // let a corrected environment try again
    });
  }
  return chosen;
}

export { registerWasmConvGradients } from './wasm-gradients';
export { registerSharedIdentity } from './wasm-identity';
export { registerWasmSplit } from './wasm-split';
export { WasmOutOfMemoryError, isWasmOutOfMemory, asWasmOutOfMemory, withWasmMemory, guardWasmMalloc } from './wasm-memory';
export {
  ACTIVATION_GRADIENT, BATCH_NORM_GRADIENT, BATCH_NORM_TRAIN, DEPTHWISE_GATED_INPUT_GRADIENT, UPSAMPLE_NORMALISE, defaultNativeThreads, loadNative, nativeBatchNormAvailable, NATIVE_ENV, NATIVE_THREADS_ENV,
  nativeKernelsEnabled, nativeThreads, setNativeKernelsEnabled, setNativeThreads, withNativeThreads,
} from './native';
export { registerNativeKernels } from './native-kernels';
export { relu } from './relu';
export { conv2dFilterGradient, conv2dInputGradient, conv2dGeometry } from './conv-gradients';

/**
 * Turns a failed differentiation into an error that names the layer. tfjs reports a missing or
 * broken gradient from deep inside its tape (often a bare TypeError), with no word of which
 * layer was being differentiated; so, only once something has failed, each layer of the model is
 * differentiated alone on a small random input until the culprit shows itself.
 */
import * as tf from '@tensorflow/tfjs';
import { Layer, runLayer, SymbolicTensor } from './graph';

export class GradientUnavailableError extends Error {
  constructor(
    message: string,
    /** The layer whose gradient failed, when one was found. */
    readonly layerName: string | undefined,
    readonly cause: unknown,
  ) {
    super(message);
    this.name = 'GradientUnavailableError';
  }
}

/** An identity whose gradient calls `noted` when a backward pass reaches it (and passes dy on). */
export function onBackward(noted: () => void): (x: tf.Tensor) => tf.Tensor {
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: (args[0] as tf.Tensor).clone(),
    gradFunc: (dy: tf.Tensor | tf.Tensor[]) => {
      noted();
      return [(dy as tf.Tensor).clone()];
    },
  })) as (x: tf.Tensor) => tf.Tensor;
}

interface TapeState {
  gradientDepth: number;
  activeTape: { saved: tf.Tensor[] }[] | null;
}

/**
 * Frees what a failed tf.grad leaves behind. tfjs keeps a clone of every tensor an op saves for
 * its gradient and frees them only when the backward pass completes; when it throws, they stay
 * kept (outside any tidy) until the next gradient call starts a new tape, a leak per failure.
 */
export function releaseFailedTape(): void {
  const state = tf.engine().state as unknown as TapeState;
  if (state.gradientDepth !== 0 || !state.activeTape) return;
  for (const node of state.activeTape) for (const t of node.saved) t.dispose();
  state.activeTape = null;
}

/** A small input of a symbolic tensor's shape (unknown sizes taken as 2, batch 1). */
function probeInput(st: SymbolicTensor): tf.Tensor {
  const shape = st.shape.map((d, i) => (i === 0 ? 1 : d ?? 2));
  return st.dtype === 'int32' ? tf.zeros(shape, 'int32') : tf.randomUniform(shape, 0.1, 1);
}

function layerFails(layer: Layer, st: SymbolicTensor, guided: boolean): string | undefined {
  try {
    tf.tidy(() => {
      const ins = st.inputs.map(probeInput);
      const floats = ins.filter((t) => t.dtype === 'float32');
      if (!floats.length) return;
      tf.grads((...xs: tf.Tensor[]) => {
        let k = 0;
        const fed = ins.map((t) => (t.dtype === 'float32' ? xs[k++] : t));
        return tf.addN(runLayer(layer, st, fed, { guided }).map((o) => tf.sum(tf.cast(o, 'float32'))));
      })(floats);
    });
    return undefined;
  } catch (err) {
    releaseFailedTape();
    return (err as Error).message;
  }
}

/** A layer (in nested models, the innermost) whose gradient fails, and tfjs's message. */
export function findLayerWithoutGradient(model: tf.LayersModel, guided: boolean): { layer: Layer; message: string } | undefined {
  const seen = new Set<string>();
  const nodes: SymbolicTensor[] = [];
  const walk = (st: SymbolicTensor): void => {
    const key = `${st.sourceLayer.name}#${st.nodeIndex}`;
    if (seen.has(key) || st.inputs.length === 0) return;
    seen.add(key);
    st.inputs.forEach(walk);
    nodes.push(st); // after its inputs: topological order
  };
  model.outputs.forEach(walk);
  // Guided differentiates every layer, so the failure nearest the input is the first met; plain
  // Grad-CAM only the head, so look from the scores backwards.
  for (const st of guided ? nodes : nodes.reverse()) {
    const layer = st.sourceLayer;
    if (layer instanceof tf.LayersModel) {
      const inner = findLayerWithoutGradient(layer, guided);
      if (inner) return inner;
      continue;
    }
    const message = layerFails(layer, st, guided);
    if (message !== undefined) return { layer, message };
  }
  return undefined;
}

/** The error to throw in place of `err`, raised while differentiating `model`. */
export function gradientFailure(model: tf.LayersModel, err: unknown, guided: boolean): Error {
  releaseFailedTape();
  if (err instanceof GradientUnavailableError) return err;
  const raw = err instanceof Error ? err.message : String(err);
  const found = findLayerWithoutGradient(model, guided);
  const backend = tf.getBackend();
  if (!found) {
    // Not a gradient problem of one layer: leave the original error as it is.
    return err instanceof Error ? err : new Error(raw);
  }
  const name = found.layer.name;
  const fix = guided
    ? 'Guided backprop needs the gradient of every layer from the input to the scores. Fix: explain without guided backprop (guided: false; the CLI then draws Grad-CAM alone)'
    : `Grad-CAM needs the gradient of every layer between the target layer and the scores. Fix: choose a target layer after '${name}' (options.layer / --layer)`;
  return new GradientUnavailableError(
    `Cannot differentiate through layer '${name}' (${found.layer.getClassName()}) on the ${backend} backend: ${found.message}. ` +
      `${fix}; if the layer should work, please report it with the model.`,
    found.layer.name,
    err,
  );
}

/**
 * A forward-pass failure as the error to report: an op the backend has no kernel for (tfjs-wasm
 * lacks Einsum, which Keras's MultiHeadAttention uses) gets a sentence with the way out; anything
 * else is passed on as it is.
 */
export function forwardFailure(err: unknown): Error {
  const raw = err instanceof Error ? err : new Error(String(err));
  const m = /Kernel '(\w+)' not registered for backend '(\w+)'/.exec(raw.message);
  // tfjs-wasm's kernels that exist but refuse an input (BatchMatMul of int32: MediaPipe's attention heads).
  const partial = /^(\w+) for .* not yet supported/.exec(raw.message);
  if (partial) {
    return new Error(
      `The model runs the op ${partial[1]} on values the ${tf.getBackend()} backend of TensorFlow.js cannot take ("${raw.message.replace(/\.$/, '')}"), so it cannot run here. ` +
        'Use another backend: GRADCAM_BACKEND=cpu (slower) or GRADCAM_BACKEND=tensorflow (@tensorflow/tfjs-node), or choose another output (--output).',
    );
  }
  if (!m) return raw;
  return new Error(
    `The model uses the op ${m[1]}, which the ${m[2]} backend of TensorFlow.js does not implement, so it cannot run here. ` +
      `Use a backend that has it: GRADCAM_BACKEND=cpu (slower) or GRADCAM_BACKEND=tensorflow (@tensorflow/tfjs-node), or export the model without ${m[1]}.`,
  );
}

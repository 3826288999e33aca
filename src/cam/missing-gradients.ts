/**
 * Gradients tfjs does not define for ops that converted models use on the way to their outputs:
 * StridedSlice (Keras slicing `x[:, 0]`, SSR-Net's age and gender heads), GatherNd (MoveNet's
 * and MediaPipe's keypoint heads) and TopK (CenterNet's decoded detections). Both select input elements, so the gradient puts dy back where
 * each came from: a scatter into the input's shape. Registered once, only where tfjs has none (a
 * later tfjs that defines its own keeps it).
 * tfjs's SquaredDifference and BatchMatMul gradients forget to sum over broadcast dimensions (MoveNet's
 * keypoint decoding, MediaPipe's attention heads), and tfjs then refuses their shape: wrapped to sum
 * back to each input's shape, changing nothing where shapes already agree. Its Unpack gradient
 * fails for an axis of size 1 (one output: dy comes as a tensor, not a list; MoveNet), and
 * comparisons (Greater, Less, ...) and logical ops have none though it is zero, and GatherV2
 * hands back its int32 indices as their "gradient" when the indices depend on the input (top-k
 * decoding, CenterNet's detections), which tfjs then refuses: given zeros.
 */
import * as tf from '@tensorflow/tfjs';

interface StridedSliceAttrs {
  begin: number[];
  end: number[];
  strides: number[];
  beginMask: number;
  endMask: number;
  ellipsisMask: number;
  newAxisMask: number;
  shrinkAxisMask: number;
}

/** dy [...] scattered to the flat positions `indices` [...] of an input of `shape` (int32 positions, same size as dy). */
function scatterBack(dy: tf.Tensor, flatIndices: tf.Tensor, shape: number[]): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  // (cast: int32 values that passed through a wasm kernel can come back typed float32)
  return tf.reshape(tf.scatterND(tf.reshape(tf.cast(flatIndices, 'int32'), [-1, 1]), tf.reshape(dy, [-1]), [size]), shape);
}

const STRIDED_SLICE: tf.GradConfig = {
  kernelName: 'StridedSlice',
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const a = attrs as unknown as StridedSliceAttrs;
    // The same slice of the positions 0..size-1 says where each of dy's values came from.
    return {
      x: () => {
        // Positions as float32 (exact below 2^24): tfjs-wasm's strided StridedSlice of an int32
        // tensor returns its bits as float32.
        const positions = tf.reshape(tf.range(0, x.size, 1, 'float32'), x.shape);
        const picked = tf.stridedSlice(positions, a.begin, a.end, a.strides, a.beginMask, a.endMask, a.ellipsisMask, a.newAxisMask, a.shrinkAxisMask);
        return scatterBack(dy as tf.Tensor, tf.cast(picked, 'int32'), x.shape);
      },
    };
  },
};

/** TopK (CenterNet's peak picking): each value's gradient goes back to the position it was taken from. */
const TOP_K: tf.GradConfig = {
  kernelName: 'TopK',
  inputsToSave: ['x'],
  outputsToSave: [false, true],
  gradFunc: (dy, saved) => {
    const [x, indices] = saved;
    const dValues = Array.isArray(dy) ? dy[0] : dy;
    const n = x.shape[x.rank - 1];
    const k = indices.shape[indices.rank - 1];
    const rows = x.size / n;
    return {
      x: () => {
        const rowStart = tf.mul(tf.reshape(tf.range(0, rows, 1, 'int32'), [rows, 1]), n);
        return scatterBack(dValues, tf.add(tf.reshape(indices, [rows, k]), rowStart), x.shape);
      },
    };
  },
};

const GATHER_ND: tf.GradConfig = {
  kernelName: 'GatherNd',
  inputsToSave: ['params', 'indices'],
  gradFunc: (dy, saved) => {
    const [params, indices] = saved;
    return {
      params: () => tf.scatterND(tf.cast(indices, 'int32'), dy as tf.Tensor, params.shape),
      indices: () => tf.zeros(indices.shape), // (tfjs wants float32 gradients, even for int32 inputs)
    };
  },
};

/** A gradient of a broadcast input summed back to the input's shape (right-aligned, as broadcasting is). */
function reduceToShape(grad: tf.Tensor, shape: number[]): tf.Tensor {
  if (grad.shape.length === shape.length && grad.shape.every((d, i) => d === shape[i])) return grad;
  const offset = grad.shape.length - shape.length;
  const axes = grad.shape.map((d, i) => i).filter((i) => i < offset || (shape[i - offset] === 1 && grad.shape[i] !== 1));
  return tf.reshape(axes.length ? tf.sum(grad, axes) : grad, shape);
}

function broadcastReducing(original: tf.GradConfig, inputs: string[]): tf.GradConfig {
  return {
    ...original,
    gradFunc: (dy, saved, attrs) => {
      const grads = original.gradFunc(dy, saved, attrs);
      // saved holds the inputs in inputsToSave order (both ops save every input).
      return Object.fromEntries(inputs.map((name, i) => [name, () => reduceToShape(grads[name](), saved[i].shape)]));
    },
  };
}

/** Comparisons and logical ops give booleans: no gradient flows back through them (zeros, float32 as tfjs wants). */
const COMPARISONS = ['Greater', 'GreaterEqual', 'Less', 'LessEqual', 'Equal', 'NotEqual', 'LogicalAnd', 'LogicalOr'].map((kernelName): tf.GradConfig => ({
  kernelName,
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, saved) => ({ a: () => tf.zeros(saved[0].shape), b: () => tf.zeros(saved[1].shape) }),
}));
const LOGICAL_NOT: tf.GradConfig = { kernelName: 'LogicalNot', inputsToSave: ['x'], gradFunc: (dy, saved) => ({ x: () => tf.zeros(saved[0].shape) }) };

function zeroIndexGradient(original: tf.GradConfig): tf.GradConfig {
  return {
    ...original,
    gradFunc: (dy, saved, attrs) => ({ ...original.gradFunc(dy, saved, attrs), indices: () => tf.zeros(saved[1].shape) }),
  };
}

function singleOutputUnpack(original: tf.GradConfig): tf.GradConfig {
  return { ...original, gradFunc: (dy, saved, attrs) => original.gradFunc(Array.isArray(dy) ? dy : [dy], saved, attrs) };
}

let registered = false;

/** Registers the gradients above where tfjs has none; safe to call on every split. */
export function registerMissingGradients(): void {
  if (registered) return;
  registered = true;
  for (const config of [STRIDED_SLICE, GATHER_ND, TOP_K, ...COMPARISONS, LOGICAL_NOT]) {
    if (!tf.getGradient(config.kernelName)) tf.registerGradient(config);
  }
  for (const op of ['SquaredDifference', 'BatchMatMul']) {
    const original = tf.getGradient(op);
    const inputs = original?.inputsToSave ?? [];
    if (original && inputs.length === 2) tf.registerGradient(broadcastReducing(original, inputs));
  }
  const unpack = tf.getGradient('Unpack');
  if (unpack) tf.registerGradient(singleOutputUnpack(unpack));
  const gather = tf.getGradient('GatherV2');
  if (gather?.inputsToSave?.[1] === 'indices') tf.registerGradient(zeroIndexGradient(gather));
}

/**
 * tfjs's AvgPool gradient is wrong at the borders for padding 'same': its forward pass divides
 * each window by the number of real (unpadded) inputs, as TensorFlow does, but its gradient
 * divides by the full window size (a 3x3 'same' pool's corner input gets 4/9 instead of
 * 1/4 + 2/6 + 1/9). InceptionV3's branches are such pools, so Grad-CAM at a layer before them was
 * off by 30% against Keras. The native addon's kernel (wasm and tfjs-node) and TensorFlow's are
 * exact. While our passes run, the AvgPool gradient asks the kernel it is about to use, and where
 * that one has the bug it applies it to dy rescaled by window size / real count; then the gradient
 * is put back.
 */
import * as tf from '@tensorflow/tfjs';

interface AvgPoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number;
}

function pair(v: number | [number, number]): [number, number] {
  return Array.isArray(v) ? v : [v, v];
}

/** The exact gradient config, built over tfjs's own (which is right for 'valid' padding). */
function exactAvgPoolGradient(original: tf.GradConfig): tf.GradConfig {
  return {
    ...original,
    gradFunc: (dy, saved, attrs) => {
      const { filterSize, strides, pad } = attrs as unknown as AvgPoolAttrs;
      // Asked at the backward step, of the kernel that runs it: native kernels can be switched off.
      if (pad !== 'same' || !avgPoolGradientIsInexact()) return original.gradFunc(dy, saved, attrs);
      const [x] = saved;
      const [fh, fw] = pair(filterSize);
      const [sh, sw] = pair(strides);
      // Real inputs under each window: a 'same' convolution of ones with a window of ones.
      const ones = tf.ones([1, x.shape[1] as number, x.shape[2] as number, 1]) as tf.Tensor4D;
      const count = tf.conv2d(ones, tf.ones([fh, fw, 1, 1]) as tf.Tensor4D, [sh, sw], 'same');
      const scaled = tf.div(tf.mul(dy as tf.Tensor, fh * fw), count);
      return original.gradFunc(scaled, saved, attrs);
    },
  };
}

/**
 * Whether the active backend's AvgPoolGrad kernel has the border bug (tfjs's cpu and wasm do; the
 * native addon's and tfjs-node's TensorFlow kernel are exact): the corner of a 3x3 'same' pool over
 * 3x3 ones gets 4/9 from the buggy kernel, 1/4+1/6+1/6+1/9 from an exact one. Not cached, since a
 * backend's kernel can change (native kernels switched off); the probe is one 3x3 pool (nine values).
 */
export function avgPoolGradientIsInexact(): boolean {
  const corner = tf.tidy(() => {
    const input = tf.ones([1, 3, 3, 1]);
    const attrs = { filterSize: [3, 3], strides: [1, 1], pad: 'same' } as unknown as tf.NamedAttrMap;
    const dx = tf.engine().runKernel('AvgPoolGrad', { dy: tf.ones([1, 3, 3, 1]), input }, attrs) as tf.Tensor;
    return dx.dataSync()[0];
  });
  return Math.abs(corner - 4 / 9) < 1e-4;
}

/** Runs `f` (a forward pass that may be differentiated) with the exact AvgPool gradient. */
export function withExactAvgPoolGradient<T>(f: () => T): T {
  const original = tf.getGradient('AvgPool');
  if (!original || active) return f(); // (nested: already exact)
  tf.registerGradient(exactAvgPoolGradient(original));
  active = true;
  try {
    return f();
  } finally {
    active = false;
    tf.registerGradient(original);
  }
}

let active = false;

/** Step 4: maps at layer resolution -> input size, each scaled to peak at exactly 1. */
import * as tf from '@tensorflow/tfjs';

/** Normalisation floor: an all-zero map stays zero instead of becoming 0/0. */
export const MAP_EPSILON = 1e-7;

/**
 * The native addon's kernel for this step (UPSAMPLE_NORMALISE in src/backend/native.ts, on wasm and
 * tfjs-node): three threaded passes instead of seven tfjs ops, 5-6 ms of MobileNetV2's Grad-CAM of five
 * classes on tfjs-node. Named here, not imported, because this room also bundles for browsers.
 */
export const UPSAMPLE_NORMALISE = 'GradcamUpsampleNormalise';

/** [R,h,w] maps -> [R,H,W,1] heatmaps in [0,1], upsampled bilinearly (half-pixel centres). */
export function upsampleAndNormalise(maps: tf.Tensor3D, size: [number, number]): tf.Tensor4D {
  if (maps.dtype === 'float32' && maps.size > 0 && tf.getKernel(UPSAMPLE_NORMALISE, tf.getBackend())) {
    return tf.engine().runKernel(UPSAMPLE_NORMALISE, { maps }, { size, epsilon: MAP_EPSILON } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
  }
  const up = tf.image.resizeBilinear(tf.expandDims(maps, 3) as tf.Tensor4D, size, false, true);
  // A map whose peak is below epsilon (all-zero after the ReLU) stays zero instead of amplifying
  // noise or dividing by zero. (A 0/1 mask multiplied in, not tf.where: where's broadcast costs a Tile on wasm.)
  const peak = tf.max(up, [1, 2, 3], true);
  return tf.mul(tf.div(up, tf.maximum(peak, MAP_EPSILON)), tf.cast(tf.greater(peak, MAP_EPSILON), 'float32')) as tf.Tensor4D;
}

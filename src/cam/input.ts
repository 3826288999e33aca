/** Turns the accepted image forms into one float32 batch [N,H,W,C], with errors that say the fix. */
import * as tf from '@tensorflow/tfjs';

/** One image: a [H,W,C] tensor or its pixels in HWC order (e.g. a CIFAR-10 `imageAt`). */
export type ImageLike = tf.Tensor3D | Uint8Array | Uint8ClampedArray | Float32Array | number[];
/** A batch: a [N,H,W,C] tensor, a single [H,W,C] tensor, or an array of images. */
export type ImageBatch = tf.Tensor4D | tf.Tensor3D | ImageLike[];

function expected(shape: [number, number, number]): string {
  return `[N,${shape.join(',')}] (the model's input shape)`;
}

/** A new float32 tensor [N,H,W,C]; the caller disposes it (or calls this inside a tidy). */
export function toBatch(images: ImageBatch, shape: [number, number, number]): tf.Tensor4D {
  const [H, W, C] = shape;
  if (images instanceof tf.Tensor) {
    const t = images.rank === 3 ? images.expandDims(0) : images;
    if (t.rank !== 4 || t.shape[1] !== H || t.shape[2] !== W || t.shape[3] !== C) {
      if (t !== images) t.dispose();
      throw new Error(`Images have shape [${images.shape.join(',')}]; expected ${expected(shape)}. Resize them to ${H}x${W} with ${C} channels first.`);
    }
    const f = t.toFloat() as tf.Tensor4D;
    if (t !== images) t.dispose();
    return f;
  }
  if (!Array.isArray(images) || images.length === 0) {
    throw new Error(`No images given; pass a [N,${H},${W},${C}] tensor or a non-empty array of images.`);
  }
  const size = H * W * C;
  const pixels = new Float32Array(images.length * size);
  images.forEach((img, i) => {
    if (img instanceof tf.Tensor) {
      if (img.rank !== 3 || img.shape[0] !== H || img.shape[1] !== W || img.shape[2] !== C) {
        throw new Error(`Image ${i} has shape [${img.shape.join(',')}]; expected [${H},${W},${C}] for a model with input ${expected(shape)}.`);
      }
      pixels.set(img.dataSync(), i * size);
    } else {
      if (img.length !== size) {
        throw new Error(`Image ${i} has ${img.length} values; expected ${H}*${W}*${C} = ${size} (HWC order) for a model with input ${expected(shape)}.`);
      }
      pixels.set(img, i * size);
    }
  });
  return tf.tensor4d(pixels, [images.length, H, W, C]);
}

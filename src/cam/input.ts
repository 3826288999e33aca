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

/**
 * The pixel range a model was trained on. Images are given as pixels 0-255 (RGB); this turns
 * them into what the model expects, the way Keras's preprocess_input modes do:
 * '0-255' as they are (the shipped CIFAR-10 model), '0-1' divided by 255, '-1..1' (Keras 'tf':
 * MobileNet, Inception, Xception), 'caffe' (Keras 'caffe': RGB -> BGR minus the ImageNet mean, ResNet50, VGG),
 * 'torch' (Keras 'torch': 0-1 minus the ImageNet mean over its std, DenseNet).
 */
export type InputRange = '0-255' | '0-1' | '-1..1' | 'caffe' | 'torch';
export const INPUT_RANGES: readonly InputRange[] = ['0-255', '0-1', '-1..1', 'caffe', 'torch'];

const IMAGENET_MEAN_BGR = [103.939, 116.779, 123.68];
const IMAGENET_MEAN_RGB = [0.485, 0.456, 0.406];
const IMAGENET_STD_RGB = [0.229, 0.224, 0.225];

export function checkInputRange(range: string): InputRange {
  if (!(INPUT_RANGES as readonly string[]).includes(range)) {
    throw new Error(`Unknown input range '${range}'; use one of ${INPUT_RANGES.join(', ')} (what the model was trained on; raw pixels are 0-255).`);
  }
  return range as InputRange;
}

/** Pixels 0-255 [N,H,W,C] scaled to `range` (a new tensor; the caller disposes it or tidies). */
export function scaleToInputRange(pixels: tf.Tensor4D, range: InputRange): tf.Tensor4D {
  return tf.tidy(() => {
    const x = tf.cast(pixels, 'float32') as tf.Tensor4D;
    const C = x.shape[3];
    if ((range === 'caffe' || range === 'torch') && C !== 3) {
      throw new Error(`Input range '${range}' needs RGB images (3 channels); these have ${C}. Use '0-255', '0-1' or '-1..1'.`);
    }
    switch (range) {
      case '0-255':
        return x;
      case '0-1':
        return tf.div(x, 255);
      case '-1..1':
        return tf.sub(tf.div(x, 127.5), 1);
      case 'caffe':
        return tf.sub(tf.reverse(x, 3), tf.tensor1d(IMAGENET_MEAN_BGR));
      case 'torch':
        return tf.div(tf.sub(tf.div(x, 255), tf.tensor1d(IMAGENET_MEAN_RGB)), tf.tensor1d(IMAGENET_STD_RGB));
    }
  });
}

/** Images (pixels 0-255, any ImageBatch form) as the model's input batch in `range`. */
export function toModelInput(images: ImageBatch, shape: [number, number, number], range: InputRange = '0-255'): tf.Tensor4D {
  return tf.tidy(() => scaleToInputRange(toBatch(images, shape), range));
}

/**
 * RGB pixels (HWC, 0-255) as an image of `channels`: grey as luma (ITU-R BT.601, what PIL's
 * convert('L') gives), RGBA with an opaque alpha, RGB as it is.
 */
export function adaptChannels(rgb: ArrayLike<number>, channels: number): Uint8Array {
  const n = rgb.length / 3;
  if (channels === 3) return Uint8Array.from(rgb);
  if (channels === 1) return Uint8Array.from({ length: n }, (_, p) => Math.round(0.299 * rgb[3 * p] + 0.587 * rgb[3 * p + 1] + 0.114 * rgb[3 * p + 2]));
  if (channels === 4) {
    const out = new Uint8Array(n * 4).fill(255);
    for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) out[4 * p + c] = rgb[3 * p + c];
    return out;
  }
  throw new Error(`The model takes ${channels}-channel images; gradcam-ts converts RGB images to 1 (grey), 3 (RGB) or 4 (RGBA) channels. Pass the model's input yourself (explain() takes raw arrays).`);
}

/**
 * A graph model's image input as gradcam-ts hands it over: always [N,H,W,C] (channels last, what
 * images are), transposed for a channels-first model; a dynamic size gets `size` or a documented
 * default; integer pixels for a model that takes int32. Models with several inputs are refused with their names, since which one is the image
 * and what the others should hold cannot be guessed.
 */
import * as tf from '@tensorflow/tfjs';

/** The size a model with a dynamic input size is explained at, unless told otherwise (options.inputSize, --size). */
export const DEFAULT_DYNAMIC_SIZE = 224;

/** At most this many channels: an image's (grey, RGB, RGBA); a side this small is no image side. */
const MAX_IMAGE_CHANNELS = 4;

export interface GraphInput {
  name: string;
  /** [H, W, C] of one image, channels last. */
  shape: [number, number, number];
  channelsFirst: boolean;
  /** Whether H and W were chosen here (the model accepts any size). */
  dynamic: boolean;
  /** Images [N,H,W,C] as the model takes them. */
  toModel(x: tf.Tensor4D): tf.Tensor4D;
}

const known = (d: number | null | undefined): d is number => typeof d === 'number' && d > 0;
const isIntegerDtype = (dtype: string | undefined): boolean => dtype === 'int32' || dtype === 'uint8' || dtype === 'int64';

export function graphInput(model: tf.GraphModel, size?: readonly [number, number]): GraphInput {
  if (model.inputs.length !== 1) {
    const listed = model.inputs.map((i) => `'${i.name}' ${JSON.stringify(i.shape ?? 'unknown shape')}`).join(', ');
    throw new Error(
      `This graph model has ${model.inputs.length} inputs (${listed}); gradcam-ts explains models that take one image. ` +
        'Export the image branch alone (a model from the image input to the output you want explained), or feed the other inputs fixed values in your own wrapper model.',
    );
  }
  const input = model.inputs[0];
  const shape = input.shape ?? [];
  if (shape.length !== 4) {
    throw new Error(`This graph model's input '${input.name}' has shape ${JSON.stringify(shape)}; gradcam-ts explains image inputs [N,H,W,C] or [N,C,H,W].`);
  }
  const [, d1, d2, d3] = shape;
  // [N,C,H,W] when the second size is a channel count and the last is not (or is left open).
  const channelsFirst = known(d1) && d1 <= MAX_IMAGE_CHANNELS && !(known(d3) && d3 <= MAX_IMAGE_CHANNELS);
  const [hDim, wDim, cDim] = channelsFirst ? [d2, d3, d1] : [d1, d2, d3];
  const dynamic = !known(hDim) || !known(wDim);
  const H = known(hDim) ? hDim : size?.[0] ?? DEFAULT_DYNAMIC_SIZE;
  const W = known(wDim) ? wDim : size?.[1] ?? DEFAULT_DYNAMIC_SIZE;
  const C = known(cDim) ? cDim : 3;
  return {
    name: input.name,
    shape: [H, W, C],
    channelsFirst,
    dynamic,
    toModel: (x) => {
      const laid = channelsFirst ? (tf.transpose(x, [0, 3, 1, 2]) as tf.Tensor4D) : x;
      // Detectors exported from TF's object detection API and MoveNet take int32 (uint8) pixels:
      // rounded as cast(x + 0.5), not tf.round, whose zero gradient would blank guided backprop
      // (tfjs passes a gradient straight through Cast).
      return isIntegerDtype(input.dtype) ? (tf.cast(tf.add(laid, 0.5), 'int32') as tf.Tensor4D) : laid;
    },
  };
}

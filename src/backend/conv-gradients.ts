/**
 * Conv2D gradients expressed as ordinary forward convolutions.
 *
 * tfjs-backend-wasm has no Conv2DBackpropFilter (a conv-net cannot train on it) and its
 * Conv2DBackpropInput is about 3x slower than an XNNPACK-backed Conv2D. Both gradients are
 * correlations, so we write them as `conv2d` calls on transposed operands:
 *   dW = conv2d(x^T [Cin,H,W,N], dy^T [oh,ow,N,Cout], dilation = stride)  -> [Cin,kh,kw,Cout]
 *   dx = conv2d(zero-dilated dy, flipped and transposed W)                 -> [N,H,W,Cin]
 * The pieces below only compute paddings; the maths is in the two exported functions.
 */
import * as tf from '@tensorflow/tfjs';

export interface Conv2DGeometry {
  strides: [number, number];
  /** Padding before/after along height and width, as the forward pass applied it. */
  pad: { top: number; bottom: number; left: number; right: number };
}

/** The forward pass's padding, computed exactly as tfjs does for 'same' / 'valid' / explicit. */
export function conv2dGeometry(
  xShape: number[],
  filterShape: number[],
  strides: number | [number, number],
  pad: 'same' | 'valid' | number | number[][],
): Conv2DGeometry {
  const [sh, sw] = typeof strides === 'number' ? [strides, strides] : strides;
  const [, inH, inW] = xShape;
  const [kh, kw] = filterShape;
  if (pad === 'valid') return { strides: [sh, sw], pad: { top: 0, bottom: 0, left: 0, right: 0 } };
  if (pad === 'same') {
    const outH = Math.ceil(inH / sh);
    const outW = Math.ceil(inW / sw);
    const padH = Math.max(0, (outH - 1) * sh + kh - inH);
    const padW = Math.max(0, (outW - 1) * sw + kw - inW);
    const top = Math.floor(padH / 2);
    const left = Math.floor(padW / 2);
    return { strides: [sh, sw], pad: { top, bottom: padH - top, left, right: padW - left } };
  }
  if (typeof pad === 'number') {
    return { strides: [sh, sw], pad: { top: pad, bottom: pad, left: pad, right: pad } };
  }
  // Explicit NHWC padding [[0,0],[top,bottom],[left,right],[0,0]].
  return {
    strides: [sh, sw],
    pad: { top: pad[1][0], bottom: pad[1][1], left: pad[2][0], right: pad[2][1] },
  };
}

/** Pads (positive amounts) or crops (negative amounts) height and width of an NHWC tensor. */
function padOrCrop(t: tf.Tensor4D, top: number, bottom: number, left: number, right: number): tf.Tensor4D {
  const padded =
    top > 0 || bottom > 0 || left > 0 || right > 0
      ? tf.pad(t, [[0, 0], [Math.max(0, top), Math.max(0, bottom)], [Math.max(0, left), Math.max(0, right)], [0, 0]])
      : t;
  if (top >= 0 && bottom >= 0 && left >= 0 && right >= 0) return padded;
  const [n, h, w, c] = padded.shape;
  const cropTop = Math.max(0, -top);
  const cropLeft = Math.max(0, -left);
  return tf.slice(padded, [0, cropTop, cropLeft, 0], [n, h - cropTop - Math.max(0, -bottom), w - cropLeft - Math.max(0, -right), c]);
}

/** dL/dW for y = conv2d(x, W) given dy. */
export function conv2dFilterGradient(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  geometry: Conv2DGeometry,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw] = filterShape;
    const [sh, sw] = geometry.strides;
    const [, inH, inW] = x.shape;
    const [, outH, outW] = dy.shape;
    const { top, left } = geometry.pad;
    // Extra padding after so that the correlation yields exactly kh x kw taps (negative = crop).
    const bottom = kh + sh * (outH - 1) - inH - top;
    const right = kw + sw * (outW - 1) - inW - left;
    const xT = padOrCrop(tf.transpose(x, [3, 1, 2, 0]), top, bottom, left, right); // [Cin,H',W',N]
    const dyT = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [oh,ow,N,Cout]
    const dW = tf.conv2d(xT, dyT, 1, 'valid', 'NHWC', [sh, sw]); // [Cin,kh,kw,Cout]
    return tf.transpose(dW, [1, 2, 0, 3]);
  });
}

/** Inserts (stride-1) zeros between rows and columns: the "transposed" layout of dy. */
function dilateSpatially(dy: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return dy;
  const [n, h, w, c] = dy.shape;
  const spaced = tf.pad(tf.reshape(dy, [n, h, 1, w, 1, c]), [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]);
  return tf.reshape(spaced, [n, h * sh, w * sw, c]);
}

/**
 * The filter rotated by 180 degrees in its two spatial axes. Reversing both axes of [kh,kw,...] is
 * reversing the order of its kh*kw rows, i.e. a product with the anti-diagonal permutation matrix:
 * a matMul runs at XNNPACK speed where tfjs-wasm's Reverse kernel takes milliseconds per filter.
 */
function flipSpatially(filter: tf.Tensor4D): tf.Tensor4D {
  const [kh, kw, a, b] = filter.shape;
  const taps = kh * kw;
  const antiDiagonal = tf.reverse(tf.eye(taps), 0) as tf.Tensor2D; // taps x taps, tiny
  return tf.reshape(tf.matMul(antiDiagonal, tf.reshape(filter, [taps, a * b])), [kh, kw, a, b]);
}

/** dy dilated by the stride and padded/cropped so a 'valid' correlation with the flipped filter yields dx. */
function framedForInputGradient(dy: tf.Tensor4D, kh: number, kw: number, xShape: [number, number, number, number], geometry: Conv2DGeometry): tf.Tensor4D {
  const [sh, sw] = geometry.strides;
  const [, inH, inW] = xShape;
  const { top, left } = geometry.pad;
  const dilated = dilateSpatially(dy, sh, sw); // [N, oh*sh, ow*sw, Cout]
  return padOrCrop(dilated, kh - 1 - top, inH + top - dilated.shape[1], kw - 1 - left, inW + left - dilated.shape[2]);
}

/** dL/dx for y = conv2d(x, W) given dy. */
export function conv2dInputGradient(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  xShape: [number, number, number, number],
  geometry: Conv2DGeometry,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw] = filter.shape;
    const framed = framedForInputGradient(dy, kh, kw, xShape, geometry);
    const swapped = tf.transpose(flipSpatially(filter), [0, 1, 3, 2]) as tf.Tensor4D; // [kh,kw,Cout,Cin]
    return tf.conv2d(framed, swapped, 1, 'valid');
  });
}

/**
 * dL/dx for y = depthwiseConv2d(x, W) with W [kh,kw,C,M] (output channel c*M+m): per multiplier m,
 * a depthwise correlation of that output slice with the flipped filter, summed over m.
 */
export function depthwiseConv2dInputGradient(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  xShape: [number, number, number, number],
  geometry: Conv2DGeometry,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw, channels, multiplier] = filter.shape;
    const framed = framedForInputGradient(dy, kh, kw, xShape, geometry);
    const flipped = flipSpatially(filter);
    if (multiplier === 1) return tf.depthwiseConv2d(framed, flipped, 1, 'valid');
    const [n, h, w] = framed.shape;
    const perMultiplier = tf.reshape(framed, [n, h, w, channels, multiplier]);
    const parts = Array.from({ length: multiplier }, (_, m) =>
      tf.depthwiseConv2d(
        tf.reshape(tf.slice(perMultiplier, [0, 0, 0, 0, m], [n, h, w, channels, 1]), [n, h, w, channels]) as tf.Tensor4D,
        tf.slice(flipped, [0, 0, 0, m], [kh, kw, channels, 1]) as tf.Tensor4D,
        1,
        'valid',
      ));
    return tf.addN(parts) as tf.Tensor4D;
  });
}

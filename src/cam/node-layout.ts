/**
 * How a graph node's value is read as Grad-CAM's A [N,h,w,K]: a map as it is (tfjs runs
 * convolutions channels-last, so a channels-first model's maps are channels-last after the
 * transpose at its input), and a token sequence [N,T,D] (a vision transformer's) laid on
 * its h x w grid after dropping the extra tokens in front (class, distillation or register
 * tokens), as pytorch-grad-cam's reshape_transform does. The head gets the value back in the
 * node's own layout, the dropped tokens included, so the model runs unchanged.
 */
import * as tf from '@tensorflow/tfjs';

export type NodeLayout =
  | { kind: 'channels-last' }
  | { kind: 'tokens'; extra: number; height: number; width: number };

/** Extra tokens a sequence may carry in front of its grid (a class token, a distillation token, registers). */
const MAX_EXTRA_TOKENS = 4;

/** How the user sets the token grid when the count is not a square plus a few. */
export interface TokenGrid {

  /** Tokens in front of the grid to leave out (default: found from the count). */
  extra?: number;
  height?: number;
  width?: number;
}

/**
 * The layout of a node with this shape (batch first), or undefined when it is neither a spatial
 * map nor a token sequence; sequences need a square count of tokens after up to 4 extra.
 */
export function layoutOf(shape: readonly number[], grid: TokenGrid = {}): NodeLayout | undefined {
  // tfjs runs convolutions channels-last, so a graph's maps are channels-last, whatever its input
  // (a channels-first model transposes at the input). Only an explicit TokenGrid changes tokens.
  if (shape.length === 4) return { kind: 'channels-last' };
  if (shape.length !== 3) return undefined;
  const T = shape[1];
  if (grid.height && grid.width) {
    const extra = grid.extra ?? T - grid.height * grid.width;
    return extra >= 0 && extra + grid.height * grid.width === T ? { kind: 'tokens', extra, height: grid.height, width: grid.width } : undefined;
  }
  const extras = grid.extra !== undefined ? [grid.extra] : Array.from({ length: MAX_EXTRA_TOKENS + 1 }, (_, e) => e);
  for (const extra of extras) {
    const side = Math.round(Math.sqrt(T - extra));
    if (side >= 2 && side * side === T - extra) return { kind: 'tokens', extra, height: side, width: side };
  }
  return undefined;
}

/** [h, w, K] of A for a node of this shape read in this layout. */
export function gridShape(shape: readonly number[], layout: NodeLayout): [number, number, number] {
  if (layout.kind === 'tokens') return [layout.height, layout.width, shape[2]];
  return [shape[1], shape[2], shape[3]];
}

/** The node's value as A [N,h,w,K], and the tokens left out of the grid (fed back to the head). */
export function toGrid(value: tf.Tensor, layout: NodeLayout): { grid: tf.Tensor4D; extra?: tf.Tensor } {
  if (layout.kind === 'channels-last') return { grid: value as tf.Tensor4D };
  const [n, T, D] = value.shape;
  const tokens = tf.slice(value, [0, layout.extra, 0], [n, T - layout.extra, D]);
  const grid = tf.reshape(tokens, [n, layout.height, layout.width, D]) as tf.Tensor4D;
  return { grid, extra: layout.extra > 0 ? tf.slice(value, [0, 0, 0], [n, layout.extra, D]) : undefined };
}

/** A [N,h,w,K] back in the node's own layout, the left-out tokens put back in front. */
export function fromGrid(grid: tf.Tensor4D, extra: tf.Tensor | undefined, layout: NodeLayout): tf.Tensor {
  if (layout.kind === 'channels-last') return grid;
  const [n, h, w, D] = grid.shape;
  const tokens = tf.reshape(grid, [n, h * w, D]);
  return extra ? tf.concat([extra, tokens], 1) : tokens;
}

/**
 * Scoped override of Conv2D's gradient: on the wasm backend both gradients run as forward
 * convolutions (see conv-gradients.ts); on every other backend tfjs's own gradient runs unchanged.
 */
import * as tf from '@tensorflow/tfjs';
import { conv2dFilterGradient, conv2dGeometry, conv2dInputGradient } from './conv-gradients';

type Conv2DAttrs = {
  strides: number | [number, number];
  pad: 'same' | 'valid' | number | number[][];
  dataFormat: 'NHWC' | 'NCHW';
  dilations: number | [number, number];
};

let registered = false;

function dilationIsOne(d: number | [number, number] | undefined): boolean {
  return d === undefined || (typeof d === 'number' ? d === 1 : d[0] === 1 && d[1] === 1);
}

export function registerWasmConvGradients(): void {
  if (registered) return;
  const original = tf.getGradient('Conv2D');
  if (!original) throw new Error("tfjs has no gradient registered for 'Conv2D'; is @tensorflow/tfjs loaded twice?");
  registered = true;
  tf.registerGradient({
    kernelName: 'Conv2D',
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, saved, attrs) => {
      const a = attrs as unknown as Conv2DAttrs;
      const usable = tf.getBackend() === 'wasm' && a.dataFormat !== 'NCHW' && dilationIsOne(a.dilations);
      if (!usable) return original.gradFunc(dy, saved, attrs);
      const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
      const geometry = conv2dGeometry(x.shape, filter.shape, a.strides, a.pad);
      const dy4 = dy as tf.Tensor4D;
      return {
        x: () => conv2dInputGradient(dy4, filter, x.shape, geometry),
        filter: () => conv2dFilterGradient(x, dy4, filter.shape, geometry),
      };
    },
  });
}

/**
 * A hand-written TF graph (the JSON a converter writes) for graph-model tests that need a layout
 * no fixture has: conv 3x3 'same' + ReLU -> mean over space -> dense -> softmax, with the image
 * input channels-last or channels-first (a Transpose in front), a fixed or dynamic size, and
 * optionally a second input. Loaded from memory with tf.loadGraphModel.
 */
import * as tf from '@tensorflow/tfjs';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const dims = (shape: number[]) => ({ shape: { dim: shape.map((d) => ({ size: String(d) })) } });
const floatT = { type: 'DT_FLOAT' };

export interface TinyGraphWeights {
  kernel: Float32Array; // [3,3,Cin,K]
  convBias: Float32Array; // [K]
  dense: Float32Array; // [K,classes]
  denseBias: Float32Array;
  inChannels: number;
  K: number;
  classes: number;
}

export interface TinyGraphOptions {
  /** Input shape with the batch (-1): e.g. [-1,5,5,2], [-1,2,5,5] (channels first), [-1,-1,-1,2]. */
  inputShape: number[];
  channelsFirst?: boolean;
  secondInput?: boolean;
}

export async function tinyGraphModel(w: TinyGraphWeights, o: TinyGraphOptions): Promise<tf.GraphModel> {
  const node = (name: string, op: string, input: string[], attr: Record<string, unknown> = {}) => ({ name, op, input, attr });
  const nodes = [
    node('image', 'Placeholder', [], { dtype: floatT, shape: dims(o.inputShape) }),
    ...(o.secondInput ? [node('scale', 'Placeholder', [], { dtype: floatT, shape: dims([-1, 1]) })] : []),
    node('kernel', 'Const', [], { dtype: floatT, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims([3, 3, w.inChannels, w.K]).shape } } }),
    node('conv_bias', 'Const', [], { dtype: floatT, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims([w.K]).shape } } }),
    node('dense', 'Const', [], { dtype: floatT, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims([w.K, w.classes]).shape } } }),
    node('dense_bias', 'Const', [], { dtype: floatT, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims([w.classes]).shape } } }),
    node('axes', 'Const', [], { dtype: { type: 'DT_INT32' }, value: { tensor: { dtype: 'DT_INT32', tensorShape: dims([2]).shape } } }),
    ...(o.channelsFirst
      ? [
          node('perm', 'Const', [], { dtype: { type: 'DT_INT32' }, value: { tensor: { dtype: 'DT_INT32', tensorShape: dims([4]).shape } } }),
          node('nhwc', 'Transpose', ['image', 'perm'], { T: floatT }),
        ]
      : []),
    node('conv', 'Conv2D', [o.channelsFirst ? 'nhwc' : 'image', 'kernel'], {
      T: floatT, strides: { list: { i: ['1', '1', '1', '1'] } }, padding: { s: b64('SAME') }, data_format: { s: b64('NHWC') },
      dilations: { list: { i: ['1', '1', '1', '1'] } },
    }),
    node('conv_biased', 'BiasAdd', ['conv', 'conv_bias'], { T: floatT, data_format: { s: b64('NHWC') } }),
    node('features', 'Relu', ['conv_biased'], { T: floatT }),
    node('pooled', 'Mean', ['features', 'axes'], { T: floatT, keep_dims: { b: false } }),
    node('logits_raw', 'MatMul', ['pooled', 'dense'], { T: floatT, transpose_a: { b: false }, transpose_b: { b: false } }),
    node('logits', 'BiasAdd', ['logits_raw', 'dense_bias'], { T: floatT, data_format: { s: b64('NHWC') } }),
    ...(o.secondInput ? [node('scaled', 'Mul', ['logits', 'scale'], { T: floatT })] : []),
    node('probs', 'Softmax', [o.secondInput ? 'scaled' : 'logits'], { T: floatT }),
  ];
  const weights: [string, Float32Array | Int32Array, number[]][] = [
    ['kernel', w.kernel, [3, 3, w.inChannels, w.K]],
    ['conv_bias', w.convBias, [w.K]],
    ['dense', w.dense, [w.K, w.classes]],
    ['dense_bias', w.denseBias, [w.classes]],
    ['axes', Int32Array.from([1, 2]), [2]],
    ...(o.channelsFirst ? [['perm', Int32Array.from([0, 2, 3, 1]), [4]] as [string, Int32Array, number[]]] : []),
  ];
  const weightSpecs = weights.map(([name, data, shape]) => ({ name, shape, dtype: (data instanceof Int32Array ? 'int32' : 'float32') as 'int32' | 'float32' }));
  const bytes = Buffer.concat(weights.map(([, data]) => Buffer.from(data.buffer, data.byteOffset, data.byteLength)));
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const modelTopology = { node: nodes, library: {}, versions: { producer: 1 } };
  return tf.loadGraphModel(tf.io.fromMemory({ modelTopology, weightSpecs, weightData, format: 'graph-model' }));
}

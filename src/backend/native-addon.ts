/** The native addon's contract: what native/src/binding.c exports, as src/backend/native.ts calls it. */
export interface NativeAddon {
  /** With (bias | null, activation), FusedConv2D's epilogue runs on each chunk while it is in cache. */
  conv2dForward(x: Float32Array, filter: Float32Array, y: Float32Array, geometry: Int32Array,
    bias?: Float32Array | null, activation?: number): void;
  conv2dFilterGradient(x: Float32Array, dy: Float32Array, dfilter: Float32Array, geometry: Int32Array): void;
  conv2dInputGradient(dy: Float32Array, filter: Float32Array, dx: Float32Array, geometry: Int32Array): void;
  /** Depthwise: geometry's cin is C, cout is C * m for a [kh, kw, C, m] filter. */
  depthwiseForward(x: Float32Array, filter: Float32Array, y: Float32Array, geometry: Int32Array): void;
  /** With (y, activation 1 relu | 2 relu6, guided): dx then passes back through that activation, whose output y is. */
  depthwiseInputGradient(dy: Float32Array, filter: Float32Array, dx: Float32Array, geometry: Int32Array, y?: Float32Array, activation?: number, guided?: boolean): void;
  batchNormTrain(x: Float32Array, gamma: Float32Array, beta: Float32Array, epsilon: number,
    y: Float32Array, mean: Float32Array, variance: Float32Array, invStd: Float32Array): void;
  batchNormGradient(x: Float32Array, dy: Float32Array, mean: Float32Array, invStd: Float32Array, gamma: Float32Array,
    dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array): void;
  /** y = each window's maximum, padding ignored (tfjs's MaxPool); geometry from nativePoolGeometry. */
  maxPool(x: Float32Array, y: Float32Array, geometry: Int32Array): void;
  maxPoolGradient(x: Float32Array, dy: Float32Array, dx: Float32Array, geometry: Int32Array): void;
  /** tfjs's AvgPoolGrad: each window's dy / window size, summed onto the pixels under it. */
  /** Each window's mean over its taps inside the image (TensorFlow's AvgPool). */
  avgPool(x: Float32Array, y: Float32Array, geometry: Int32Array): void;
  /** Exact: dy / each covering window's taps inside the image. */
  avgPoolGradient(dy: Float32Array, dx: Float32Array, geometry: Int32Array): void;
  /** R maps [h,w] -> [H,W], bilinear (half-pixel centres), each divided by its peak (all zeros when the peak <= epsilon). */
  upsampleNormalise(maps: Float32Array, out: Float32Array, sizes: Int32Array, epsilon: number): void;
  /** activation: 0 linear, 1 relu, 2 relu6 (a boolean means relu or linear). */
  addBiasActivation(y: Float32Array, bias: Float32Array | null, channels: number, activation: number | boolean): void;
  /** Threads the kernels may use when called from this JS thread (OpenBLAS itself stays at one). */
  setThreads(threads: number): void;
  threads(): number;
  /** dx = dy * act'(y) in one pass (activation 0 linear, 1 relu, 2 relu6), dy's negative part cut first when guided. */
  activationGradient(dy: Float32Array, y: Float32Array, dx: Float32Array, activation: number, guided: boolean): void;
  /** Parts this thread's last split-capable kernel ran in (1: unsplit). */
  lastParts(): number;
  /** out = a (op) b with broadcasting; geometry from broadcastPlan (src/backend/broadcast-plan.ts). */
  broadcastBinary(a: Float32Array, b: Float32Array, out: Float32Array, geometry: Int32Array): void;
  /** c[i] = op(a[i]) x op(b[i]); geometry [batch, batchA, batchB, m, n, k, transposeA, transposeB]. */
  batchMatMul(a: Float32Array, b: Float32Array, c: Float32Array, geometry: Int32Array): void;
  /** The kernel conv2dForward takes for this geometry: Winograd F(4x4, 3x3), the direct AVX2 kernel, a plain product (1x1) or im2col + SGEMM. */
  forwardKernel(geometry: Int32Array): 'winograd' | 'direct' | 'pointwise' | 'im2col';
  blasConfig(): string;
}


/*
 * Node-API surface of the native kernels: convolutions, and the training-time batch norm and
 * max-pool gradient that run between them. Every function takes Float32Array views (on the
 * wasm backend these view the wasm heap itself, so nothing is copied) and an Int32Array geometry,
 * checks every length against the geometry, and throws a JS error rather than touching memory
 * it was not given.
 */
#include <node_api.h>
#include <cblas.h>
#include <stdio.h>

#include "arguments.h"
#include "batch_norm.h"
#include "matmul.h"
#include "conv.h"
#include "broadcast.h"
#include "direct_conv.h"
#include "parallel.h"
#include "pool.h"
#include "resize.h"

/* Provided by OpenBLAS; declared here because cblas.h does not always declare them. */
extern void openblas_set_num_threads(int);
extern char *openblas_get_config(void);

typedef int (*conv_fn)(const conv_geometry *, const float *, const float *, float *);

static int geometry_argument(napi_env env, napi_value value, conv_geometry *g) {
  const int32_t *f = int32_fields(env, value, CONV_GEOMETRY_FIELDS);
  if (!f) return 0;
  *g = (conv_geometry){f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10], f[11], f[12], f[13], f[14]};
  for (int i = 0; i < CONV_GEOMETRY_FIELDS; i++) {
    const int is_padding = i == 11 || i == 12;
    if (is_padding ? f[i] < 0 : f[i] <= 0) return 0;
  }
  return 1;
}

/* FusedConv2D's epilogue from two arguments: a Float32Array of `channels` floats or null, and an
 * activation (0 linear | 1 relu | 2 relu6, or a boolean relu). Returns an error message, or NULL. */
static const char *epilogue_arguments(napi_env env, napi_value bias_value, napi_value activation_value, size_t channels,
                                      const float **bias, int *activation) {
  napi_valuetype bias_type;
  bool relu = false;
  int32_t a = -1;
  if (napi_typeof(env, bias_value, &bias_type) != napi_ok) return "bias must be a Float32Array or null";
  if (napi_get_value_bool(env, activation_value, &relu) == napi_ok) a = relu ? ACTIVATION_RELU : ACTIVATION_LINEAR;
  else if (napi_get_value_int32(env, activation_value, &a) != napi_ok) a = -1;
  if (a != ACTIVATION_LINEAR && a != ACTIVATION_RELU && a != ACTIVATION_RELU6) {
    return "activation must be 0 (linear), 1 (relu) or 2 (relu6)";
  }
  size_t len_bias = 0;
  *bias = bias_type == napi_null ? NULL : float32_argument(env, bias_value, &len_bias);
  if (bias_type != napi_null && (!*bias || len_bias != channels)) return "bias must hold exactly `channels` floats, or be null";
  *activation = a;
  return NULL;
}

/* (a, b, out, geometry) with expected element counts of each array for the given kernel; the
 * forward also takes (..., bias | null, activation), its fused epilogue. */
static napi_value run(napi_env env, napi_callback_info info, conv_fn fn, const char *name, int a_is_output_sized,
                      int b_is_output_sized, int out_kind) {
  size_t argc = 6;
  napi_value args[6];
  const int fusable = fn == conv2d_forward;
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || !(argc == 4 || (fusable && argc == 6))) {
    return fail(env, fusable ? "expected (Float32Array x, Float32Array filter, Float32Array y, Int32Array geometry[, bias, activation])"
                             : "expected (Float32Array, Float32Array, Float32Array, Int32Array geometry)");
  }
  conv_geometry g;
  if (!geometry_argument(env, args[3], &g)) return fail(env, "geometry must be an Int32Array of 15 positive sizes");
  const size_t input = (size_t)g.n * g.h * g.w * g.cin;
  const size_t filter = (size_t)g.kh * g.kw * g.cin * g.cout;
  const size_t output = (size_t)g.n * g.oh * g.ow * g.cout;
  const size_t sizes[3] = {input, filter, output};
  const size_t want_a = a_is_output_sized ? output : input;
  const size_t want_b = b_is_output_sized ? output : filter;
  const size_t want_out = sizes[out_kind];
  size_t len_a = 0, len_b = 0, len_out = 0;
  const float *a = float32_argument(env, args[0], &len_a);
  const float *b = float32_argument(env, args[1], &len_b);
  float *out = float32_argument(env, args[2], &len_out);
  char message[200];
  if (!a || !b || !out || len_a != want_a || len_b != want_b || len_out != want_out) {
    snprintf(message, sizeof message, "%s: Float32Array lengths %zu, %zu, %zu do not match the geometry (%zu, %zu, %zu)",
             name, len_a, len_b, len_out, want_a, want_b, want_out);
    return fail(env, message);
  }
  const float *bias = NULL;
  int activation = ACTIVATION_LINEAR;
  if (argc == 6) {
    const char *problem = epilogue_arguments(env, args[4], args[5], (size_t)g.cout, &bias, &activation);
    if (problem) {
      snprintf(message, sizeof message, "%s: %s", name, problem);
      return fail(env, message);
    }
  }
  const int failed = argc == 6 ? conv2d_forward_fused(&g, a, b, bias, activation, out) : fn(&g, a, b, out);
  if (failed != 0) {
    snprintf(message, sizeof message, "%s: out of memory for the patch matrix", name);
    return fail(env, message);
  }
  return NULL;
}

static napi_value forward(napi_env env, napi_callback_info info) {
  return run(env, info, conv2d_forward, "conv2dForward", 0, 0, 2);
}

static napi_value filter_gradient(napi_env env, napi_callback_info info) {
  /* (x, dy) -> dfilter: dy is output-sized in the second slot. */
  return run(env, info, conv2d_filter_gradient, "conv2dFilterGradient", 0, 1, 1);
}

/* Depthwise (a, filter, out, geometry): forward (x -> y) or input gradient (dy -> dx); the filter holds
 * kh * kw * cout values (cout = C * m). The input gradient may add (y, activation 1 | 2, guided): dx
 * then passes back through that activation, y being its output (input-shaped). */
static napi_value run_depthwise(napi_env env, napi_callback_info info, int gradient) {
  size_t argc = 7;
  napi_value args[7];
  const char *name = gradient ? "depthwiseInputGradient" : "depthwiseForward";
  char message[200];
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || !(argc == 4 || (gradient && argc == 7))) {
    return fail(env, "expected (Float32Array, Float32Array, Float32Array, Int32Array geometry), and for the input gradient optionally (Float32Array y, activation 1 | 2, guided)");
  }
  conv_geometry g;
  if (!geometry_argument(env, args[3], &g) || g.cout % g.cin != 0 || g.dh != 1 || g.dw != 1) {
    return fail(env, "geometry must be an Int32Array of 15 positive sizes, cout a multiple of cin, dilation 1");
  }
  const size_t input = (size_t)g.n * g.h * g.w * g.cin, output = (size_t)g.n * g.oh * g.ow * g.cout;
  const size_t filter = (size_t)g.kh * g.kw * g.cout;
  size_t len_a = 0, len_f = 0, len_out = 0;
  const float *a = float32_argument(env, args[0], &len_a);
  const float *f = float32_argument(env, args[1], &len_f);
  float *out = float32_argument(env, args[2], &len_out);
  const size_t want_a = gradient ? output : input, want_out = gradient ? input : output;
  if (!a || !f || !out || len_a != want_a || len_f != filter || len_out != want_out) {
    snprintf(message, sizeof message, "%s: Float32Array lengths %zu, %zu, %zu do not match the geometry (%zu, %zu, %zu)",
             name, len_a, len_f, len_out, want_a, filter, want_out);
    return fail(env, message);
  }
  activation_gate gate = {NULL, 0, 0};
  if (argc == 7) {
    size_t len_y = 0;
    bool guided = false;
    gate.y = float32_argument(env, args[4], &len_y);
    if (!gate.y || len_y != input || napi_get_value_int32(env, args[5], &gate.activation) != napi_ok ||
        napi_get_value_bool(env, args[6], &guided) != napi_ok || (gate.activation != ACTIVATION_RELU && gate.activation != ACTIVATION_RELU6)) {
      snprintf(message, sizeof message, "%s: the gate must be (Float32Array y of %zu values, activation 1 | 2, guided)", name, input);
      return fail(env, message);
    }
    gate.guided = guided;
  }
  if ((gradient ? depthwise_input_gradient(&g, a, f, out, argc == 7 ? &gate : NULL) : depthwise_forward(&g, a, f, out)) != 0) {
    snprintf(message, sizeof message, "%s: out of memory", name);
    return fail(env, message);
  }
  return NULL;
}

static napi_value depthwise_forward_binding(napi_env env, napi_callback_info info) { return run_depthwise(env, info, 0); }

static napi_value depthwise_input_gradient_binding(napi_env env, napi_callback_info info) { return run_depthwise(env, info, 1); }

static napi_value input_gradient(napi_env env, napi_callback_info info) {
  /* (dy, filter) -> dx. */
  return run(env, info, conv2d_input_gradient, "conv2dInputGradient", 1, 0, 0);
}

/* Reads `count` Float32Array arguments whose lengths must be rows*channels ('R') or channels ('C'). */
static int float32_arguments(napi_env env, napi_value *args, const char *kinds, long rows, int channels, float **out) {
  for (int i = 0; kinds[i]; i++) {
    size_t length = 0;
    out[i] = float32_argument(env, args[i], &length);
    const size_t want = kinds[i] == 'R' ? (size_t)rows * channels : (size_t)channels;
    if (!out[i] || length != want) return 0;
  }
  return 1;
}

/* Channels from gamma (argument `gamma_index`), rows from x (argument 0). */
static int batch_norm_shape(napi_env env, napi_value *args, int gamma_index, long *rows, int *channels) {
  size_t len_x = 0, len_gamma = 0;
  if (!float32_argument(env, args[0], &len_x) || !float32_argument(env, args[gamma_index], &len_gamma)) return 0;
  if (len_gamma == 0 || len_x % len_gamma != 0) return 0;
  *rows = (long)(len_x / len_gamma);
  *channels = (int)len_gamma;
  return 1;
}

/* (x, gamma, beta, epsilon, y, mean, variance, invStd). */
static napi_value batch_norm_train_binding(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value args[8];
  double epsilon = 0;
  long rows = 0;
  int channels = 0;
  float *a[8];
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc != 8 ||
      napi_get_value_double(env, args[3], &epsilon) != napi_ok || !batch_norm_shape(env, args, 1, &rows, &channels) ||
      !float32_arguments(env, args, "RCC", rows, channels, a) || !float32_arguments(env, args + 4, "RCCC", rows, channels, a + 4)) {
    return fail(env, "batchNormTrain expects Float32Arrays (x[M*C], gamma[C], beta[C]), epsilon, then y[M*C], mean[C], variance[C], invStd[C]");
  }
  if (batch_norm_train(a[0], rows, channels, a[1], a[2], (float)epsilon, a[4], a[5], a[6], a[7]) != 0) {
    return fail(env, "batchNormTrain: out of memory");
  }
  return NULL;
}

/* (x, dy, mean, invStd, gamma, dx, dgamma, dbeta). */
static napi_value batch_norm_gradient_binding(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value args[8];
  long rows = 0;
  int channels = 0;
  float *a[8];
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc != 8 ||
      !batch_norm_shape(env, args, 4, &rows, &channels) || !float32_arguments(env, args, "RRCCCRCC", rows, channels, a)) {
    return fail(env, "batchNormGradient expects Float32Arrays x[M*C], dy[M*C], mean[C], invStd[C], gamma[C], dx[M*C], dgamma[C], dbeta[C]");
  }
  if (batch_norm_gradient(a[0], a[1], rows, channels, a[2], a[3], a[4], a[5], a[6], a[7]) != 0) {
    return fail(env, "batchNormGradient: out of memory");
  }
  return NULL;
}

/* (y, bias or null, channels, activation 0 linear | 1 relu | 2 relu6, or a boolean relu): FusedConv2D's
 * epilogue, in place. */
static napi_value bias_activation(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value args[4];
  int32_t channels = 0;
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc != 4 ||
      napi_get_value_int32(env, args[2], &channels) != napi_ok || channels <= 0) {
    return fail(env, "addBiasActivation expects (Float32Array y, Float32Array | null bias, channels, activation)");
  }
  const float *bias = NULL;
  int activation = ACTIVATION_LINEAR;
  char message[200];
  const char *problem = epilogue_arguments(env, args[1], args[3], (size_t)channels, &bias, &activation);
  if (problem) {
    snprintf(message, sizeof message, "addBiasActivation: %s", problem);
    return fail(env, message);
  }
  size_t len_y = 0;
  float *y = float32_argument(env, args[0], &len_y);
  if (!y || len_y % (size_t)channels != 0) return fail(env, "addBiasActivation: y must hold whole rows of `channels` floats");
  add_bias_activation(y, (long)(len_y / channels), channels, bias, activation);
  return NULL;
}

/* (dy, y, dx, activation 0 | 1 | 2, guided): the gradient through a fused activation, one pass. */
static napi_value activation_gradient_binding(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value args[5];
  int32_t activation = -1;
  bool guided = false;
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc != 5 ||
      napi_get_value_int32(env, args[3], &activation) != napi_ok || napi_get_value_bool(env, args[4], &guided) != napi_ok ||
      activation < ACTIVATION_LINEAR || activation > ACTIVATION_RELU6) {
    return fail(env, "activationGradient expects (Float32Array dy, Float32Array y, Float32Array dx, activation 0 | 1 | 2, guided)");
  }
  size_t len_dy = 0, len_y = 0, len_dx = 0;
  const float *dy = float32_argument(env, args[0], &len_dy);
  const float *y = float32_argument(env, args[1], &len_y);
  float *dx = float32_argument(env, args[2], &len_dx);
  if (!dy || !y || !dx || len_y != len_dy || len_dx != len_dy) {
    return fail(env, "activationGradient: dy, y and dx must be Float32Arrays of one length");
  }
  activation_gradient(dy, y, dx, (long)len_dy, activation, guided);
  return NULL;
}

/* Threads the kernels may use when called from the calling JS thread (main thread or worker). The
 * kernels split their own work (parallel.c); OpenBLAS itself stays single-threaded, so its pool
 * never competes with them or with other workers. */
static napi_value set_threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg;
  int32_t threads = 1;
  if (napi_get_cb_info(env, info, &argc, &arg, NULL, NULL) != napi_ok || argc != 1 ||
      napi_get_value_int32(env, arg, &threads) != napi_ok || threads < 1) {
    return fail(env, "setThreads expects a positive integer");
  }
  openblas_set_num_threads(1);
  parallel_set_threads(threads);
  return NULL;
}

static napi_value get_threads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_create_int32(env, parallel_threads(), &result);
  return result;
}

static napi_value get_last_parts(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_create_int32(env, parallel_last_parts(), &result);
  return result;
}

/* (geometry): the kernel conv2dForward runs that convolution on: "winograd", "direct", "pointwise" or "im2col". */
static napi_value forward_kernel(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value args[1], result;
  conv_geometry g;
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc != 1 || !geometry_argument(env, args[0], &g)) {
    return fail(env, "forwardKernel expects an Int32Array geometry of 15 positive sizes");
  }
  napi_create_string_utf8(env, conv_kernel_name(conv2d_forward_kernel(&g)), NAPI_AUTO_LENGTH, &result);
  return result;
}

static napi_value blas_config(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_create_string_utf8(env, openblas_get_config(), NAPI_AUTO_LENGTH, &result);
  return result;
}

NAPI_MODULE_INIT() {
  const napi_property_descriptor methods[] = {
      {"conv2dForward", NULL, forward, NULL, NULL, NULL, napi_default, NULL},
      {"conv2dFilterGradient", NULL, filter_gradient, NULL, NULL, NULL, napi_default, NULL},
      {"conv2dInputGradient", NULL, input_gradient, NULL, NULL, NULL, napi_default, NULL},
      {"depthwiseForward", NULL, depthwise_forward_binding, NULL, NULL, NULL, napi_default, NULL},
      {"depthwiseInputGradient", NULL, depthwise_input_gradient_binding, NULL, NULL, NULL, napi_default, NULL},
      {"batchNormTrain", NULL, batch_norm_train_binding, NULL, NULL, NULL, napi_default, NULL},
      {"batchNormGradient", NULL, batch_norm_gradient_binding, NULL, NULL, NULL, napi_default, NULL},
      {"maxPool", NULL, max_pool_forward_binding, NULL, NULL, NULL, napi_default, NULL},
      {"maxPoolGradient", NULL, max_pool_gradient_binding, NULL, NULL, NULL, napi_default, NULL},
      {"avgPool", NULL, avg_pool_forward_binding, NULL, NULL, NULL, napi_default, NULL},
      {"avgPoolGradient", NULL, avg_pool_gradient_binding, NULL, NULL, NULL, napi_default, NULL},
      {"upsampleNormalise", NULL, upsample_normalise_binding, NULL, NULL, NULL, napi_default, NULL},
      {"addBiasActivation", NULL, bias_activation, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, set_threads, NULL, NULL, NULL, napi_default, NULL},
      {"threads", NULL, get_threads, NULL, NULL, NULL, napi_default, NULL},
      {"activationGradient", NULL, activation_gradient_binding, NULL, NULL, NULL, napi_default, NULL},
      {"lastParts", NULL, get_last_parts, NULL, NULL, NULL, napi_default, NULL},
      {"blasConfig", NULL, blas_config, NULL, NULL, NULL, napi_default, NULL},
      {"forwardKernel", NULL, forward_kernel, NULL, NULL, NULL, napi_default, NULL},
      {"broadcastBinary", NULL, broadcast_binary_binding, NULL, NULL, NULL, napi_default, NULL},
      {"batchMatMul", NULL, batch_matmul_binding, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof methods / sizeof methods[0], methods);
  return exports;
}

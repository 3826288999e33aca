/*
 * out = a (op) b where the shapes broadcast. tfjs-wasm's broadcasting binary kernels index every
 * element through the general shape arithmetic: a [1, 32, 32, 3] x [128, 32, 32, 1] Multiply (each of
 * Score-CAM's masked inputs on the shipped model) took 2.1 ms where a same-shape one takes 0.1 ms.
 * The plan (src/backend/broadcast-plan.ts) merges neighbouring dimensions that broadcast alike, so
 * the innermost loop runs over the longest contiguous stretch, with each side either a vector or
 * one value repeated.
 */
#include "broadcast.h"

#include "arguments.h"
#include "conv.h"
#include "parallel.h"

#include <stdio.h>

typedef struct {
  const broadcast_geometry *g;
  const float *a, *b;
  float *out;
} broadcast_call;

#define LOOP(expr)                                                                         \
  do {                                                                                     \
    if (sa && sb) for (int i = 0; i < inner; i++) o[i] = expr(x[i], y[i]);                \
    else if (sa) for (int i = 0; i < inner; i++) o[i] = expr(x[i], y0);                   \
    else for (int i = 0; i < inner; i++) o[i] = expr(x0, y[i]);                           \
  } while (0)
#define MUL(p, q) ((p) * (q))
#define ADD(p, q) ((p) + (q))
#define SUB(p, q) ((p) - (q))
#define DIV(p, q) ((p) / (q))

/* Output rows [from, to): a row is one run of the innermost dimension. */
VECTOR_CLONES static void broadcast_rows(const broadcast_call *c, long from, long to) {
  const broadcast_geometry *g = c->g;
  const int last = g->rank - 1, inner = g->shape[last];
  const long sa = g->a_stride[last], sb = g->b_stride[last];
  for (long row = from; row < to; row++) {
    /* The row's offsets in a and b, from its index over the outer dimensions. */
    long rest = row, offset_a = 0, offset_b = 0;
    for (int d = last - 1; d >= 0; d--) {
      const long index = rest % g->shape[d];
      rest /= g->shape[d];
      offset_a += index * g->a_stride[d];
      offset_b += index * g->b_stride[d];
    }
    const float *restrict x = c->a + offset_a, *restrict y = c->b + offset_b;
    const float x0 = x[0], y0 = y[0];
    float *restrict o = c->out + row * inner;
    switch (g->op) {
      case BROADCAST_MULTIPLY: LOOP(MUL); break;
      case BROADCAST_ADD: LOOP(ADD); break;
      case BROADCAST_SUBTRACT: LOOP(SUB); break;
      default: LOOP(DIV); break;
    }
  }
}

static void broadcast_part(int part, int parts, void *context) {
  const broadcast_call *c = context;
  long rows = 1;
  for (int d = 0; d < c->g->rank - 1; d++) rows *= c->g->shape[d];
  broadcast_rows(c, rows * part / parts, rows * (part + 1) / parts);
}

void broadcast_binary(const broadcast_geometry *g, const float *a, const float *b, float *out) {
  broadcast_call c = {g, a, b, out};
  long rows = 1;
  for (int d = 0; d < g->rank - 1; d++) rows *= g->shape[d];
  /* Memory-bound like the activation gradient: a part per core from about 10^5 values each. */
  parallel_run(parallel_parts(200.0 * rows * g->shape[g->rank - 1], rows), broadcast_part, &c);
}

/* The length a side must have: its strides are those of a dense array over its non-broadcast dims. */
static size_t side_length(const broadcast_geometry *g, const long *stride) {
  size_t length = 1;
  for (int d = 0; d < g->rank; d++)
    if (stride[d] != 0) length *= (size_t)g->shape[d];
  return length;
}

napi_value broadcast_binary_binding(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value args[4];
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc != 4) {
    return fail(env, "broadcastBinary expects (Float32Array a, Float32Array b, Float32Array out, Int32Array geometry)");
  }
  const int32_t *f = int32_fields(env, args[3], BROADCAST_GEOMETRY_FIELDS);
  if (!f) return fail(env, "broadcastBinary: geometry must be an Int32Array of 20 values");
  broadcast_geometry g = {f[0], f[1], {0}, {0}, {0}};
  if (g.op < 0 || g.op > BROADCAST_DIVIDE || g.rank < 1 || g.rank > BROADCAST_MAX_RANK) {
    return fail(env, "broadcastBinary: op must be 0-3 and rank 1-6");
  }
  for (int d = 0; d < g.rank; d++) {
    g.shape[d] = f[2 + d];
    g.a_stride[d] = f[2 + BROADCAST_MAX_RANK + d];
    g.b_stride[d] = f[2 + 2 * BROADCAST_MAX_RANK + d];
    if (g.shape[d] < 1 || g.a_stride[d] < 0 || g.b_stride[d] < 0) return fail(env, "broadcastBinary: sizes must be positive, strides >= 0");
  }
  /* The innermost dimension is read with stride 1 or 0 (broadcast); the outer ones are dense. */
  for (int d = g.rank - 1; d >= 0; d--) {
    long want_a = 1, want_b = 1;
    for (int e = d + 1; e < g.rank; e++) {
      if (g.a_stride[e] != 0) want_a *= g.shape[e];
      if (g.b_stride[e] != 0) want_b *= g.shape[e];
    }
    if ((g.a_stride[d] != 0 && g.a_stride[d] != want_a) || (g.b_stride[d] != 0 && g.b_stride[d] != want_b)) {
      return fail(env, "broadcastBinary: strides must be dense over the non-broadcast dimensions");
    }
  }
  size_t len_a = 0, len_b = 0, len_out = 0;
  const float *a = float32_argument(env, args[0], &len_a);
  const float *b = float32_argument(env, args[1], &len_b);
  float *out = float32_argument(env, args[2], &len_out);
  size_t want_out = 1;
  for (int d = 0; d < g.rank; d++) want_out *= (size_t)g.shape[d];
  if (!a || !b || !out || len_a != side_length(&g, g.a_stride) || len_b != side_length(&g, g.b_stride) || len_out != want_out) {
    char message[200];
    snprintf(message, sizeof message, "broadcastBinary: Float32Array lengths %zu, %zu, %zu do not match the geometry (%zu, %zu, %zu)",
             len_a, len_b, len_out, side_length(&g, g.a_stride), side_length(&g, g.b_stride), want_out);
    return fail(env, message);
  }
  broadcast_binary(&g, a, b, out);
  return NULL;
}

/*
 * tfjs's BatchMatMul on OpenBLAS. tfjs-wasm's own kernel measured 13 ms for 64 products of
 * [64 x 128] x [128 x 10] (the maps of Grad-CAM for all classes: each image's activations times its
 * rows' channel weights) against 1 ms for the same multiply-adds as one product. Each product
 * here is one SGEMM call; many small products are split over the cores by batch, one large one by
 * rows of C (a transposed A is read in place: its rows are A's columns).
 */
#include "matmul.h"

#include "arguments.h"
#include "parallel.h"

#include <cblas.h>
#include <stdio.h>

typedef struct {
  const matmul_geometry *g;
  const float *a, *b;
  float *c;
} matmul_call;

static void product_rows(const matmul_call *call, int index, int from, int to) {
  const matmul_geometry *g = call->g;
  const float *a = call->a + (size_t)(g->batch_a == 1 ? 0 : index) * g->m * g->k;
  const float *b = call->b + (size_t)(g->batch_b == 1 ? 0 : index) * g->k * g->n;
  float *c = call->c + (size_t)index * g->m * g->n + (size_t)from * g->n;
  a += g->transpose_a ? (size_t)from : (size_t)from * g->k;
  cblas_sgemm(CblasRowMajor, g->transpose_a ? CblasTrans : CblasNoTrans, g->transpose_b ? CblasTrans : CblasNoTrans,
              to - from, g->n, g->k, 1.0f, a, g->transpose_a ? g->m : g->k, b, g->transpose_b ? g->k : g->n, 0.0f, c,
              g->n);
}

static void by_batch(int part, int parts, void *context) {
  const matmul_call *call = context;
  const int from = (int)((long)call->g->batch * part / parts), to = (int)((long)call->g->batch * (part + 1) / parts);
  for (int i = from; i < to; i++) product_rows(call, i, 0, call->g->m);
}

static void by_rows(int part, int parts, void *context) {
  const matmul_call *call = context;
  const int from = (int)((long)call->g->m * part / parts), to = (int)((long)call->g->m * (part + 1) / parts);
  if (from < to) product_rows(call, 0, from, to);
}

void batch_matmul(const matmul_geometry *g, const float *a, const float *b, float *c) {
  matmul_call call = {g, a, b, c};
  const double work = (double)g->batch * g->m * g->n * g->k;
  if (g->batch > 1) parallel_run(parallel_parts(work, g->batch), by_batch, &call);
  else parallel_run(parallel_parts(work, g->m), by_rows, &call);
}

napi_value batch_matmul_binding(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value args[4];
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc != 4) {
    return fail(env, "batchMatMul expects (Float32Array a, Float32Array b, Float32Array c, Int32Array geometry)");
  }
  const int32_t *f = int32_fields(env, args[3], MATMUL_GEOMETRY_FIELDS);
  if (!f) return fail(env, "batchMatMul: geometry must be an Int32Array of 8 values");
  const matmul_geometry g = {f[0], f[1], f[2], f[3], f[4], f[5], f[6] != 0, f[7] != 0};
  if (g.batch < 1 || g.m < 1 || g.n < 1 || g.k < 1 || (g.batch_a != 1 && g.batch_a != g.batch) ||
      (g.batch_b != 1 && g.batch_b != g.batch)) {
    return fail(env, "batchMatMul: geometry needs positive sizes and batches of 1 or `batch`");
  }
  size_t len_a = 0, len_b = 0, len_c = 0;
  const float *a = float32_argument(env, args[0], &len_a);
  const float *b = float32_argument(env, args[1], &len_b);
  float *c = float32_argument(env, args[2], &len_c);
  const size_t want_a = (size_t)g.batch_a * g.m * g.k, want_b = (size_t)g.batch_b * g.k * g.n;
  const size_t want_c = (size_t)g.batch * g.m * g.n;
  if (!a || !b || !c || len_a != want_a || len_b != want_b || len_c != want_c) {
    char message[200];
    snprintf(message, sizeof message, "batchMatMul: Float32Array lengths %zu, %zu, %zu do not match the geometry (%zu, %zu, %zu)",
             len_a, len_b, len_c, want_a, want_b, want_c);
    return fail(env, message);
  }
  batch_matmul(&g, a, b, c);
  return NULL;
}

/* Batched matrix products (tfjs's BatchMatMul) on OpenBLAS; see matmul.c. */
#ifndef GRADCAM_MATMUL_H
#define GRADCAM_MATMUL_H

#include <node_api.h>

/* C[b] = op(A[b]) x op(B[b]) for b < batch; A (or B) with a batch of 1 is shared by every b. */
typedef struct {
  int batch, batch_a, batch_b; /* batch_a, batch_b: batch or 1 */
  int m, n, k;                 /* op(A) is m x k, op(B) k x n, C m x n */
  int transpose_a, transpose_b;
} matmul_geometry;

#define MATMUL_GEOMETRY_FIELDS 8

void batch_matmul(const matmul_geometry *g, const float *a, const float *b, float *c);

/* (a, b, c, Int32Array geometry of MATMUL_GEOMETRY_FIELDS, in the order above). */
napi_value batch_matmul_binding(napi_env env, napi_callback_info info);

#endif

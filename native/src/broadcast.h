/* Element-wise binary ops with broadcasting (tfjs's Multiply, Add, Sub, RealDiv); see broadcast.c. */
#ifndef GRADCAM_BROADCAST_H
#define GRADCAM_BROADCAST_H

#include <node_api.h>

#define BROADCAST_MAX_RANK 6
/* op, rank, then BROADCAST_MAX_RANK each of: output dims, a's strides, b's strides (0 where broadcast). */
#define BROADCAST_GEOMETRY_FIELDS (2 + 3 * BROADCAST_MAX_RANK)

enum { BROADCAST_MULTIPLY = 0, BROADCAST_ADD = 1, BROADCAST_SUBTRACT = 2, BROADCAST_DIVIDE = 3 };

typedef struct {
  int op, rank;
  int shape[BROADCAST_MAX_RANK];
  long a_stride[BROADCAST_MAX_RANK], b_stride[BROADCAST_MAX_RANK];
} broadcast_geometry;

void broadcast_binary(const broadcast_geometry *g, const float *a, const float *b, float *out);

/* (a, b, out, Int32Array geometry of BROADCAST_GEOMETRY_FIELDS). */
napi_value broadcast_binary_binding(napi_env env, napi_callback_info info);

#endif

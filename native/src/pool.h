/* Pooling gradients and their Node-API bindings; see pool.c. */
#ifndef GRADCAM_POOL_H
#define GRADCAM_POOL_H

#include <node_api.h>

#include "conv.h"

/* y = each window's mean over its taps inside the image (TensorFlow's AvgPool). */
void avg_pool_forward(const pool_geometry *g, const float *x, float *y);

/* dx[pixel] = sum over the windows covering it of dy / the window's taps inside the image (exact). */
void avg_pool_gradient(const pool_geometry *g, const float *dy, float *dx);

/* y = each window's maximum (tfjs's MaxPool: padding ignored). */
void max_pool_forward(const pool_geometry *g, const float *x, float *y);

napi_value max_pool_forward_binding(napi_env env, napi_callback_info info);
napi_value max_pool_gradient_binding(napi_env env, napi_callback_info info);
napi_value avg_pool_forward_binding(napi_env env, napi_callback_info info);
napi_value avg_pool_gradient_binding(napi_env env, napi_callback_info info);

#endif

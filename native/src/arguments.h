/* Argument helpers shared by the Node-API bindings. */
#ifndef GRADCAM_ARGUMENTS_H
#define GRADCAM_ARGUMENTS_H

#include <node_api.h>
#include <stdint.h>

/* Throws a JS error (code GRADCAM_NATIVE_ARGUMENT) with `message`; returns NULL for the binding to return. */
napi_value fail(napi_env env, const char *message);

/* The float32 data and length of a Float32Array argument, or NULL. */
float *float32_argument(napi_env env, napi_value value, size_t *length);

/* The values of an Int32Array argument of exactly `fields` values (a geometry), or NULL. */
const int32_t *int32_fields(napi_env env, napi_value value, size_t fields);

#endif

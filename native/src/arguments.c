/* Argument helpers shared by the Node-API bindings. */
#include "arguments.h"

napi_value fail(napi_env env, const char *message) {
  napi_throw_error(env, "GRADCAM_NATIVE_ARGUMENT", message);
  return NULL;
}

/* The float32 data and length of a Float32Array argument, or NULL. */
float *float32_argument(napi_env env, napi_value value, size_t *length) {
  bool is_typed = false;
  napi_typedarray_type type;
  void *data = NULL;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return NULL;
  if (napi_get_typedarray_info(env, value, &type, length, &data, NULL, NULL) != napi_ok) return NULL;
  return type == napi_float32_array ? (float *)data : NULL;
}

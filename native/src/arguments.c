/* Argument helpers shared by the Node-API bindings. */
#include "arguments.h"

napi_value fail(napi_env env, const char *message) {
  napi_throw_error(env, "GRADCAM_NATIVE_ARGUMENT", message);
  return NULL;
}

/* The data and length of a typed array of `want` type, or NULL. */
static void *typed_argument(napi_env env, napi_value value, napi_typedarray_type want, size_t *length) {
  bool is_typed = false;
  napi_typedarray_type type;
  void *data = NULL;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return NULL;
  if (napi_get_typedarray_info(env, value, &type, length, &data, NULL, NULL) != napi_ok) return NULL;
  return type == want ? data : NULL;
}

float *float32_argument(napi_env env, napi_value value, size_t *length) {
  return typed_argument(env, value, napi_float32_array, length);
}

const int32_t *int32_fields(napi_env env, napi_value value, size_t fields) {
  size_t length = 0;
  const int32_t *data = typed_argument(env, value, napi_int32_array, &length);
  return data && length == fields ? data : NULL;
}

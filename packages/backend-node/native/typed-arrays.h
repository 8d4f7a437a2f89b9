// The data of a typed array of the wanted type, NULL for any other value (the lite entry points).
#pragma once
#include <node_api.h>

static inline void* regimes_typed_array(napi_env env, napi_value value, napi_typedarray_type want,
                                        size_t* length) {
  napi_typedarray_type type;
  void* data;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, value, &type, length, &data, &buffer, &offset) != napi_ok) return NULL;
  return type == want ? data : NULL;
}

// The data of a Float32Array, NULL for any other value. An empty one gives a valid pointer: it may
// have no data pointer of its own.
static inline float* regimes_float32s(napi_env env, napi_value value, size_t* length) {
  static float empty[1];
  napi_typedarray_type type;
  void* data;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, value, &type, length, &data, &buffer, &offset) != napi_ok ||
      type != napi_float32_array)
    return NULL;
  return *length == 0 ? empty : (float*)data;
}

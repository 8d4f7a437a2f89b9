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

// A minimal N-API addon: row-major single-precision GEMM through the system's CBLAS (OpenBLAS).
// sgemm(transA, transB, m, n, k, a, aOffset, b, bOffset, out, outOffset): out = op(A)·op(B),
// op(A) m×k and op(B) k×n, all Float32Array views; offsets in elements (batched products).
#include <cblas.h>
#include <node_api.h>
#include <stdbool.h>

#define CHECK(call)                                                     \
  if ((call) != napi_ok) {                                              \
    napi_throw_error(env, NULL, "regimes_blas: bad arguments to sgemm"); \
    return NULL;                                                        \
  }

static float* floats(napi_env env, napi_value value, size_t* length) {
  napi_typedarray_type type;
  void* data;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, value, &type, length, &data, &buffer, &offset) != napi_ok) return NULL;
  if (type != napi_float32_array) return NULL;
  return (float*)data;
}

static napi_value sgemm(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value args[11];
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc != 11) {
    napi_throw_error(env, NULL, "regimes_blas: sgemm takes 11 arguments");
    return NULL;
  }
  bool transA, transB;
  int32_t m, n, k, aOffset, bOffset, outOffset;
  CHECK(napi_get_value_bool(env, args[0], &transA));
  CHECK(napi_get_value_bool(env, args[1], &transB));
  CHECK(napi_get_value_int32(env, args[2], &m));
  CHECK(napi_get_value_int32(env, args[3], &n));
  CHECK(napi_get_value_int32(env, args[4], &k));
  CHECK(napi_get_value_int32(env, args[6], &aOffset));
  CHECK(napi_get_value_int32(env, args[8], &bOffset));
  CHECK(napi_get_value_int32(env, args[10], &outOffset));
  size_t aLength, bLength, outLength;
  float* a = floats(env, args[5], &aLength);
  float* b = floats(env, args[7], &bLength);
  float* out = floats(env, args[9], &outLength);
  if (!a || !b || !out || m < 0 || n < 0 || k < 0 || (size_t)aOffset + (size_t)m * k > aLength ||
      (size_t)bOffset + (size_t)k * n > bLength || (size_t)outOffset + (size_t)m * n > outLength) {
    napi_throw_error(env, NULL, "regimes_blas: sgemm operands are not Float32Arrays of the stated sizes");
    return NULL;
  }
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, m, n, k, 1.0f,
              a + aOffset, transA ? m : k, b + bOffset, transB ? k : n, 0.0f, out + outOffset, n);
  return NULL;
}

static napi_value threads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_create_int32(env, openblas_get_num_threads(), &result);
  return result;
}

static napi_value config(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_create_string_utf8(env, openblas_get_config(), NAPI_AUTO_LENGTH, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"sgemm", NULL, sgemm, NULL, NULL, NULL, napi_default, NULL},
      {"threads", NULL, threads, NULL, NULL, NULL, napi_default, NULL},
      {"config", NULL, config, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, 3, properties);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

// regimes' own Cholesky and triangular solves over regimes_sgemm (gemm.c), for the addon built
// without OpenBLAS: numerics' host LAPACK (kernel ridge in host memory) then exists there too.
// Row-major, lower triangular, float32 storage. The factorization is right-looking and blocked:
// each 128×128 diagonal block is factored and inverted in float64, the panel below it is
// A21·L11⁻ᵀ by one SGEMM, and the trailing update A22 −= L21·L21ᵀ runs as SGEMMs over tiles of
// 512 rows (their lower part only). The triangular solves are substitutions (memory-bound: the
// right-hand sides are few columns).
#include <math.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "gemm.h"
#include "lapack-lite.h"
#include "typed-arrays.h"

#define NB 128
#define TILE 512

// In place, L of A + shift·I (A's lower triangle at a, n×n, row stride n); upper triangle zeroed.
// Returns 0, k > 0 when the leading k×k minor is not positive definite, −1000 when out of memory.
static int lite_potrf(int n, float* a, double shift) {
  const size_t N = (size_t)n;
  for (size_t i = 0; i < N; i++) a[i * N + i] += (float)shift;
  double* block = malloc(sizeof(double) * NB * NB);
  double* inverse = malloc(sizeof(double) * NB * NB);
  float* inverseT = malloc(sizeof(float) * NB * NB);
  float* panel = malloc(sizeof(float) * N * NB);   // A21 packed, rows × b
  float* lower = malloc(sizeof(float) * N * NB);   // L21 packed
  float* tile = malloc(sizeof(float) * TILE * N);  // one tile of L21·L21ᵀ
  int status = 0;
  if (!block || !inverse || !inverseT || !panel || !lower || !tile) status = -1000;
  for (int k = 0; k < n && status == 0; k += NB) {
    const int b = n - k < NB ? n - k : NB;
    const size_t K = (size_t)k;
    // 1. the diagonal block in float64: L11, then L11⁻¹
    for (int i = 0; i < b; i++)
      for (int j = 0; j <= i; j++) block[i * NB + j] = a[(K + i) * N + K + j];
    for (int j = 0; j < b && status == 0; j++) {
      double d = block[j * NB + j];
      for (int p = 0; p < j; p++) d -= block[j * NB + p] * block[j * NB + p];
      if (!(d > 0)) {
        status = k + j + 1;
        break;
      }
      d = sqrt(d);
      block[j * NB + j] = d;
      for (int i = j + 1; i < b; i++) {
        double s = block[i * NB + j];
        for (int p = 0; p < j; p++) s -= block[i * NB + p] * block[j * NB + p];
        block[i * NB + j] = s / d;
      }
    }
    if (status) break;
    for (int j = 0; j < b; j++) {
      inverse[j * NB + j] = 1 / block[j * NB + j];
      for (int i = j + 1; i < b; i++) {
        double s = 0;
        for (int p = j; p < i; p++) s += block[i * NB + p] * inverse[p * NB + j];
        inverse[i * NB + j] = -s / block[i * NB + i];
      }
    }
    for (int i = 0; i < b; i++)
      for (int j = 0; j < b; j++) {
        if (j <= i) a[(K + i) * N + K + j] = (float)block[i * NB + j];
        // L11⁻ᵀ as a dense b×b (row i, column j = (L11⁻¹)_ji)
        inverseT[i * b + j] = j >= i ? (float)inverse[j * NB + i] : 0.0f;
      }
    const int rows = n - k - b;
    if (rows == 0) break;
    const size_t R = (size_t)rows, B = (size_t)b, S = K + B;
    // 2. L21 = A21·L11⁻ᵀ
    for (size_t i = 0; i < R; i++) memcpy(panel + i * B, a + (S + i) * N + K, sizeof(float) * B);
    if (regimes_sgemm(0, 0, rows, b, b, panel, inverseT, lower) != 0) {
      status = -1000;
      break;
    }
    for (size_t i = 0; i < R; i++) memcpy(a + (S + i) * N + K, lower + i * B, sizeof(float) * B);
    // 3. A22 −= L21·L21ᵀ, lower triangle, a tile of rows at a time: rows r0..r0+t against 0..r0+t
    for (int r0 = 0; r0 < rows; r0 += TILE) {
      const int t = rows - r0 < TILE ? rows - r0 : TILE;
      const int cols = r0 + t;
      if (regimes_sgemm(0, 1, t, cols, b, lower + (size_t)r0 * B, lower, tile) != 0) {
        status = -1000;
        break;
      }
      for (int i = 0; i < t; i++) {
        float* row = a + (S + r0 + i) * N + S;
        const float* w = tile + (size_t)i * cols;
        for (int j = 0; j <= r0 + i; j++) row[j] -= w[j];
      }
    }
  }
  if (status == 0)
    for (size_t i = 0; i < N; i++) memset(a + i * N + i + 1, 0, sizeof(float) * (N - 1 - i));
  free(block);
  free(inverse);
  free(inverseT);
  free(panel);
  free(lower);
  free(tile);
  return status;
}

// In place, b := L⁻¹b (L⁻ᵀb when transpose); L m×m lower at l with row stride ldl, b m×c.
static int lite_trsm(bool transpose, int m, int c, const float* l, size_t ldl, float* b) {
  double* acc = malloc(sizeof(double) * (size_t)(c > 0 ? c : 1));
  if (!acc) return -1000;
  const size_t C = (size_t)c;
  if (!transpose) {
    for (int i = 0; i < m; i++) {
      const float* row = l + (size_t)i * ldl;
      for (int q = 0; q < c; q++) acc[q] = b[(size_t)i * C + q];
      for (int p = 0; p < i; p++)
        for (int q = 0; q < c; q++) acc[q] -= (double)row[p] * b[(size_t)p * C + q];
      for (int q = 0; q < c; q++) b[(size_t)i * C + q] = (float)(acc[q] / row[i]);
    }
  } else {
    // Lᵀx = b from the last row up; row i of L scatters x_i into the rows above
    for (int i = m - 1; i >= 0; i--) {
      const float* row = l + (size_t)i * ldl;
      for (int q = 0; q < c; q++) b[(size_t)i * C + q] /= row[i];
      for (int p = 0; p < i; p++)
        for (int q = 0; q < c; q++) b[(size_t)p * C + q] -= row[p] * b[(size_t)i * C + q];
    }
  }
  free(acc);
  return 0;
}

static float* lite_floats(napi_env env, napi_value value, size_t* length) {
  return regimes_typed_array(env, value, napi_float32_array, length);
}

// potrf(n, a, aOffset, shift), as the OpenBLAS build's.
napi_value regimes_lite_potrf(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value args[4];
  int32_t n, offset;
  double shift;
  size_t length;
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc != 4 ||
      napi_get_value_int32(env, args[0], &n) != napi_ok || napi_get_value_int32(env, args[2], &offset) != napi_ok ||
      napi_get_value_double(env, args[3], &shift) != napi_ok) {
    napi_throw_error(env, NULL, "regimes_blas: potrf(n, a, aOffset, shift)");
    return NULL;
  }
  float* a = lite_floats(env, args[1], &length);
  if (!a || n < 1 || offset < 0 || (size_t)offset + (size_t)n * n > length) {
    napi_throw_error(env, NULL, "regimes_blas: potrf operand is not a Float32Array of the stated size");
    return NULL;
  }
  napi_value result;
  napi_create_int32(env, lite_potrf(n, a + offset, shift), &result);
  return result;
}

// trsm(transpose, m, c, l, lOffset, ldl, b, bOffset), as the OpenBLAS build's.
napi_value regimes_lite_trsm(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value args[8];
  bool transpose;
  int32_t m, c, lOffset, ldl, bOffset;
  size_t lLength, bLength;
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc != 8 ||
      napi_get_value_bool(env, args[0], &transpose) != napi_ok || napi_get_value_int32(env, args[1], &m) != napi_ok ||
      napi_get_value_int32(env, args[2], &c) != napi_ok || napi_get_value_int32(env, args[4], &lOffset) != napi_ok ||
      napi_get_value_int32(env, args[5], &ldl) != napi_ok || napi_get_value_int32(env, args[7], &bOffset) != napi_ok) {
    napi_throw_error(env, NULL, "regimes_blas: trsm(transpose, m, c, l, lOffset, ldl, b, bOffset)");
    return NULL;
  }
  float* l = lite_floats(env, args[3], &lLength);
  float* b = lite_floats(env, args[6], &bLength);
  if (!l || !b || m < 0 || c < 0 || lOffset < 0 || bOffset < 0 || ldl < (m > 1 ? m : 1) ||
      (m > 0 && (size_t)lOffset + (size_t)(m - 1) * ldl + m > lLength) || (size_t)bOffset + (size_t)m * c > bLength) {
    napi_throw_error(env, NULL, "regimes_blas: trsm operands are not Float32Arrays of the stated sizes");
    return NULL;
  }
  if (m > 0 && c > 0 && lite_trsm(transpose, m, c, l + lOffset, (size_t)ldl, b + bOffset) != 0)
    napi_throw_error(env, NULL, "regimes_blas: trsm could not allocate its workspace");
  return NULL;
}

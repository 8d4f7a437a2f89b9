// Symmetric eigen-decomposition in float64 for the addon built without OpenBLAS (no LAPACK): the
// algorithm of numerics' host solver (host/tridiagonal-eigen.ts), compiled, ~3–5× its JavaScript
// speed on one core. numerics checks and scales the matrix and sorts nothing: this file decomposes
// a finite, scaled lower triangle and returns the eigenvalues in descending order with their
// eigenvectors as columns.
#include <float.h>
#include <math.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "eigen-lite.h"
#include "gemm.h"
#include "typed-arrays.h"

#define SUFFIX _base
#define TARGET
#include "eigen-lite-body.h"
#undef SUFFIX
#undef TARGET

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SUFFIX _avx2
#define TARGET __attribute__((target("avx2,fma")))
#include "eigen-lite-body.h"
#undef SUFFIX
#undef TARGET
#define HAVE_AVX2_BUILD 1
#endif

typedef int (*solver_fn)(int, double*, double*, double*, double*, double*, double*);

static solver_fn chosen(void) {
#ifdef HAVE_AVX2_BUILD
  // the same switch as gemm.c's: REGIMES_GEMM_PORTABLE=1 keeps the baseline code
  if (regimes_use_avx2()) return solve_avx2;
#endif
  return solve_base;
}

// Eigenvalues in descending order, ties by index (as numerics' JavaScript sort, which is stable):
// no state outside the call, so concurrent calls from worker threads are safe.
typedef struct {
  double value;
  int index;
} ranked;
static int descending(const void* x, const void* y) {
  const ranked* a = x;
  const ranked* b = y;
  if (a->value != b->value) return a->value > b->value ? -1 : 1;
  return (a->index > b->index) - (a->index < b->index);
}

// w (m×m, row-major, lower triangle read; overwritten), values (m), vectors (m×m, column j the
// eigenvector of values[j]). Returns 0, −1 for a non-finite entry of the lower triangle (QL would
// take a NaN for converged), −1000 when out of memory, l + 1 when QL did not converge.
static int lite_syev(int m, double* w, double* values, double* vectors) {
  const size_t M = (size_t)m;
  for (size_t i = 0; i < M; i++)
    for (size_t j = 0; j <= i; j++)
      if (!isfinite(w[i * M + j])) return -1;
  double* d = malloc(sizeof(double) * M);
  double* e = malloc(sizeof(double) * M);
  double* beta = malloc(sizeof(double) * M);
  double* p = malloc(sizeof(double) * M);
  double* z = malloc(sizeof(double) * M * M);
  ranked* order = malloc(sizeof(ranked) * M);
  int status = (!d || !e || !beta || !p || !z || !order) ? -1000 : chosen()(m, w, d, e, beta, p, z);
  if (status == 0) {
    for (int i = 0; i < m; i++) order[i] = (ranked){d[i], i};
    qsort(order, M, sizeof(ranked), descending);
    for (size_t to = 0; to < M; to++) {
      const double* row = z + (size_t)order[to].index * M;
      values[to] = order[to].value;
      for (size_t k = 0; k < M; k++) vectors[k * M + to] = row[k];
    }
  }
  free(d);
  free(e);
  free(beta);
  free(p);
  free(z);
  free(order);
  return status;
}

static double* lite_doubles(napi_env env, napi_value value, size_t* length) {
  return regimes_typed_array(env, value, napi_float64_array, length);
}

// hostSyev(m, w, values, vectors): Float64Arrays of m², m and m² entries.
napi_value regimes_lite_syev(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value args[4];
  int32_t m;
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc != 4 ||
      napi_get_value_int32(env, args[0], &m) != napi_ok) {
    napi_throw_error(env, NULL, "regimes_blas: hostSyev(m, w, values, vectors)");
    return NULL;
  }
  size_t wLength, valuesLength, vectorsLength;
  double* w = lite_doubles(env, args[1], &wLength);
  double* values = lite_doubles(env, args[2], &valuesLength);
  double* vectors = lite_doubles(env, args[3], &vectorsLength);
  const size_t M = m > 0 ? (size_t)m : 0;
  if (!w || !values || !vectors || m < 1 || wLength < M * M || valuesLength < M || vectorsLength < M * M) {
    napi_throw_error(env, NULL, "regimes_blas: hostSyev operands are not Float64Arrays of the stated sizes");
    return NULL;
  }
  napi_value result;
  napi_create_int32(env, lite_syev(m, w, values, vectors), &result);
  return result;
}

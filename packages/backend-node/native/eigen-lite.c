// Symmetric eigen-decomposition in float64 for the addon built without OpenBLAS (no LAPACK), and for
// its WebAssembly build (eigen-wasm.c): Householder tridiagonalization in panels, then, where
// numerics' host solver (host/tridiagonal-eigen.ts) runs QL over the whole matrix, divide and
// conquer with its products in float64, as LAPACK's dsyevd (eigen-lite-body.h). numerics checks and
// scales the matrix and sorts nothing: this file decomposes a finite, scaled lower triangle and
// returns the eigenvalues in descending order with their eigenvectors as columns.
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "gemm.h"
#ifndef REGIMES_EIGEN_WASM
#include <node_api.h>
#include "eigen-lite.h"
#include "typed-arrays.h"
#endif

// ---- what both builds of the solver share (eigen-lite-body.h) ----

#define DC_LEAF 32          // blocks up to this size are solved by QL
#define DC_NB 32            // columns per panel of the reduction
#define DC_BACK_NB 64       // reflectors per block of the back-transformation
#define DC_MR 4             // the float64 product's register block, rows × columns
#define DC_NR 8
#define DC_MC 64            // its packed blocks: rows of A, depth, columns of B
#define DC_KC 256
#define DC_NC 1024
#define DC_THREAD_FLOPS 4e6 // a product gets a thread per this many flops, up to regimes_gemm_threads()

#define DC_SYMV_THREADED 512 // trailing size from which the reduction's products with v use threads
#define DC_MAX_THREADS 16
#define DC_UPDATE_ROWS 256  // rows per product of the reduction's trailing update

typedef struct {
  const double* w;
  int m;
  const double* v;
  int k1, from, to;
  double* p;
} DcSymv;

// the vectors of each build (VEC, VW lanes; VECU for loads and stores at any double)
typedef double v2d __attribute__((vector_size(16)));
typedef double v2du __attribute__((vector_size(16), aligned(8)));
typedef double v4d __attribute__((vector_size(32)));
typedef double v4du __attribute__((vector_size(32), aligned(8)));

typedef struct {
  int m, n, k;
  const double* a;
  int lda;
  const double* b;
  int ldb;
  double* c;
  int ldc, accumulate;
  volatile int failed;
} DcProduct;

// A value and its index, sorted by value with ties in index order: ascending for the merges
// (eigen-lite-body.h), descending for the output (as numerics' JavaScript sort, which is stable).
// No state outside the call, so concurrent calls from worker threads are safe.
typedef struct {
  double value;
  int index;
} ranked;

static int by_value(const ranked* a, const ranked* b, int sign) {
  if (a->value != b->value) return a->value < b->value ? -sign : sign;
  return (a->index > b->index) - (a->index < b->index);
}
static int dc_ascending(const void* x, const void* y) { return by_value(x, y, 1); }
static int descending(const void* x, const void* y) { return by_value(x, y, -1); }

// scratch for every merge of an m×m problem (a merge of size s uses the first s or s² entries)
typedef struct {
  double *z, *delta, *w, *zhat, *offset, *rows, *u;
  int *type, *kept, *origin, *position;
  ranked* order;
} DcWork;

static void dc_free(DcWork* wk) {
  free(wk->z);
  free(wk->delta);
  free(wk->w);
  free(wk->zhat);
  free(wk->offset);
  free(wk->rows);
  free(wk->u);
  free(wk->type);
  free(wk->kept);
  free(wk->origin);
  free(wk->position);
  free(wk->order);
}

static int dc_work(DcWork* wk, int m) {
  const size_t M = (size_t)m;
  wk->z = malloc(sizeof(double) * M);
  wk->delta = malloc(sizeof(double) * M);
  wk->w = malloc(sizeof(double) * M);
  wk->zhat = malloc(sizeof(double) * M);
  wk->offset = malloc(sizeof(double) * M);
  wk->rows = malloc(sizeof(double) * M * M);
  wk->u = malloc(sizeof(double) * M * M);
  wk->type = malloc(sizeof(int) * M);
  wk->kept = malloc(sizeof(int) * M);
  wk->origin = malloc(sizeof(int) * M);
  wk->position = malloc(sizeof(int) * M);
  wk->order = malloc(sizeof(ranked) * M);
  const int ok = wk->z && wk->delta && wk->w && wk->zhat && wk->offset && wk->rows && wk->u &&
                 wk->type && wk->kept && wk->origin && wk->position && wk->order;
  return ok ? 0 : -1000;
}

#define SUFFIX _base
#define TARGET
#define VEC v2d
#define VECU v2du
#define VW 2
#include "eigen-lite-body.h"
#undef SUFFIX
#undef TARGET
#undef VEC
#undef VECU
#undef VW

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SUFFIX _avx2
#define TARGET __attribute__((target("avx2,fma")))
#define VEC v4d
#define VECU v4du
#define VW 4
#include "eigen-lite-body.h"
#undef SUFFIX
#undef TARGET
#undef VEC
#undef VECU
#undef VW
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

// w (m×m, row-major, lower triangle read; overwritten), values (m), vectors (m×m, column j the
// eigenvector of values[j]; also the solver's working array, so no m×m array of its own). Returns
// 0, −1 for a non-finite entry of the lower triangle (QL would take a NaN for converged), −1000 when
// out of memory, l + 1 when QL did not converge on a leaf.
static int lite_syev(int m, double* w, double* values, double* vectors) {
  const size_t M = (size_t)m;
  for (size_t i = 0; i < M; i++)
    for (size_t j = 0; j <= i; j++)
      if (!isfinite(w[i * M + j])) return -1;
  double* d = malloc(sizeof(double) * M);
  double* e = malloc(sizeof(double) * M);
  double* beta = malloc(sizeof(double) * M);
  double* p = malloc(sizeof(double) * M);
  ranked* order = malloc(sizeof(ranked) * M);
  // the solver leaves eigenvector j as row j of `vectors`; rows sorted and transposed in place
  int status = (!d || !e || !beta || !p || !order) ? -1000 : chosen()(m, w, d, e, beta, p, vectors);
  if (status == 0) {
    for (int i = 0; i < m; i++) order[i] = (ranked){d[i], i};
    qsort(order, M, sizeof(ranked), descending);
    // row j ← row order[j].index, by cycles through one spare row (p, free now, and e marks
    // the rows placed)
    for (size_t j = 0; j < M; j++) {
      values[j] = order[j].value;
      e[j] = 0;
    }
    for (size_t start = 0; start < M; start++) {
      if (e[start] != 0 || (size_t)order[start].index == start) continue;
      memcpy(p, vectors + start * M, sizeof(double) * M);
      size_t at = start;
      for (;;) {
        const size_t from = (size_t)order[at].index;
        e[at] = 1;
        if (from == start) {
          memcpy(vectors + at * M, p, sizeof(double) * M);
          break;
        }
        memcpy(vectors + at * M, vectors + from * M, sizeof(double) * M);
        at = from;
      }
    }
    for (size_t i = 0; i < M; i++)
      for (size_t k = i + 1; k < M; k++) {
        const double t = vectors[i * M + k];
        vectors[i * M + k] = vectors[k * M + i];
        vectors[k * M + i] = t;
      }
  }
  free(d);
  free(e);
  free(beta);
  free(p);
  free(order);
  return status;
}

#ifndef REGIMES_EIGEN_WASM
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
#else
// the WebAssembly build (eigen-wasm.c): the same entry, on pointers into its memory
int regimes_wasm_syev(int m, double* w, double* values, double* vectors) {
  return lite_syev(m, w, values, vectors);
}
#endif

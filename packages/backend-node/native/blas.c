// A minimal N-API addon for the `native` backend: matrix products on the system's OpenBLAS (CBLAS,
// and the LAPACK it exports) when built with REGIMES_OPENBLAS, else on regimes' own SGEMM (gemm.c).
// The LAPACK entry points (syevd, potrf, trsm) exist only in the OpenBLAS build.
// sgemm(transA, transB, m, n, k, a, aOffset, b, bOffset, out, outOffset): out = op(A)·op(B),
// op(A) m×k and op(B) k×n, all Float32Array views; offsets in elements (batched products).
// syevd(double, n, a, aOffset, values, valuesOffset, vectors, vectorsOffset): eigen-decomposition of
// the symmetric n×n row-major float32 matrix whose lower triangle (diagonal included) is at a;
// eigenvalues in descending order, eigenvectors as the columns of the row-major n×n `vectors`.
// LAPACK's divide and conquer (ssyevd_, or dsyevd_ on a float64 copy when `double` is true).
#include <node_api.h>
#include "gemm.h"
#include "lapack-lite.h"
#include "eigen-lite.h"
#include "relu-dual.h"
#include "mehler-series.h"
#include "huge-pages.h"
#include "typed-arrays.h"
#ifdef REGIMES_OPENBLAS
#include <cblas.h>
#endif
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(call)                                                     \
  if ((call) != napi_ok) {                                              \
    napi_throw_error(env, NULL, "regimes_blas: bad arguments to sgemm"); \
    return NULL;                                                        \
  }

#ifdef REGIMES_OPENBLAS
// Threads per call. OpenBLAS spreads a product over all its threads from about 64³ multiply-adds,
// far below the size where a second thread pays: on a 2-core AMD EPYC (OpenBLAS 0.3.21, 2026-12-02)
// 512×128×16 took 0.023 ms on one thread and 0.054 ms on two, 1024×512×16 0.21 ms against 0.33,
// 8192×64×64 0.68 against 0.99, while 256³ gained 1.43×, 2048²×16 1.47× and 1024³ 1.77×. A sweep of
// small cells on one process ran 19% slower with OpenBLAS's rule (72 cells: 6.4 s, 10.3 CPU s) than on
// one thread (5.1 s, 5.8 CPU s). So each call gets one thread unless it is large in every direction.
// A product with fewer than 4 rows, columns or k is memory-bound (one row, one column or k = 1 go
// to gemv.c, which follows the same rule with the cores regimes_gemm_threads gives): alone, two
// threads gained 1.75× at 4096×1×1024 and 1.78× at 4096×1×256, but inside a sweep whose training
// loops make 4096×1×256 products they cost 12% more CPU and 3% more time; from 2²² matrix entries
// (16 MB) they get all threads, which kept the bench's training step (4096×1×1024) as fast as before.
static int max_threads;     // what OpenBLAS started with (OPENBLAS_NUM_THREADS, else the cores)
static int current_threads; // what it is set to now

static void set_threads(int want) {
  if (want != current_threads) {
    openblas_set_num_threads(want);
    current_threads = want;
  }
}

// a product m×k by k×n (syrk: n = m)
static void threads_for_product(double m, double n, double k) {
  double mnk = m * n * k, least = m < n ? m : n;
  if (least < 4 || k < 4) {
    // matrix-vector or outer product: memory-bound, threads pay once the matrix is 2²² floats (16 MB)
    double streamed = least < 4 ? (m > n ? m : n) * k : m * n;
    set_threads(streamed >= 4194304.0 ? max_threads : 1);
    return;
  }
  bool large = least >= 128 && (mnk >= 67108864.0 || (k >= 64 && mnk >= 16777216.0));
  set_threads(large ? max_threads : 1);
}
#endif

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
  float* a = regimes_float32s(env, args[5], &aLength);
  float* b = regimes_float32s(env, args[7], &bLength);
  float* out = regimes_float32s(env, args[9], &outLength);
  if (!a || !b || !out || m < 0 || n < 0 || k < 0 || aOffset < 0 || bOffset < 0 || outOffset < 0 ||
      (size_t)aOffset + (size_t)m * k > aLength ||
      (size_t)bOffset + (size_t)k * n > bLength || (size_t)outOffset + (size_t)m * n > outLength) {
    napi_throw_error(env, NULL, "regimes_blas: sgemm operands are not Float32Arrays of the stated sizes");
    return NULL;
  }
  if (m == 0 || n == 0) return NULL;
  if (k == 0) {  // an empty sum (BLAS would reject its leading dimension of 0)
    memset(out + outOffset, 0, sizeof(float) * (size_t)m * n);
    return NULL;
  }
#ifdef REGIMES_OPENBLAS
  // a matrix-vector or outer product: gemv.c, as regimes_sgemm does for the other build (OpenBLAS
  // 0.3.21 runs them as a product padded to its kernel's width: 4096×1024 by a vector in 1.4–2.5 ms
  // against 0.25–0.5)
  if (regimes_vector_product(transA, transB, m, n, k, a + aOffset, b + bOffset, out + outOffset)) return NULL;
  threads_for_product(m, n, k);
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, m, n, k, 1.0f,
              a + aOffset, transA ? m : k, b + bOffset, transB ? k : n, 0.0f, out + outOffset, n);
#else
  if (regimes_sgemm(transA, transB, m, n, k, a + aOffset, b + bOffset, out + outOffset) != 0)
    napi_throw_error(env, NULL, "regimes_blas: sgemm could not allocate its packing buffers");
#endif
  return NULL;
}

// ssyrk(trans, n, k, a, aOffset, out, outOffset): out = aᵀa (trans: a k×n row-major) or aaᵀ (a n×k),
// the full symmetric n×n result — half the work of sgemm on the same operands (cblas_ssyrk on
// OpenBLAS, else regimes' own blocked product), the upper triangle mirrored from the lower.
static napi_value ssyrk(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value args[7];
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  bool trans;
  int32_t n, k, aOffset, outOffset;
  if (argc != 7 || napi_get_value_bool(env, args[0], &trans) != napi_ok ||
      napi_get_value_int32(env, args[1], &n) != napi_ok || napi_get_value_int32(env, args[2], &k) != napi_ok ||
      napi_get_value_int32(env, args[4], &aOffset) != napi_ok || napi_get_value_int32(env, args[6], &outOffset) != napi_ok) {
    napi_throw_error(env, NULL, "regimes_blas: ssyrk(trans, n, k, a, aOffset, out, outOffset)");
    return NULL;
  }
  size_t aLength, outLength;
  float* a = regimes_float32s(env, args[3], &aLength);
  float* out = regimes_float32s(env, args[5], &outLength);
  if (!a || !out || n < 0 || k < 0 || aOffset < 0 || outOffset < 0 || (size_t)aOffset + (size_t)n * k > aLength ||
      (size_t)outOffset + (size_t)n * n > outLength) {
    napi_throw_error(env, NULL, "regimes_blas: ssyrk operands are not Float32Arrays of the stated sizes");
    return NULL;
  }
  if (n == 0) return NULL;
  if (k == 0) {
    memset(out + outOffset, 0, sizeof(float) * (size_t)n * n);
    return NULL;
  }
#ifdef REGIMES_OPENBLAS
  threads_for_product(n, n, k);
  cblas_ssyrk(CblasRowMajor, CblasLower, trans ? CblasTrans : CblasNoTrans, n, k, 1.0f, a + aOffset, trans ? n : k,
              0.0f, out + outOffset, n);
  regimes_mirror_lower(n, out + outOffset);
#else
  if (regimes_ssyrk(trans, n, k, a + aOffset, out + outOffset) != 0)
    napi_throw_error(env, NULL, "regimes_blas: ssyrk could not allocate its packing buffers");
#endif
  return NULL;
}

#ifdef REGIMES_OPENBLAS
// LAPACK's Fortran symbols (exported by libopenblas); the trailing lengths of the character arguments
// are the gfortran calling convention.
extern void ssyevd_(const char* jobz, const char* uplo, const int* n, float* a, const int* lda, float* w,
                    float* work, const int* lwork, int* iwork, const int* liwork, int* info, size_t, size_t);
extern void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
                    double* work, const int* lwork, int* iwork, const int* liwork, int* info, size_t, size_t);

// Row-major lower triangle = column-major upper triangle: LAPACK is asked for uplo 'U'. The
// column-major eigenvectors (column j contiguous, ascending) are written back row-major, descending.
#define SYEVD_BODY(T, routine)                                                                        \
  {                                                                                                  \
    T* work_a = malloc(sizeof(T) * (size_t)n * n);                                                   \
    T* w = malloc(sizeof(T) * (size_t)n);                                                            \
    if (!work_a || !w) {                                                                             \
      free(work_a);                                                                                  \
      free(w);                                                                                       \
      return -1000;                                                                                  \
    }                                                                                                \
    for (size_t i = 0; i < (size_t)n * n; i++) work_a[i] = (T)a[i];                                  \
    int lwork = -1, liwork = -1, info = 0, iquery = 0;                                               \
    T query = 0;                                                                                     \
    routine("V", "U", &n, work_a, &n, w, &query, &lwork, &iquery, &liwork, &info, 1, 1);             \
    if (info == 0) {                                                                                 \
      lwork = (int)query + 1;                                                                        \
      liwork = iquery;                                                                               \
      T* work = malloc(sizeof(T) * (size_t)lwork);                                                   \
      int* iwork = malloc(sizeof(int) * (size_t)liwork);                                             \
      if (!work || !iwork)                                                                           \
        info = -1000;                                                                                \
      else                                                                                           \
        routine("V", "U", &n, work_a, &n, w, work, &lwork, iwork, &liwork, &info, 1, 1);             \
      free(work);                                                                                    \
      free(iwork);                                                                                   \
    }                                                                                                \
    if (info == 0)                                                                                   \
      for (int j = 0; j < n; j++) {                                                                  \
        int to = n - 1 - j;                                                                          \
        values[to] = (float)w[j];                                                                    \
        for (int i = 0; i < n; i++) vectors[(size_t)i * n + to] = (float)work_a[(size_t)j * n + i]; \
      }                                                                                              \
    free(work_a);                                                                                    \
    free(w);                                                                                         \
    return info;                                                                                     \
  }

static int syevd_float(int n, const float* a, float* values, float* vectors) SYEVD_BODY(float, ssyevd_)
static int syevd_double(int n, const float* a, float* values, float* vectors) SYEVD_BODY(double, dsyevd_)

static napi_value syevd(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value args[8];
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc != 8) {
    napi_throw_error(env, NULL, "regimes_blas: syevd takes 8 arguments");
    return NULL;
  }
  bool use_double;
  int32_t n, aOffset, valuesOffset, vectorsOffset;
  CHECK(napi_get_value_bool(env, args[0], &use_double));
  CHECK(napi_get_value_int32(env, args[1], &n));
  CHECK(napi_get_value_int32(env, args[3], &aOffset));
  CHECK(napi_get_value_int32(env, args[5], &valuesOffset));
  CHECK(napi_get_value_int32(env, args[7], &vectorsOffset));
  size_t aLength, valuesLength, vectorsLength;
  float* a = regimes_float32s(env, args[2], &aLength);
  float* values = regimes_float32s(env, args[4], &valuesLength);
  float* vectors = regimes_float32s(env, args[6], &vectorsLength);
  if (!a || !values || !vectors || n < 1 || aOffset < 0 || valuesOffset < 0 || vectorsOffset < 0 ||
      (size_t)aOffset + (size_t)n * n > aLength || (size_t)valuesOffset + (size_t)n > valuesLength ||
      (size_t)vectorsOffset + (size_t)n * n > vectorsLength) {
    napi_throw_error(env, NULL, "regimes_blas: syevd operands are not Float32Arrays of the stated sizes");
    return NULL;
  }
  set_threads(max_threads);  // not measured per size: OpenBLAS's own rule
  int status = use_double ? syevd_double(n, a + aOffset, values + valuesOffset, vectors + vectorsOffset)
                          : syevd_float(n, a + aOffset, values + valuesOffset, vectors + vectorsOffset);
  napi_value result;
  napi_create_int32(env, status, &result);
  return result;
}

extern void spotrf_(const char* uplo, const int* n, float* a, const int* lda, int* info, size_t);

// potrf(n, a, aOffset, shift): in place, the Cholesky factor L (A + shift·I = LLᵀ) of the symmetric
// n×n row-major float32 matrix whose lower triangle is at a; the strict upper triangle is zeroed.
// Returns LAPACK's info (0: success; k > 0: the leading k×k minor is not positive definite, and a
// holds a partial factorization).
static napi_value potrf(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value args[4];
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  int32_t n, offset;
  double shift;
  size_t length;
  if (argc != 4 || napi_get_value_int32(env, args[0], &n) != napi_ok ||
      napi_get_value_int32(env, args[2], &offset) != napi_ok || napi_get_value_double(env, args[3], &shift) != napi_ok) {
    napi_throw_error(env, NULL, "regimes_blas: potrf(n, a, aOffset, shift)");
    return NULL;
  }
  float* a = regimes_float32s(env, args[1], &length);
  if (!a || n < 1 || offset < 0 || (size_t)offset + (size_t)n * n > length) {
    napi_throw_error(env, NULL, "regimes_blas: potrf operand is not a Float32Array of the stated size");
    return NULL;
  }
  a += offset;
  for (size_t i = 0; i < (size_t)n; i++) a[i * n + i] += (float)shift;
  int status = 0;
  set_threads(n >= 384 ? max_threads : 1);  // 128: 0.35×, 256: 0.71×, 384: 1.05×, 1024: 2.1× on two threads
  spotrf_("U", &n, a, &n, &status, 1);  // row-major lower = column-major upper
  if (status == 0)
    for (size_t i = 0; i < (size_t)n; i++) memset(a + i * n + i + 1, 0, sizeof(float) * (n - 1 - i));
  napi_value result;
  napi_create_int32(env, status, &result);
  return result;
}

// trsm(transpose, m, c, l, lOffset, ldl, b, bOffset): in place, b := L⁻¹b (or L⁻ᵀb when transpose),
// L the m×m lower-triangular matrix at l with row stride ldl ≥ m (a trailing block of a larger
// factor), b m×c row-major.
static napi_value trsm(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value args[8];
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  bool transpose;
  int32_t m, c, lOffset, ldl, bOffset;
  size_t lLength, bLength;
  if (argc != 8 || napi_get_value_bool(env, args[0], &transpose) != napi_ok ||
      napi_get_value_int32(env, args[1], &m) != napi_ok || napi_get_value_int32(env, args[2], &c) != napi_ok ||
      napi_get_value_int32(env, args[4], &lOffset) != napi_ok || napi_get_value_int32(env, args[5], &ldl) != napi_ok ||
      napi_get_value_int32(env, args[7], &bOffset) != napi_ok) {
    napi_throw_error(env, NULL, "regimes_blas: trsm(transpose, m, c, l, lOffset, ldl, b, bOffset)");
    return NULL;
  }
  float* l = regimes_float32s(env, args[3], &lLength);
  float* b = regimes_float32s(env, args[6], &bLength);
  if (!l || !b || m < 0 || c < 0 || lOffset < 0 || bOffset < 0 || ldl < (m > 1 ? m : 1) ||
      (m > 0 && (size_t)lOffset + (size_t)(m - 1) * ldl + m > lLength) || (size_t)bOffset + (size_t)m * c > bLength) {
    napi_throw_error(env, NULL, "regimes_blas: trsm operands are not Float32Arrays of the stated sizes");
    return NULL;
  }
  // one right-hand side gains nothing from a second thread (1.00× at m = 1024), 32 gain 1.2–1.4×
  set_threads(m >= 256 && c >= 32 ? max_threads : 1);
  if (m > 0 && c > 0)
    cblas_strsm(CblasRowMajor, CblasLeft, CblasLower, transpose ? CblasTrans : CblasNoTrans, CblasNonUnit, m, c, 1.0f,
                l + lOffset, ldl, b + bOffset, c);
  return NULL;
}
#endif

#if defined(REGIMES_OPENBLAS) && defined(__x86_64__) && defined(__GNUC__)
// OpenBLAS built with DYNAMIC_ARCH (Debian's and Ubuntu's packages) picks its kernels from the CPU's
// family and model when it loads. Before 0.3.25 an Intel model missing from its table got the Prescott
// kernels (SSE3), whatever the CPU supports (OpenBLAS issue 4267, fixed by pull request 4268), and an
// AMD family it did not know got Barcelona's. On a 16-core "Intel(R) Xeon(R) Processor" VM with
// Debian's 0.3.21 (2026-12-04) that held GEMM 2048² at 193 GFLOP/s against numpy's (OpenBLAS 0.3.34)
// 860. retuneCore() runs OpenBLAS's own choice again with OPENBLAS_CORETYPE named from the features the
// CPU and the OS support, as 0.3.25 falls back: SkylakeX with AVX-512 F/CD/BW/DQ/VL, Haswell with AVX2
// and FMA, Sandybridge with AVX. It changes only a pre-AVX core on a CPU with AVX, leaves the
// environment as it found it, and must run before any product (the JavaScript loader calls it at once,
// unless the user set OPENBLAS_CORETYPE). It returns the core it replaced, or null. The two symbols are
// weak: an OpenBLAS built for one core has neither, and then nothing is done.
extern void gotoblas_dynamic_init(void) __attribute__((weak));
extern void gotoblas_dynamic_quit(void) __attribute__((weak));

static const char* feature_core(void) {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  if (__builtin_cpu_supports("avx")) return "Sandybridge";
  return NULL;
}

static napi_value retune_core(napi_env env, napi_callback_info info) {
  (void)info;
  static const char* const pre_avx[] = {"Unknown", "Katmai",   "Coppermine", "Northwood",    "Prescott",
                                        "Banias",  "Atom",     "Core2",      "Penryn",       "Dunnington",
                                        "Nehalem", "Nano",     "Athlon",     "Opteron",      "Opteron_SSE3",
                                        "Barcelona", "Bobcat"};
  napi_value result;
  napi_get_null(env, &result);
  const char* want = feature_core();
  if (gotoblas_dynamic_init == NULL || gotoblas_dynamic_quit == NULL || want == NULL) return result;
  char detected[32];
  snprintf(detected, sizeof detected, "%s", openblas_get_corename());
  bool old = false;
  for (size_t i = 0; i < sizeof pre_avx / sizeof pre_avx[0]; i++) old = old || strcmp(detected, pre_avx[i]) == 0;
  if (!old) return result;
  const char* set = getenv("OPENBLAS_CORETYPE");
  char* before = set != NULL ? strdup(set) : NULL;
  setenv("OPENBLAS_CORETYPE", want, 1);
  gotoblas_dynamic_quit();
  gotoblas_dynamic_init();
  if (before != NULL) {
    setenv("OPENBLAS_CORETYPE", before, 1);
    free(before);
  } else {
    unsetenv("OPENBLAS_CORETYPE");
  }
  napi_create_string_utf8(env, detected, NAPI_AUTO_LENGTH, &result);
  return result;
}
#endif

static napi_value threads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
#ifdef REGIMES_OPENBLAS
  napi_create_int32(env, max_threads, &result);
#else
  napi_create_int32(env, regimes_gemm_threads(), &result);
#endif
  return result;
}

static napi_value config(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
#ifdef REGIMES_OPENBLAS
  napi_create_string_utf8(env, openblas_get_config(), NAPI_AUTO_LENGTH, &result);
#else
  char text[96];
  snprintf(text, sizeof text, "regimes SGEMM (%s kernel)", regimes_gemm_kernel());
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &result);
#endif
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value openblas;
#ifdef REGIMES_OPENBLAS
  max_threads = current_threads = openblas_get_num_threads();
  napi_get_boolean(env, true, &openblas);
#else
  napi_get_boolean(env, false, &openblas);
#endif
  napi_property_descriptor properties[] = {
      {"sgemm", NULL, sgemm, NULL, NULL, NULL, napi_default, NULL},
      {"ssyrk", NULL, ssyrk, NULL, NULL, NULL, napi_default, NULL},
      {"threads", NULL, threads, NULL, NULL, NULL, napi_default, NULL},
      {"config", NULL, config, NULL, NULL, NULL, napi_default, NULL},
      {"reluDual", NULL, regimes_relu_dual, NULL, NULL, NULL, napi_default, NULL},
      {"reluDualShifted", NULL, regimes_relu_dual_shifted, NULL, NULL, NULL, napi_default, NULL},
      {"correlation", NULL, regimes_correlation, NULL, NULL, NULL, napi_default, NULL},
      {"mehlerSeries", NULL, regimes_mehler_series, NULL, NULL, NULL, napi_default, NULL},
      {"blockCholeskyInverse", NULL, regimes_block_cholesky_inverse, NULL, NULL, NULL, napi_default, NULL},
      {"adviseHugePages", NULL, regimes_advise_huge_pages, NULL, NULL, NULL, napi_default, NULL},
      {"openblas", NULL, NULL, NULL, NULL, openblas, napi_enumerable, NULL},
#ifdef REGIMES_OPENBLAS
      {"syevd", NULL, syevd, NULL, NULL, NULL, napi_default, NULL},
      {"potrf", NULL, potrf, NULL, NULL, NULL, napi_default, NULL},
      {"trsm", NULL, trsm, NULL, NULL, NULL, napi_default, NULL},
#if defined(__x86_64__) && defined(__GNUC__)
      {"retuneCore", NULL, retune_core, NULL, NULL, NULL, napi_default, NULL},
#endif
#else
      {"hostPotrf", NULL, regimes_lite_potrf, NULL, NULL, NULL, napi_default, NULL},
      {"hostTrsm", NULL, regimes_lite_trsm, NULL, NULL, NULL, napi_default, NULL},
      {"hostSyev", NULL, regimes_lite_syev, NULL, NULL, NULL, napi_default, NULL},
#endif
  };
  napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

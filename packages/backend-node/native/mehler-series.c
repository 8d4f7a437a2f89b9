// The series of the deep kernels' Mehler path, the kernel numerics names `RegimesMehlerSeries`: for
// a (m×K), b (K×n) and t (m×n), row-major float32,
//   S_ij = t_ij^offset · Σ_{k<K} a_ik b_kj u_ij^k,   u = t (step 1) or t² (step 2),
// by Horner in u in float64, each entry rounded once to float32 (as backend-node's tfjs ops fallback
// is not: it rounds every step). Columns in blocks of 64, the block outer and the rows inner, so that
// b's block (K × 64 floats) stays in the first-level cache across rows; the block's 64 sums are
// independent, so the loop over them vectorizes (AVX2/FMA where the CPU has them, chosen at run
// time as gemm.c chooses its kernel); rows spread over threads for large matrices.
#include "mehler-series.h"

#include <stdbool.h>

#include "gemm.h"
#include "typed-arrays.h"

typedef struct {
  int n, count, step, offset, i0, i1;
  const float *a, *b, *t;
  float* out;
} SeriesJob;

#define BLOCK 64

static inline __attribute__((always_inline)) void series_rows(const SeriesJob* job) {
  const int n = job->n, count = job->count;
  double sum[BLOCK], u[BLOCK];
  for (int j0 = 0; j0 < n; j0 += BLOCK) {
    const int width = n - j0 < BLOCK ? n - j0 : BLOCK;
    for (int i = job->i0; i < job->i1; i++) {
      const float* a = job->a + (size_t)i * count;
      const float* t = job->t + (size_t)i * n + j0;
      float* out = job->out + (size_t)i * n + j0;
      // the top degree's term first, as the ops begin (a NaN t then spares a one-term series)
      const double top = a[count - 1];
      const float* last = job->b + (size_t)(count - 1) * n + j0;
      for (int j = 0; j < width; j++) {
        const double x = t[j];
        u[j] = job->step == 2 ? x * x : x;
        sum[j] = top * (double)last[j];
      }
      for (int k = count - 2; k >= 0; k--) {
        const double c = a[k];
        const float* b = job->b + (size_t)k * n + j0;
        for (int j = 0; j < width; j++) sum[j] = sum[j] * u[j] + c * (double)b[j];
      }
      if (job->offset)
        for (int j = 0; j < width; j++) out[j] = (float)(sum[j] * (double)t[j]);
      else
        for (int j = 0; j < width; j++) out[j] = (float)sum[j];
    }
  }
}

static void series_base(const SeriesJob* job) { series_rows(job); }

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("avx2,fma"))) static void series_avx2(const SeriesJob* job) { series_rows(job); }
#define HAVE_AVX2_BUILD 1
#endif

typedef void (*series_fn)(const SeriesJob*);

// read at each call, as relu-dual.c does (tests switch it)
static series_fn chosen(void) {
#ifdef HAVE_AVX2_BUILD
  if (regimes_use_avx2()) return series_avx2;
#endif
  return series_base;
}

typedef struct {
  series_fn fn;
  const SeriesJob* whole;
} SeriesRun;

static void series_range(void* arg, int from, int to) {
  const SeriesRun* run = arg;
  SeriesJob job = *run->whole;
  job.i0 = from;
  job.i1 = to;
  run->fn(&job);
}

// Multiply-adds per thread below which fewer threads run: ~0.1 ms of work against a thread's start.
#define THREAD_WORK 262144.0

// mehlerSeries(m, n, K, step, offset, a, b, t, out): Float32Arrays a m×K, b K×n, t and out m×n;
// step 1 or 2, offset 0 or 1.
napi_value regimes_mehler_series(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value args[9];
  int32_t m, n, count, step, offset;
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc != 9 ||
      napi_get_value_int32(env, args[0], &m) != napi_ok || napi_get_value_int32(env, args[1], &n) != napi_ok ||
      napi_get_value_int32(env, args[2], &count) != napi_ok || napi_get_value_int32(env, args[3], &step) != napi_ok ||
      napi_get_value_int32(env, args[4], &offset) != napi_ok || m < 0 || n < 0 || count < 0 ||
      (step != 1 && step != 2) || (offset != 0 && offset != 1)) {
    napi_throw_error(env, NULL, "regimes_blas: mehlerSeries(m, n, K, step 1|2, offset 0|1, a, b, t, out)");
    return NULL;
  }
  size_t lengths[4];
  const float* views[4];
  for (int k = 0; k < 4; k++) views[k] = regimes_float32s(env, args[5 + k], &lengths[k]);
  const size_t entries = (size_t)m * (size_t)n;
  if (!views[0] || !views[1] || !views[2] || !views[3] || lengths[0] != (size_t)m * (size_t)count ||
      lengths[1] != (size_t)count * (size_t)n || lengths[2] != entries || lengths[3] != entries) {
    napi_throw_error(env, NULL,
                     "regimes_blas: mehlerSeries operands are not Float32Arrays of m×K (a), K×n (b) and m×n "
                     "(t, out) entries");
    return NULL;
  }
  if (entries == 0) return NULL;
  if (count == 0) {
    for (size_t e = 0; e < entries; e++) ((float*)views[3])[e] = 0.0f;
    return NULL;
  }
  SeriesJob whole = {n, count, step, offset, 0, m, views[0], views[1], views[2], (float*)views[3]};
  int threads = regimes_gemm_threads();
  const double work = (double)entries * count;
  if (work < THREAD_WORK * threads) threads = (int)(work / THREAD_WORK);
  SeriesRun run = {chosen(), &whole};
  regimes_parallel_ranges(threads, m, 1, series_range, &run);
  return NULL;
}

// The ReLU's dual on every entry of an m×n matrix, the kernel numerics names `RegimesReluDual`:
// with cos θ = ρ/√(q_a q_b) clamped to [−1, 1] (0 where a variance is 0: a floor of 1e-300, far
// below any product of float32 variances, so that variances of 1e-30 keep their angle; the floor
// of 1e-12 before had lost it) and taken as ±1 within a tolerance of ±1 (a diagonal's rounding:
// numerics' reluDualSnap, 2⁻¹⁹ where the caller gives none),
//   value = √(q_a q_b)(sin θ + (π − θ) cos θ)/(2π),  derivative = (π − θ)/(2π),
// each entry in float64 and rounded once to float32, as backend-node's JavaScript kernel does. The
// arc cosine is our own: acos(|c|) = π/2 − asin(|c|) up to 1/2, else 2 asin(√((1 − |c|)/2)), with
// asin(s) = s + s·z·P(z), z = s² ≤ 1/4, and P a degree-10 least-squares fit on 400 Chebyshev nodes
// (mpmath, 40 digits): a relative error of 9e-16 on asin over [0, 1/2]. Branch-free, so that the
// compiler vectorizes the row loop (AVX2/FMA where the CPU has them, chosen at run time as gemm.c
// chooses its kernel), and rows spread over threads for large matrices (regimes_gemm_threads: the
// per-worker share of the cores in a sweep). The same rows serve numerics' `RegimesCorrelation`,
// t = c/√(q_a q_b) clamped (the deep kernels' Mehler series takes it at every layer): one pass where
// the tfjs ops make five. And numerics' `RegimesReluDualShifted` (SHIFTED_ROW below), the dual of
// operands given less a constant, in a loop of its own.
#include "relu-dual.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>

#include "gemm.h"
#include "typed-arrays.h"

typedef struct {
  int n, a_per_entry, b_per_entry, i0, i1;
  double snap, shift;
  bool shifted;
  const float *rho, *qa, *qb;
  float *value, *derivative;
} DualJob;

#define HALF_PI 1.5707963267948966
#define PI 3.141592653589793
#define INV_TWO_PI 0.15915494309189535
// cosines within 2^-19 of ±1 are ±1 where the call gives no tolerance (numerics' RELU_DUAL_COSINE_SNAP)
#define COSINE_SNAP 1.9073486328125e-06

// asin of s in [0, 1/2] with z = s²: s + s·z·P(z), P the degree-10 fit (the header's)
#define ASIN_SMALL(S, Z, OUT)                                                       \
  double OUT##_p = 0.027984095241588475;                                            \
  OUT##_p = OUT##_p * (Z) - 0.00696259784775532;                                    \
  OUT##_p = OUT##_p * (Z) + 0.015519534995479074;                                   \
  OUT##_p = OUT##_p * (Z) + 0.010267846139339589;                                   \
  OUT##_p = OUT##_p * (Z) + 0.014144797983262753;                                   \
  OUT##_p = OUT##_p * (Z) + 0.01733677054749461;                                    \
  OUT##_p = OUT##_p * (Z) + 0.022373038158633403;                                   \
  OUT##_p = OUT##_p * (Z) + 0.03038191641231931;                                    \
  OUT##_p = OUT##_p * (Z) + 0.044642857599508805;                                   \
  OUT##_p = OUT##_p * (Z) + 0.074999999997107;                                      \
  OUT##_p = OUT##_p * (Z) + 0.16666666666666968;                                    \
  double OUT = (S) + (S) * (Z) * OUT##_p;

// one row of the dual; a and b point at this row's q_a (one value, or n) and q_b (n values)
#define DUAL_ROW(A_AT)                                                              \
  for (int j = 0; j < n; j++) {                                                     \
    double scale = sqrt((double)(A_AT) * (double)b[j]);                             \
    double c = (double)r[j] / (scale < 1e-300 ? 1e-300 : scale); /* NaN: NaN */     \
    c = c > 1.0 - snap ? 1.0 : c;                                                   \
    c = c < snap - 1.0 ? -1.0 : c;                                                  \
    double a = fabs(c);                                                             \
    bool big = a > 0.5;                                                             \
    double z = big ? 0.5 * (1.0 - a) : a * a;                                       \
    double root = sqrt(z);                                                          \
    double s = big ? root : a;                                                      \
    ASIN_SMALL(s, z, asin_s)                                                        \
    double acos_a = big ? 2.0 * asin_s : HALF_PI - asin_s;                          \
    double rest = c < 0.0 ? acos_a : PI - acos_a; /* π − θ */                     \
    double sine = sqrt((1.0 - a) * (1.0 + a));                                      \
    v[j] = (float)(scale * (sine + rest * c) * INV_TWO_PI);                         \
    d[j] = (float)(rest * INV_TWO_PI);                                              \
  }

// one row of the shifted dual (numerics' reluDualShifted): the operands are deviations from C =
// shift, and the formulas never subtract numbers of C's size where the deviations would cancel,
// as the ops (relu-dual.ts): s = √((C + q̃_a)(C + q̃_b)), s − C = (C(q̃_a + q̃_b) + q̃_a q̃_b)/(s + C),
// ε = 1 − cos θ = (C(q̃_a + q̃_b − 2ρ̃) + q̃_a q̃_b − ρ̃²)/((s + ρ)s) where ρ = C + ρ̃ > 0, else 1 − ρ/s;
// ε within snap·(s − C)/s of 0 or 2 is that; 1 + cos θ = (s + ρ)/s where ρ < 0, else 2 − ε. Then
// θ ≤ π/2: value − C/2 = ((s − C) − sε)/2 + s(sin θ − θ cos θ)/(2π), sin θ − θ cos θ by its series
// below θ = 1/4; θ > π/2: s(sin θ + (π − θ) cos θ)/(2π) − C/2 (ρ < 0 there: the deviations exceed C).
// Derivative − 1/2 = −θ/(2π). Rebuilding C + ρ̃ in float64 had lost deviations below 1e-16·C (a
// 45-layer NTK, whose deviations halve each layer: 1e-2 off; review, 2026-12-07).
#define SHIFTED_ROW(A_AT)                                                           \
  for (int j = 0; j < n; j++) {                                                     \
    double qa = (double)(A_AT), qb = (double)b[j], dr = (double)r[j];               \
    double scale = sqrt(shift + qa) * sqrt(shift + qb); /* no overflow before s */ \
    double floor_scale = scale < 1e-300 ? 1e-300 : scale;                          \
    double above = (shift * (qa + qb) + qa * qb) / (scale + shift); /* s − C */     \
    double rho = shift + dr;                                                        \
    double gap = rho > 0.0 ? (shift * (qa + qb - 2.0 * dr) + qa * qb - dr * dr) / (scale + rho) \
                           : scale - rho;                                           \
    double eps = gap / floor_scale;                                                 \
    eps = eps < 0.0 ? 0.0 : eps;                                                    \
    eps = eps > 2.0 ? 2.0 : eps; /* NaN stays NaN */                               \
    double tol = snap * (above / floor_scale);                                      \
    tol = tol > 0.0 ? tol : 0.0;                                                    \
    eps = eps < tol ? 0.0 : eps;                                                    \
    eps = eps > 2.0 - tol ? 2.0 : eps;                                              \
    /* 1 + cos θ; the division outside the select, or gcc does not vectorize the loop */ \
    double ratio = (scale + rho) / floor_scale;                                     \
    double plus = rho < 0.0 ? ratio : 2.0 - eps;                                    \
    plus = plus < 0.0 ? 0.0 : plus;                                                 \
    plus = eps >= 2.0 ? 0.0 : plus;                                                 \
    bool wide = eps > 1.0; /* θ > π/2 */                                            \
    double half = 0.5 * (wide ? plus : eps); /* sin²(θ/2) or cos²(θ/2) */           \
    double root = sqrt(half);                                                       \
    bool big = half > 0.25;                                                         \
    double z = big ? 0.5 * (1.0 - root) : half;                                     \
    double x = big ? sqrt(z) : root;                                                \
    ASIN_SMALL(x, z, asin_x)                                                        \
    double angle = big ? HALF_PI - 2.0 * asin_x : asin_x; /* asin(√half) */         \
    double theta = wide ? PI - 2.0 * angle : 2.0 * angle;                           \
    double c = wide ? plus - 1.0 : 1.0 - eps;                                       \
    double sine = sqrt(eps * (wide ? plus : 2.0 - eps));                            \
    double t2 = theta * theta;                                                      \
    double series = theta * t2 *                                                    \
                    (1.0 / 3.0 + t2 * (-1.0 / 30.0 + t2 * (1.0 / 840.0 - t2 / 45360.0))); \
    double curvature = theta < 0.25 ? series : sine - theta * c;                    \
    double narrow_value = 0.5 * (above - scale * eps) + scale * curvature * INV_TWO_PI; \
    double wide_value = scale * (sine + (PI - theta) * c) * INV_TWO_PI - 0.5 * shift; \
    v[j] = (float)(wide ? wide_value : narrow_value);                               \
    d[j] = (float)(-theta * INV_TWO_PI);                                            \
  }

// one row of the correlation t = c/√(q_a q_b) (ρ holds c), clamped to [−1, 1] (NaN stays NaN: its
// comparisons are false), rounded once to float32
#define CORRELATION_ROW(A_AT)                                                       \
  for (int j = 0; j < n; j++) {                                                     \
    double p = (double)(A_AT) * (double)b[j];                                       \
    double t = (double)r[j] / sqrt(p < 1e-300 ? 1e-300 : p);                        \
    t = t > 1.0 ? 1.0 : t;                                                          \
    v[j] = (float)(t < -1.0 ? -1.0 : t);                                            \
  }

// the rows of one job: the dual (value and derivative) or the correlation (value only)
#define JOB_ROWS(ROW)                                                               \
  for (int i = job->i0; i < job->i1; i++) {                                        \
    const size_t row = (size_t)i * n;                                               \
    const float* r = job->rho + row;                                                \
    const float* b = job->qb + (job->b_per_entry ? row : 0);                        \
    float* v = job->value + row;                                                    \
    float* d = job->derivative ? job->derivative + row : NULL;                      \
    (void)d;                                                                        \
    if (job->a_per_entry) {                                                         \
      const float* a = job->qa + row;                                               \
      ROW(a[j])                                                                     \
    } else {                                                                        \
      const float ai = job->qa[i];                                                  \
      ROW(ai)                                                                       \
    }                                                                               \
  }

static inline __attribute__((always_inline)) void plain_rows(const DualJob* job) {
  const int n = job->n;
  const double snap = job->snap;
  JOB_ROWS(DUAL_ROW)
}

static inline __attribute__((always_inline)) void shifted_rows(const DualJob* job) {
  const int n = job->n;
  const double snap = job->snap, shift = job->shift;
  JOB_ROWS(SHIFTED_ROW)
}

// two loops, so that the plain dual compiles to the loop it was (one loop with the shift read at run
// time had taken 1024×512 in 5.0 ms against 1.6 on one thread)
static inline __attribute__((always_inline)) void dual_rows(const DualJob* job) {
  if (job->shifted)
    shifted_rows(job);
  else
    plain_rows(job);
}

static inline __attribute__((always_inline)) void correlation_rows(const DualJob* job) {
  const int n = job->n;
  JOB_ROWS(CORRELATION_ROW)
}

static void dual_base(const DualJob* job) { dual_rows(job); }
static void correlation_base(const DualJob* job) { correlation_rows(job); }

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("avx2,fma"))) static void dual_avx2(const DualJob* job) { dual_rows(job); }
__attribute__((target("avx2,fma"))) static void correlation_avx2(const DualJob* job) { correlation_rows(job); }
#define HAVE_AVX2_BUILD 1
#endif

typedef void (*dual_fn)(const DualJob*);

// read at each call, as eigen-lite.c does (tests switch it)
static dual_fn chosen(bool correlation) {
#ifdef HAVE_AVX2_BUILD
  // the same switch as gemm.c's: REGIMES_GEMM_PORTABLE=1 keeps the baseline code
  if (regimes_use_avx2()) return correlation ? correlation_avx2 : dual_avx2;
#endif
  return correlation ? correlation_base : dual_base;
}

typedef struct {
  dual_fn fn;
  const DualJob* whole;
} DualRun;

static void dual_range(void* arg, int from, int to) {
  const DualRun* run = arg;
  DualJob job = *run->whole;
  job.i0 = from;
  job.i1 = to;
  run->fn(&job);
}

// Entries per thread below which fewer threads run: ~0.1 ms of work against a thread's start (the
// dual's; the correlation's entries are cheaper, so it splits only larger matrices)
#define THREAD_ENTRIES 65536.0

static void run_rows(DualJob whole, int m, bool correlation) {
  int threads = regimes_gemm_threads();
  double entries = (double)m * whole.n * (correlation ? 0.25 : 1.0);
  if (entries < THREAD_ENTRIES * threads) threads = (int)(entries / THREAD_ENTRIES);
  DualRun run = {chosen(correlation), &whole};
  regimes_parallel_ranges(threads, m, 1, dual_range, &run);
}

// The arguments (m, n, rho, qa, qb, out_1 .. out_k[, snap]) into a job; false (an error thrown) when
// they are not Float32Arrays of m×n (rho, outputs), m or m×n (qa) and n or m×n (qb) entries, or snap
// is given where the call takes none (`snaps` false) or is outside [0, 1); with `shifted`, snap and
// shift (the last, > 0 and finite) both follow the outputs. `name` and `usage` name the call in the
// errors.
static bool read_job(napi_env env, napi_callback_info info, int outputs, bool snaps, bool shifted,
                     const char* name, const char* usage, DualJob* job, int* rows) {
  size_t argc = 10;
  napi_value args[10];
  int32_t m, n;
  double snap = COSINE_SNAP, shift = 0.0;
  napi_valuetype snap_type = napi_undefined;
  const size_t given = 5 + (size_t)outputs + (shifted ? 2 : 0);  // without snap, unless shifted
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc < given ||
      argc > given + (snaps && !shifted ? 1 : 0) ||
      (shifted && (napi_get_value_double(env, args[given - 1], &shift) != napi_ok || !(shift > 0.0) ||
                   !isfinite(shift))) ||
      napi_get_value_int32(env, args[0], &m) != napi_ok || napi_get_value_int32(env, args[1], &n) != napi_ok ||
      m < 0 || n < 0 ||
      (argc > 5 + (size_t)outputs && napi_typeof(env, args[5 + outputs], &snap_type) != napi_ok) ||
      (snap_type != napi_undefined &&
       (napi_get_value_double(env, args[5 + outputs], &snap) != napi_ok || !(snap >= 0.0 && snap < 1.0)))) {
    napi_throw_error(env, NULL, usage);
    return false;
  }
  const size_t entries = (size_t)m * (size_t)n;
  size_t lengths[5];
  const float* views[5] = {NULL, NULL, NULL, NULL, NULL};
  for (int k = 0; k < 3 + outputs; k++) views[k] = regimes_float32s(env, args[2 + k], &lengths[k]);
  bool ok = views[0] && views[1] && views[2] && lengths[0] == entries;
  for (int k = 3; k < 3 + outputs; k++) ok = ok && views[k] && lengths[k] == entries;
  const bool a_rows = ok && lengths[1] == (size_t)m, b_columns = ok && lengths[2] == (size_t)n;
  if (!ok || (!a_rows && lengths[1] != entries) || (!b_columns && lengths[2] != entries)) {
    char message[200];
    snprintf(message, sizeof message,
             "regimes_blas: %s operands are not Float32Arrays of m×n (%s), m or m×n (qa) and n or m×n (qb) "
             "entries",
             name, outputs > 1 ? "rho, value, derivative" : "c, t");
    napi_throw_error(env, NULL, message);
    return false;
  }
  // a square matrix with one q per row and per column matches both readings: per row/column wins
  *job = (DualJob){n,
                   !a_rows,
                   !b_columns,
                   0,
                   m,
                   snap,
                   shift,
                   shifted,
                   views[0],
                   views[1],
                   views[2],
                   (float*)views[3],
                   outputs > 1 ? (float*)views[4] : NULL};
  *rows = m;
  return true;
}

// reluDual(m, n, rho, qa, qb, value, derivative[, snap]): Float32Arrays; rho, value and derivative
// m×n, qa m (one per row) or m×n, qb n (one per column) or m×n, told apart by their lengths; snap the
// cosine tolerance in [0, 1), COSINE_SNAP where absent or undefined.
napi_value regimes_relu_dual(napi_env env, napi_callback_info info) {
  DualJob job;
  int m;
  if (!read_job(env, info, 2, true, false, "reluDual",
                "regimes_blas: reluDual(m, n, rho, qa, qb, value, derivative[, snap in [0, 1)])", &job, &m))
    return NULL;
  if ((size_t)m * (size_t)job.n > 0) run_rows(job, m, false);
  return NULL;
}

// reluDualShifted(m, n, rho, qa, qb, value, derivative, snap, shift): the dual of ρ + C, q_a + C,
// q_b + C (C = shift > 0, the operands given less it) less its value at θ = 0: value − C/2 and
// derivative − 1/2, by SHIFTED_ROW's cancellation-free formulas in float64 before the one rounding
// (numerics' reluDualShifted).
napi_value regimes_relu_dual_shifted(napi_env env, napi_callback_info info) {
  DualJob job;
  int m;
  if (!read_job(env, info, 2, true, true, "reluDualShifted",
                "regimes_blas: reluDualShifted(m, n, rho, qa, qb, value, derivative, snap in [0, 1), shift > 0)",
                &job, &m))
    return NULL;
  if ((size_t)m * (size_t)job.n > 0) run_rows(job, m, false);
  return NULL;
}

// correlation(m, n, c, qa, qb, t): t = c/√(q_a q_b) in float64 (the product floored at 1e-300),
// clamped to [−1, 1], rounded once; shapes as reluDual's.
napi_value regimes_correlation(napi_env env, napi_callback_info info) {
  DualJob job;
  int m;
  if (!read_job(env, info, 1, false, false, "correlation", "regimes_blas: correlation(m, n, c, qa, qb, t)", &job, &m))
    return NULL;
  if ((size_t)m * (size_t)job.n > 0) run_rows(job, m, true);
  return NULL;
}

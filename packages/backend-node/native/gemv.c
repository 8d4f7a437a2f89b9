// Matrix-vector and outer products for regimes' own SGEMM (gemm.c hands them over): a product with
// one row, one column or k = 1 reads or writes each matrix entry once, so memory bounds it, not
// multiply-adds. The packed-panel path pads the vector to a 16-column panel and copies the matrix
// into panels first: it ran 512×128 by a vector in 68 µs (1.9 GFLOP/s) where OpenBLAS's takes 4 µs
// (2-core AMD EPYC, 2026-12-04), and a two-layer network's training step makes three such products
// (its output, the output weights' gradient, the hidden layer's error).
// Three forms, each one body compiled twice (baseline and AVX2/FMA, chosen at each call as gemm.c
// chooses its kernel) so that the compiler vectorizes it:
//   rows:    c[i] = Σ_q M[i, q]·x[q]    (M row-major, one dot product per row of M)
//   columns: c[j] = Σ_q x[q]·M[q, j]    (a combination of the rows of M)
//   outer:   c[i, j] = u[i]·v[j]
// Each output entry is computed the same way whichever thread or block holds it, so a product gives
// the same bits on one thread or many.
#include <stddef.h>

#include "gemm.h"

enum Form { ROWS, COLUMNS, OUTER };

typedef struct {
  enum Form form;
  const float* mat;  // M (rows, columns), u (outer)
  const float* x;    // x (rows, columns), v (outer)
  size_t ld;         // M's row stride; outer: c's
  int len;           // the length of the sums (rows, columns); outer: v's length
  float* c;
  int from, to;  // the output entries (rows, columns) or rows of c (outer) of this job
} VectorJob;

// Σ_q row[q]·x[q]: eight partial sums over q mod 8 (s, filled by the caller's loop up to q), then
// the tail in order
static inline __attribute__((always_inline)) float finish_dot(const float s[8], const float* row, const float* x,
                                                               int q, int len) {
  float t = ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]));
  for (; q < len; q++) t += row[q] * x[q];
  return t;
}

static inline __attribute__((always_inline)) void rows_form(const VectorJob* job) {
  const int len = job->len;
  const size_t ld = job->ld;
  const float* x = job->x;
  int i = job->from;
  // four rows at a time share the loads of x; each row's sum is the one a row alone would get
  for (; i + 4 <= job->to; i += 4) {
    const float* r = job->mat + (size_t)i * ld;
    float s0[8] = {0}, s1[8] = {0}, s2[8] = {0}, s3[8] = {0};
    int q = 0;
    for (; q + 8 <= len; q += 8)
      for (int l = 0; l < 8; l++) {
        const float xv = x[q + l];
        s0[l] += r[q + l] * xv;
        s1[l] += r[ld + q + l] * xv;
        s2[l] += r[2 * ld + q + l] * xv;
        s3[l] += r[3 * ld + q + l] * xv;
      }
    job->c[i] = finish_dot(s0, r, x, q, len);
    job->c[i + 1] = finish_dot(s1, r + ld, x, q, len);
    job->c[i + 2] = finish_dot(s2, r + 2 * ld, x, q, len);
    job->c[i + 3] = finish_dot(s3, r + 3 * ld, x, q, len);
  }
  for (; i < job->to; i++) {
    const float* r = job->mat + (size_t)i * ld;
    float s[8] = {0};
    int q = 0;
    for (; q + 8 <= len; q += 8)
      for (int l = 0; l < 8; l++) s[l] += r[q + l] * x[q + l];
    job->c[i] = finish_dot(s, r, x, q, len);
  }
}

// jobs split the outputs at multiples of this, so that each job's loops see whole vectors
#define COLUMN_BLOCK 32

static inline __attribute__((always_inline)) void columns_form(const VectorJob* job) {
  const int len = job->len, from = job->from, to = job->to;
  const size_t ld = job->ld;
  const float* x = job->x;
  float* c = job->c;
  // the rows of M streamed in order, four at a time, into sums that stay in cache; each column's
  // sum runs in the order q = 0, 1, …
  for (int j = from; j < to; j++) c[j] = 0.0f;
  int q = 0;
  for (; q + 4 <= len; q += 4) {
    const float* r0 = job->mat + (size_t)q * ld;
    const float *r1 = r0 + ld, *r2 = r1 + ld, *r3 = r2 + ld;
    const float x0 = x[q], x1 = x[q + 1], x2 = x[q + 2], x3 = x[q + 3];
    for (int j = from; j < to; j++) c[j] = (((c[j] + x0 * r0[j]) + x1 * r1[j]) + x2 * r2[j]) + x3 * r3[j];
  }
  for (; q < len; q++) {
    const float* r = job->mat + (size_t)q * ld;
    const float xq = x[q];
    for (int j = from; j < to; j++) c[j] += xq * r[j];
  }
}

static inline __attribute__((always_inline)) void outer_form(const VectorJob* job) {
  for (int i = job->from; i < job->to; i++) {
    const float u = job->mat[i];
    float* row = job->c + (size_t)i * job->ld;
    for (int j = 0; j < job->len; j++) row[j] = u * job->x[j];
  }
}

static inline __attribute__((always_inline)) void run_form(const VectorJob* job) {
  if (job->form == ROWS)
    rows_form(job);
  else if (job->form == COLUMNS)
    columns_form(job);
  else
    outer_form(job);
}

static void vector_base(const VectorJob* job) { run_form(job); }

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("avx2,fma"))) static void vector_avx2(const VectorJob* job) { run_form(job); }
#define HAVE_AVX2_BUILD 1
#endif

typedef void (*vector_fn)(const VectorJob*);

typedef struct {
  vector_fn fn;
  const VectorJob* whole;
} VectorRun;

static void vector_range(void* arg, int from, int to) {
  const VectorRun* run = arg;
  VectorJob job = *run->whole;
  job.from = from;
  job.to = to;
  run->fn(&job);
}

// Matrix entries from which the product is spread over threads: below it (16 MB), a second thread
// costs a sweep of small training loops more CPU than it saves (the rule blas.c gives OpenBLAS).
#define THREAD_ENTRIES 4194304.0

static void vector_product(VectorJob whole, int outputs, double entries) {
  VectorRun run = {vector_base, &whole};
#ifdef HAVE_AVX2_BUILD
  if (regimes_use_avx2()) run.fn = vector_avx2;
#endif
  // jobs of whole blocks of COLUMN_BLOCK outputs
  regimes_parallel_ranges(entries < THREAD_ENTRIES ? 1 : regimes_gemm_threads(), outputs, COLUMN_BLOCK, vector_range,
                          &run);
}

int regimes_vector_product(int trans_a, int trans_b, int m, int n, int k, const float* a, const float* b, float* c) {
  if (m == 0 || n == 0) return 1;
  VectorJob job;
  if (n == 1) {
    // c (m) = op(A)·b, b a vector of k either way: A m×k gives dot products of its rows; A stored
    // k×m (transposed) a combination of its rows
    job = (VectorJob){trans_a ? COLUMNS : ROWS, a, b, trans_a ? (size_t)m : (size_t)k, k, c, 0, m};
    vector_product(job, m, (double)m * k);
  } else if (m == 1) {
    // c (n) = aᵀ·op(B): B stored k×n gives a combination of its rows, B stored n×k dot products
    job = (VectorJob){trans_b ? ROWS : COLUMNS, b, a, trans_b ? (size_t)k : (size_t)n, k, c, 0, n};
    vector_product(job, n, (double)n * k);
  } else if (k == 1) {
    // c (m×n) = u·vᵀ, u and v contiguous whether or not they are stored transposed
    job = (VectorJob){OUTER, a, b, (size_t)n, n, c, 0, m};
    vector_product(job, m, (double)m * n);
  } else {
    return 0;
  }
  return 1;
}

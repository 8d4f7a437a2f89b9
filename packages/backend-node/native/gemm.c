// regimes' own single-precision matrix product, for machines without a system BLAS: the classic
// packed-panel scheme (blocks of B packed kc×16, of A packed 6×kc, a 6×16 register micro-kernel),
// AVX2/FMA on x86-64 CPUs that have them (checked at run time), NEON on arm64, a portable C
// micro-kernel elsewhere, and the rows of C split over POSIX threads (one per online core by default;
// REGIMES_GEMM_THREADS, else OPENBLAS_NUM_THREADS or OMP_NUM_THREADS, overrides — so a sweep's
// per-worker thread count applies to it as to OpenBLAS).
#include "gemm.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define REGIMES_X86 1
#endif
#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>
#define REGIMES_NEON 1
#endif

#define MR 6
#define NR 16
// Block sizes: MC rows of A (a 192 KiB packed block with KC = 512, kept in L2), KC the depth of one
// pass over C, NC the columns of one packed B block (2 MiB). A deeper KC halves how often C is read
// and written back. On a 2-core AMD EPYC (2026-12-05, prebuilt addons alternated, best of 4–10 per
// run, three runs), KC 256 → 512 with NC 2048 → 1024 (B's block the same size) moved two threads from
// 175–183 to 194–197 GFLOP/s at 3072², one thread from 89–93 to 98–99; at 1024² and 2048² both
// stayed within the runs' spread (two threads 191–209, one 101–107).
#define MC 96
#define KC 512
#define NC 1024

typedef struct {
  int trans_a, trans_b, m, n, k;
  const float* a;
  int lda;
  const float* b;
  int ldb;
  float* c;
  int ldc;
} Problem;

// A[i0:i0+mc, q0:q0+kc] as ceil(mc/6) panels, each kc columns of 6 rows (rows past m are zero)
static void pack_a(const Problem* p, int i0, int mc, int q0, int kc, float* dst) {
  for (int ir = 0; ir < mc; ir += MR, dst += (size_t)MR * kc) {
    const int rows = mc - ir < MR ? mc - ir : MR;
    if (p->trans_a) {  // A stored k×m: the panel's 6 entries of each q are adjacent
      const float* src = p->a + (size_t)q0 * p->lda + i0 + ir;
      for (int q = 0; q < kc; q++, src += p->lda)
        for (int r = 0; r < MR; r++) dst[q * MR + r] = r < rows ? src[r] : 0.0f;
    } else {  // A stored m×k: 6 rows read side by side
      for (int r = 0; r < MR; r++) {
        const float* src = p->a + (size_t)(i0 + ir + r) * p->lda + q0;
        if (r < rows)
          for (int q = 0; q < kc; q++) dst[q * MR + r] = src[q];
        else
          for (int q = 0; q < kc; q++) dst[q * MR + r] = 0.0f;
      }
    }
  }
}

// B[q0:q0+kc, j0:j0+nc] as ceil(nc/16) panels, each kc rows of 16 columns (columns past n are zero)
static void pack_b(const Problem* p, int q0, int kc, int j0, int nc, float* dst) {
  for (int jr = 0; jr < nc; jr += NR, dst += (size_t)NR * kc) {
    const int width = nc - jr < NR ? nc - jr : NR;
    if (p->trans_b) {  // B stored n×k: each column of the panel is a row of B
      for (int c = 0; c < NR; c++) {
        if (c < width) {
          const float* src = p->b + (size_t)(j0 + jr + c) * p->ldb + q0;
          for (int q = 0; q < kc; q++) dst[q * NR + c] = src[q];
        } else {
          for (int q = 0; q < kc; q++) dst[q * NR + c] = 0.0f;
        }
      }
    } else {
      const float* src = p->b + (size_t)q0 * p->ldb + j0 + jr;
      for (int q = 0; q < kc; q++, src += p->ldb)
        if (width == NR)
          memcpy(dst + q * NR, src, sizeof(float) * NR);
        else
          for (int c = 0; c < NR; c++) dst[q * NR + c] = c < width ? src[c] : 0.0f;
    }
  }
}

typedef void (*Kernel)(int kc, const float* a, const float* b, float* c, int ldc, int accumulate);

// c[6×16] (= or +=) a-panel · b-panel
static void kernel_portable(int kc, const float* a, const float* b, float* c, int ldc, int accumulate) {
  float acc[MR][NR];
  memset(acc, 0, sizeof(acc));
  for (int q = 0; q < kc; q++, a += MR, b += NR)
    for (int r = 0; r < MR; r++)
      for (int j = 0; j < NR; j++) acc[r][j] += a[r] * b[j];
  for (int r = 0; r < MR; r++)
    for (int j = 0; j < NR; j++) c[(size_t)r * ldc + j] = accumulate ? c[(size_t)r * ldc + j] + acc[r][j] : acc[r][j];
}

#ifdef REGIMES_X86
__attribute__((target("avx2,fma"))) static void kernel_avx2(int kc, const float* a, const float* b, float* c,
                                                              int ldc, int accumulate) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (int q = 0; q < kc; q++, a += MR, b += NR) {
    __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8), x;
    x = _mm256_broadcast_ss(a + 0);
    c00 = _mm256_fmadd_ps(x, b0, c00);
    c01 = _mm256_fmadd_ps(x, b1, c01);
    x = _mm256_broadcast_ss(a + 1);
    c10 = _mm256_fmadd_ps(x, b0, c10);
    c11 = _mm256_fmadd_ps(x, b1, c11);
    x = _mm256_broadcast_ss(a + 2);
    c20 = _mm256_fmadd_ps(x, b0, c20);
    c21 = _mm256_fmadd_ps(x, b1, c21);
    x = _mm256_broadcast_ss(a + 3);
    c30 = _mm256_fmadd_ps(x, b0, c30);
    c31 = _mm256_fmadd_ps(x, b1, c31);
    x = _mm256_broadcast_ss(a + 4);
    c40 = _mm256_fmadd_ps(x, b0, c40);
    c41 = _mm256_fmadd_ps(x, b1, c41);
    x = _mm256_broadcast_ss(a + 5);
    c50 = _mm256_fmadd_ps(x, b0, c50);
    c51 = _mm256_fmadd_ps(x, b1, c51);
  }
#define STORE_ROW(r, lo, hi)                                                    \
  {                                                                             \
    float* row = c + (size_t)(r) * ldc;                                         \
    if (accumulate) {                                                           \
      lo = _mm256_add_ps(lo, _mm256_loadu_ps(row));                             \
      hi = _mm256_add_ps(hi, _mm256_loadu_ps(row + 8));                         \
    }                                                                           \
    _mm256_storeu_ps(row, lo);                                                  \
    _mm256_storeu_ps(row + 8, hi);                                              \
  }
  STORE_ROW(0, c00, c01)
  STORE_ROW(1, c10, c11)
  STORE_ROW(2, c20, c21)
  STORE_ROW(3, c30, c31)
  STORE_ROW(4, c40, c41)
  STORE_ROW(5, c50, c51)
#undef STORE_ROW
}
#endif

#ifdef REGIMES_NEON
// The same 6×16 tile in 24 of arm64's 32 vector registers (4 floats each), the B row in 4 and the 6
// entries of A in 2, each product a fused multiply-add by one lane. GCC's vectorization of the
// portable kernel kept the tile in memory (a load and a store of it every step of q).
static void kernel_neon(int kc, const float* a, const float* b, float* c, int ldc, int accumulate) {
  // named accumulators, not arrays: GCC kept arrays of them in memory, storing them at every step
  float32x4_t c00 = vdupq_n_f32(0.0f), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
  float32x4_t c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00, c31 = c00, c32 = c00, c33 = c00;
  float32x4_t c40 = c00, c41 = c00, c42 = c00, c43 = c00, c50 = c00, c51 = c00, c52 = c00, c53 = c00;
  for (int q = 0; q < kc; q++, a += MR, b += NR) {
    const float32x4_t a03 = vld1q_f32(a);
    const float32x2_t a45 = vld1_f32(a + 4);
#define COLUMN(j)                                  \
  {                                                \
    const float32x4_t bj = vld1q_f32(b + 4 * j);   \
    c0##j = vfmaq_laneq_f32(c0##j, bj, a03, 0);    \
    c1##j = vfmaq_laneq_f32(c1##j, bj, a03, 1);    \
    c2##j = vfmaq_laneq_f32(c2##j, bj, a03, 2);    \
    c3##j = vfmaq_laneq_f32(c3##j, bj, a03, 3);    \
    c4##j = vfmaq_lane_f32(c4##j, bj, a45, 0);     \
    c5##j = vfmaq_lane_f32(c5##j, bj, a45, 1);     \
  }
    COLUMN(0)
    COLUMN(1)
    COLUMN(2)
    COLUMN(3)
#undef COLUMN
  }
#define STORE(r, j)                                                                        \
  {                                                                                        \
    float* at = c + (size_t)(r) * ldc + 4 * (j);                                           \
    vst1q_f32(at, accumulate ? vaddq_f32(c##r##j, vld1q_f32(at)) : c##r##j);              \
  }
#define STORE_ROW(r) STORE(r, 0) STORE(r, 1) STORE(r, 2) STORE(r, 3)
  STORE_ROW(0)
  STORE_ROW(1)
  STORE_ROW(2)
  STORE_ROW(3)
  STORE_ROW(4)
  STORE_ROW(5)
#undef STORE_ROW
#undef STORE
}
#endif

static Kernel chosen_kernel = NULL;
static const char* kernel_name = "portable C";

// REGIMES_GEMM_PORTABLE set to anything but empty or 0: the portable code on any CPU
static int portable_forced(void) {
  const char* force = getenv("REGIMES_GEMM_PORTABLE");
  return force && *force && *force != '0';
}

int regimes_use_avx2(void) {
#ifdef REGIMES_X86
  __builtin_cpu_init();
  return !portable_forced() && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return 0;
#endif
}

void regimes_run_threads(int count, void* (*fn)(void*), void* args, size_t size) {
  pthread_t ids[64];
  char* at = args;
  int started = 0;
  if (count > 64) count = 64;
  for (int t = 1; t < count; t++) {
    if (pthread_create(&ids[t], NULL, fn, at + (size_t)t * size) != 0) break;
    started = t;
  }
  fn(at);
  for (int t = 1; t <= started; t++) pthread_join(ids[t], NULL);
  for (int t = started + 1; t < count; t++) fn(at + (size_t)t * size);  // any thread that did not start
}

typedef struct {
  void (*fn)(void*, int, int);
  void* arg;
  int from, to;
} Range;

static void* run_range(void* p) {
  const Range* r = p;
  r->fn(r->arg, r->from, r->to);
  return NULL;
}

void regimes_parallel_ranges(int count, int total, int unit, void (*fn)(void* arg, int from, int to), void* arg) {
  const int blocks = (total + unit - 1) / unit;
  if (count > blocks) count = blocks;
  if (count > 64) count = 64;
  if (count <= 1) {
    fn(arg, 0, total);
    return;
  }
  Range ranges[64];
  for (int t = 0; t < count; t++) {
    const int from = (int)((long)blocks * t / count) * unit, to = (int)((long)blocks * (t + 1) / count) * unit;
    ranges[t] = (Range){fn, arg, from, to > total ? total : to};
  }
  regimes_run_threads(count, run_range, ranges, sizeof ranges[0]);
}

// chosen once, on the first product
static void choose_kernel(void) {
  if (chosen_kernel) return;
  chosen_kernel = kernel_portable;
#ifdef REGIMES_X86
  if (regimes_use_avx2()) {
    chosen_kernel = kernel_avx2;
    kernel_name = "AVX2/FMA";
  }
#endif
#ifdef REGIMES_NEON
  if (!portable_forced()) {
    chosen_kernel = kernel_neon;
    kernel_name = "NEON";
  }
#endif
}

// Packing buffers, one pair per thread slot, allocated on first use and kept: fresh memory costs a
// page fault per 4 KiB on first touch (≈ 10 µs each on some VMs), which for a product of a few
// hundred rows cost more than the product. Calls are serialized by `products` (Node calls from one
// thread; worker threads would wait their turn).
static pthread_mutex_t products = PTHREAD_MUTEX_INITIALIZER;
static float* packed_a[64];
static float* packed_b[64];

static int packing_buffers(int slot, float** pa, float** pb) {
  if (!packed_a[slot]) packed_a[slot] = aligned_alloc(64, sizeof(float) * MC * KC);
  if (!packed_b[slot]) packed_b[slot] = aligned_alloc(64, sizeof(float) * KC * NC);
  *pa = packed_a[slot];
  *pb = packed_b[slot];
  return *pa && *pb ? 0 : -1;
}

// C[rows i0..i1) of the problem, single thread, with the packing buffers of its slot
static int gemm_rows(const Problem* p, int i0, int i1, int slot) {
  float *pa, *pb;
  if (packing_buffers(slot, &pa, &pb) != 0) return -1;
  float tile[MR * NR];
  Kernel kernel = chosen_kernel;
  if (p->k == 0)
    for (int i = i0; i < i1; i++) memset(p->c + (size_t)i * p->ldc, 0, sizeof(float) * p->n);
  for (int jc = 0; jc < p->n; jc += NC) {
    int nc = p->n - jc < NC ? p->n - jc : NC;
    for (int pc = 0; pc < p->k; pc += KC) {
      int kc = p->k - pc < KC ? p->k - pc : KC;
      pack_b(p, pc, kc, jc, nc, pb);
      for (int ic = i0; ic < i1; ic += MC) {
        int mc = i1 - ic < MC ? i1 - ic : MC;
        pack_a(p, ic, mc, pc, kc, pa);
        for (int jr = 0; jr < nc; jr += NR) {
          int nr = nc - jr < NR ? nc - jr : NR;
          for (int ir = 0; ir < mc; ir += MR) {
            int mr = mc - ir < MR ? mc - ir : MR;
            const float* ap = pa + (size_t)ir * kc;
            const float* bp = pb + (size_t)jr * kc;
            float* cp = p->c + (size_t)(ic + ir) * p->ldc + jc + jr;
            if (mr == MR && nr == NR) {
              kernel(kc, ap, bp, cp, p->ldc, pc > 0);
            } else {
              kernel(kc, ap, bp, tile, NR, 0);
              for (int r = 0; r < mr; r++)
                for (int j = 0; j < nr; j++)
                  cp[(size_t)r * p->ldc + j] = pc > 0 ? cp[(size_t)r * p->ldc + j] + tile[r * NR + j] : tile[r * NR + j];
            }
          }
        }
      }
    }
  }
  return 0;
}

typedef struct {
  const Problem* p;
  int i0, i1, slot, status;
} Job;

static void* run_job(void* arg) {
  Job* job = arg;
  job->status = gemm_rows(job->p, job->i0, job->i1, job->slot);
  return NULL;
}

// Flops per thread below which a product runs on fewer threads: starting a thread and sharing the
// packed panels costs more than it saves below it. On a 2-core AMD EPYC (2026-12-02) two threads ran at
// 0.86× and 0.80× the speed of one at 16.8 Mflop (1024×512×16, 4096×128×16, with the former 4 Mflop
// per thread) and 1.34–1.69× at 33.6 Mflop.
#define THREAD_FLOPS 12e6

int regimes_gemm_threads(void) {
  const char* names[] = {"REGIMES_GEMM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"};
  int t = 0;
  for (int i = 0; i < 3 && t <= 0; i++) {
    const char* env = getenv(names[i]);
    t = env ? atoi(env) : 0;
  }
  // the online cores, read once: glibc's sysconf reads /sys/devices/system/cpu/online on each call,
  // which, per product, cost a sweep of small cells on one process 1.3 s of 8 (70 000 products)
  static int cores = 0;
  if (t <= 0) {
    if (cores == 0) cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
    t = cores;
  }
  if (t < 1) t = 1;
  if (t > 64) t = 64;
  return t;
}

const char* regimes_gemm_kernel(void) {
  choose_kernel();
  return kernel_name;
}

static int sgemm_serialized(int trans_a, int trans_b, int m, int n, int k, const float* a, const float* b, float* c) {
  Problem p = {trans_a, trans_b, m, n, k, a, trans_a ? m : k, b, trans_b ? k : n, c, n};
  if (m == 0 || n == 0) return 0;
  int threads = regimes_gemm_threads();
  double flops = 2.0 * m * n * (double)k;
  if (flops < THREAD_FLOPS * threads) threads = (int)(flops / THREAD_FLOPS);
  int max_by_rows = (m + MR - 1) / MR;
  if (threads > max_by_rows) threads = max_by_rows;
  if (threads <= 1) return gemm_rows(&p, 0, m, 0);
  Job jobs[64];
  int panels = (m + MR - 1) / MR, status = 0;
  for (int t = 0; t < threads; t++) {
    int from = (int)((long)panels * t / threads) * MR, to = (int)((long)panels * (t + 1) / threads) * MR;
    jobs[t] = (Job){&p, from, to > m ? m : to, t, 0};
  }
  regimes_run_threads(threads, run_job, jobs, sizeof jobs[0]);
  for (int t = 0; t < threads; t++) status |= jobs[t].status;
  return status;
}

// C = AᵀA (trans: A k×n row-major) or AAᵀ (A n×k), n×n row-major, both triangles: the lower one by
// blocks of rows (rows i0..i1 against columns 0..i1, half the product's work), spread over threads
// by a snake order of the blocks so each gets about the same work, then mirrored.
#define SYRK_BLOCK 192
void regimes_mirror_lower(int n, float* c);
typedef struct {
  int trans, n, k, threads, index, status;
  const float* a;
  float* c;
} SyrkJob;

static void* run_syrk(void* arg) {
  SyrkJob* job = arg;
  int blocks = (job->n + SYRK_BLOCK - 1) / SYRK_BLOCK;
  for (int b = 0; b < blocks; b++) {
    int round = b / job->threads, slot = b % job->threads;
    int owner = round % 2 == 0 ? slot : job->threads - 1 - slot;
    if (owner != job->index) continue;
    int i0 = b * SYRK_BLOCK, i1 = i0 + SYRK_BLOCK > job->n ? job->n : i0 + SYRK_BLOCK;
    Problem p = job->trans
                    ? (Problem){1, 0, i1 - i0, i1, job->k, job->a + i0, job->n, job->a, job->n, job->c + (size_t)i0 * job->n, job->n}
                    : (Problem){0, 1, i1 - i0, i1, job->k, job->a + (size_t)i0 * job->k, job->k, job->a, job->k,
                                job->c + (size_t)i0 * job->n, job->n};
    job->status |= gemm_rows(&p, 0, i1 - i0, job->index);
  }
  return NULL;
}

static int ssyrk_serialized(int trans, int n, int k, const float* a, float* c) {
  if (n == 0) return 0;
  int threads = regimes_gemm_threads();
  double flops = (double)n * n * (double)k;
  if (flops < THREAD_FLOPS * threads) threads = (int)(flops / THREAD_FLOPS);
  if (threads < 1) threads = 1;
  SyrkJob jobs[64];
  int status = 0;
  for (int t = 0; t < threads; t++) jobs[t] = (SyrkJob){trans, n, k, threads, t, 0, a, c};
  regimes_run_threads(threads, run_syrk, jobs, sizeof jobs[0]);
  for (int t = 0; t < threads; t++) status |= jobs[t].status;
  regimes_mirror_lower(n, c);
  return status;
}

// the upper triangle of the n×n row-major c := its lower one, by 64×64 tiles
void regimes_mirror_lower(int n, float* c) {
  for (int i0 = 0; i0 < n; i0 += 64)
    for (int j0 = i0; j0 < n; j0 += 64)
      for (int i = i0; i < i0 + 64 && i < n; i++)
        for (int j = j0 > i + 1 ? j0 : i + 1; j < j0 + 64 && j < n; j++) c[(size_t)i * n + j] = c[(size_t)j * n + i];
}

int regimes_sgemm(int trans_a, int trans_b, int m, int n, int k, const float* a, const float* b, float* c) {
  // one row, one column or k = 1: no packing (gemv.c; it uses no shared buffer)
  if (regimes_vector_product(trans_a, trans_b, m, n, k, a, b, c)) return 0;
  choose_kernel();
  pthread_mutex_lock(&products);
  int status = sgemm_serialized(trans_a, trans_b, m, n, k, a, b, c);
  pthread_mutex_unlock(&products);
  return status;
}

int regimes_ssyrk(int trans, int n, int k, const float* a, float* c) {
  choose_kernel();
  pthread_mutex_lock(&products);
  int status = ssyrk_serialized(trans, n, k, a, c);
  pthread_mutex_unlock(&products);
  return status;
}

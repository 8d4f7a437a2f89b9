// The body of eigen-lite.c's solver, included twice: once for the baseline instruction set and once
// compiled for AVX2/FMA (SUFFIX and TARGET set by the includer). LAPACK's dsyevd in outline:
// Householder tridiagonalization in panels (dsytrd), the tridiagonal's eigenvectors by Cuppen's
// divide and conquer with Gu and Eisenstat's recomputed ẑ (dstedc: deflation as dlaed2, one secular
// root per interval as dlaed4, vectors as dlaed3; implicit QL with Wilkinson's shift on the small
// leaves, as numerics' host solver, host/tridiagonal-eigen.ts), then the reflectors applied to them
// in blocks (compact WY, as dormtr). The matrix-heavy steps run through a float64 packed-panel
// product below. Eigenvectors are kept as rows throughout (row j of a block holds the eigenvector of
// d[j]), so every copy, rotation and product runs along contiguous rows.
#define NAME2(a, b) a##b
#define NAME(a, b) NAME2(a, b)

// ---- float64 product: c[m×n] (= or +=) a[m×k]·b[k×n], row-major with leading dimensions ----

TARGET static void NAME(dkernel, SUFFIX)(int kc, const double* a, const double* b, double* acc) {
  // a 4×8 register block of VW-wide vectors (8 ymm accumulators with AVX2, 16 xmm without)
  enum { LANES = DC_NR / VW };
  VEC c[DC_MR][LANES];
  for (int r = 0; r < DC_MR; r++)
    for (int l = 0; l < LANES; l++) c[r][l] = (VEC){0};
  for (int q = 0; q < kc; q++, a += DC_MR, b += DC_NR) {
    VEC bq[LANES];
    for (int l = 0; l < LANES; l++) bq[l] = *(const VEC*)(b + l * VW);
    for (int r = 0; r < DC_MR; r++)
      for (int l = 0; l < LANES; l++) c[r][l] += a[r] * bq[l];
  }
  for (int r = 0; r < DC_MR; r++)
    for (int l = 0; l < LANES; l++) *(VEC*)(acc + r * DC_NR + l * VW) = c[r][l];
}

// rows [i0, i1) of the product, with packing buffers of its own
TARGET static int NAME(dgemm_rows, SUFFIX)(const DcProduct* p, int i0, int i1) {
  const int n = p->n, k = p->k;
  // buffers of the blocks this call packs, no larger (a small product maps no large buffer)
  const size_t kc_max = k < DC_KC ? (size_t)(k > 0 ? k : 1) : DC_KC;
  const size_t nc_max = (size_t)((n < DC_NC ? n : DC_NC) + DC_NR - 1) / DC_NR * DC_NR;
  const size_t mc_max = (size_t)((i1 - i0 < DC_MC ? i1 - i0 : DC_MC) + DC_MR - 1) / DC_MR * DC_MR;
  double* pb = aligned_alloc(32, sizeof(double) * kc_max * nc_max);
  double* pa = aligned_alloc(32, sizeof(double) * kc_max * mc_max);
  double acc[DC_MR * DC_NR] __attribute__((aligned(32)));
  if (!pb || !pa) {
    free(pb);
    free(pa);
    return -1;
  }
  if (k == 0 && !p->accumulate)
    for (int i = i0; i < i1; i++) memset(p->c + (size_t)i * p->ldc, 0, sizeof(double) * (size_t)n);
  for (int j0 = 0; j0 < n; j0 += DC_NC) {
    const int nc = n - j0 < DC_NC ? n - j0 : DC_NC, panels = (nc + DC_NR - 1) / DC_NR;
    for (int q0 = 0; q0 < k; q0 += DC_KC) {
      const int kc = k - q0 < DC_KC ? k - q0 : DC_KC, add = p->accumulate || q0 > 0;
      for (int jp = 0; jp < panels; jp++) {
        double* dst = pb + (size_t)jp * kc * DC_NR;
        const int width = nc - jp * DC_NR < DC_NR ? nc - jp * DC_NR : DC_NR;
        for (int q = 0; q < kc; q++) {
          const double* src = p->b + (size_t)(q0 + q) * p->ldb + j0 + jp * DC_NR;
          for (int j = 0; j < DC_NR; j++) dst[q * DC_NR + j] = j < width ? src[j] : 0;
        }
      }
      for (int r0 = i0; r0 < i1; r0 += DC_MC) {
        const int mc = i1 - r0 < DC_MC ? i1 - r0 : DC_MC, rpanels = (mc + DC_MR - 1) / DC_MR;
        for (int ip = 0; ip < rpanels; ip++) {
          double* dst = pa + (size_t)ip * kc * DC_MR;
          for (int r = 0; r < DC_MR; r++) {
            const int row = r0 + ip * DC_MR + r;
            const double* src = p->a + (size_t)row * p->lda + q0;
            if (row < r0 + mc)
              for (int q = 0; q < kc; q++) dst[q * DC_MR + r] = src[q];
            else
              for (int q = 0; q < kc; q++) dst[q * DC_MR + r] = 0;
          }
        }
        for (int ip = 0; ip < rpanels; ip++) {
          const int height = mc - ip * DC_MR < DC_MR ? mc - ip * DC_MR : DC_MR;
          for (int jp = 0; jp < panels; jp++) {
            const int width = nc - jp * DC_NR < DC_NR ? nc - jp * DC_NR : DC_NR;
            NAME(dkernel, SUFFIX)(kc, pa + (size_t)ip * kc * DC_MR, pb + (size_t)jp * kc * DC_NR, acc);
            for (int r = 0; r < height; r++) {
              double* row = p->c + (size_t)(r0 + ip * DC_MR + r) * p->ldc + j0 + jp * DC_NR;
              for (int j = 0; j < width; j++) row[j] = add ? row[j] + acc[r * DC_NR + j] : acc[r * DC_NR + j];
            }
          }
        }
      }
    }
  }
  free(pb);
  free(pa);
  return 0;
}

TARGET static void NAME(dgemm_range, SUFFIX)(void* arg, int from, int to) {
  DcProduct* p = arg;
  if (NAME(dgemm_rows, SUFFIX)(p, from, to) != 0) p->failed = 1;  // a benign race: any writer sets 1
}

// c (= or +=) a·b; rows of c split over regimes_gemm_threads() threads. Returns 0 or −1000 (memory).
TARGET static int NAME(dgemm, SUFFIX)(int m, int n, int k, const double* a, int lda, const double* b, int ldb,
                                       double* c, int ldc, int accumulate) {
  DcProduct p = {m, n, k, a, lda, b, ldb, c, ldc, accumulate, 0};
  if (m <= 0 || n <= 0) return 0;
  int threads = regimes_gemm_threads();
  const double flops = 2.0 * m * n * (double)k;
  if (flops < DC_THREAD_FLOPS * threads) threads = (int)(flops / DC_THREAD_FLOPS);
  regimes_parallel_ranges(threads, m, DC_MR, NAME(dgemm_range, SUFFIX), &p);
  return p.failed ? -1000 : 0;
}

// ---- Householder tridiagonalization in panels (LAPACK's dsytrd / dlatrd, lower triangle) ----

// p[k1 … to) = rows [from, to) of the lower triangle times v, into a buffer of this thread's
TARGET static void* NAME(symv_part, SUFFIX)(void* arg) {
  const DcSymv* s = arg;
  const size_t M = (size_t)s->m;
  double* p = s->p;
  const double* v = s->v;
  for (int i = s->k1; i < s->to; i++) p[i] = 0;
  for (int i = s->from; i < s->to; i++) {
    const double* ri = s->w + (size_t)i * M;
    const double vi = v[i];
    // VW-wide by hand: the compiler keeps a sum's order, so would not vectorize the dot
    VEC vi4, acc0 = {0}, acc1 = {0};
    for (int l = 0; l < VW; l++) vi4[l] = vi;
    int j = s->k1;
    for (; j + 2 * VW <= i; j += 2 * VW) {
      const VEC r0 = *(const VECU*)(ri + j), r1 = *(const VECU*)(ri + j + VW);
      acc0 += r0 * *(const VECU*)(v + j);
      acc1 += r1 * *(const VECU*)(v + j + VW);
      *(VECU*)(p + j) += r0 * vi4;
      *(VECU*)(p + j + VW) += r1 * vi4;
    }
    acc0 += acc1;
    double acc = 0;
    for (int l = 0; l < VW; l++) acc += acc0[l];
    for (; j < i; j++) {
      acc += ri[j] * v[j];
      p[j] += ri[j] * vi;
    }
    p[i] += acc + ri[i] * vi;
  }
  return NULL;
}

// p[k1 … m) = A[k1:, k1:] v from the lower triangle, rows split over up to `threads` threads by
// equal areas of the triangle, each with its own buffer (parts, threads × m), summed here.
TARGET static void NAME(symv, SUFFIX)(const double* w, int m, int k1, const double* v, double* p, double* parts,
                                       int threads) {
  const int n = m - k1;
  if (n < DC_SYMV_THREADED || threads < 2) threads = 1;
  DcSymv jobs[DC_MAX_THREADS];
  for (int t = 0; t < threads; t++) {
    const int from = k1 + (int)(n * sqrt((double)t / threads)), to = k1 + (int)(n * sqrt((double)(t + 1) / threads));
    jobs[t] = (DcSymv){w, m, v, k1, from, t == threads - 1 ? m : to, t == 0 ? p : parts + (size_t)t * m};
  }
  regimes_run_threads(threads, NAME(symv_part, SUFFIX), jobs, sizeof jobs[0]);
  for (int i = jobs[0].to; i < m; i++) p[i] = 0;  // the first part wrote p only up to its last row
  for (int t = 1; t < threads; t++)
    for (int i = k1; i < jobs[t].to; i++) p[i] += jobs[t].p[i];
}

// T = Qᵀ A Q with d, e its diagonals; reflector k (I − β_k v_k v_kᵀ) left in row k of w at columns
// k + 1 … m − 1. Panels of DC_NB columns: each column is brought up to date from the panel's
// earlier ones (V, W), A's product with its reflector corrected for them, and the trailing matrix
// updated once per panel, A ← A − V Wᵀ − W Vᵀ, as one product. Returns 0 or −1000.
TARGET static int NAME(reduce, SUFFIX)(double* w, int m, double* d, double* e, double* beta, double* p) {
  const size_t M = (size_t)m;
  int threads = regimes_gemm_threads();
  if (threads > DC_MAX_THREADS) threads = DC_MAX_THREADS;
  double* vp = malloc(sizeof(double) * M * DC_NB);        // V, row r at vp + r·nb
  double* wp = malloc(sizeof(double) * M * DC_NB);        // W
  double* x = malloc(sizeof(double) * M * 2 * DC_NB);     // −[V W] of the trailing rows
  double* yt = malloc(sizeof(double) * M * 2 * DC_NB);    // [W V]ᵀ
  double* parts = malloc(sizeof(double) * M * (size_t)threads);
  double wv[DC_NB], vv[DC_NB];
  int status = (!vp || !wp || !x || !yt || !parts) ? -1000 : 0;
  for (int k0 = 0; k0 < m - 2 && status == 0; k0 += DC_NB) {
    const int nb = m - 2 - k0 < DC_NB ? m - 2 - k0 : DC_NB;
    for (int i = 0; i < nb; i++) {
      const int k = k0 + i;
      double* rk = w + (size_t)k * M;
      for (int r = k + 1; r < m; r++) rk[r] = w[(size_t)r * M + k];
      // column k brought up to date: − V Wᵀ − W Vᵀ of the panel's earlier columns
      for (int r = k; r < m; r++) {
        double s = 0;
        for (int l = 0; l < i; l++) s += vp[(size_t)r * nb + l] * wp[(size_t)k * nb + l] + wp[(size_t)r * nb + l] * vp[(size_t)k * nb + l];
        rk[r] -= s;
      }
      for (int r = k0; r <= k; r++) vp[(size_t)r * nb + i] = wp[(size_t)r * nb + i] = 0;
      d[k] = rk[k];
      const double x0 = rk[k + 1];
      double tail = 0;
      for (int r = k + 2; r < m; r++) tail += rk[r] * rk[r];
      if (tail == 0) {
        e[k] = x0;
        beta[k] = 0;
        for (int r = k + 1; r < m; r++) vp[(size_t)r * nb + i] = wp[(size_t)r * nb + i] = 0;
        continue;
      }
      const double norm = sqrt(x0 * x0 + tail);
      const double alpha = x0 >= 0 ? -norm : norm;
      const double v0 = x0 - alpha;
      rk[k + 1] = v0;
      const double b = 2 / (v0 * v0 + tail);
      beta[k] = b;
      e[k] = alpha;
      // p = b·(A − V Wᵀ − W Vᵀ) v, with A as it was at the panel's start
      NAME(symv, SUFFIX)(w, m, k + 1, rk, p, parts, threads);
      for (int l = 0; l < i; l++) {
        double sw = 0, sv = 0;
        for (int r = k + 1; r < m; r++) {
          sw += wp[(size_t)r * nb + l] * rk[r];
          sv += vp[(size_t)r * nb + l] * rk[r];
        }
        wv[l] = sw;
        vv[l] = sv;
      }
      double pv = 0;
      for (int r = k + 1; r < m; r++) {
        double s = p[r];
        for (int l = 0; l < i; l++) s -= vp[(size_t)r * nb + l] * wv[l] + wp[(size_t)r * nb + l] * vv[l];
        p[r] = b * s;
        pv += p[r] * rk[r];
      }
      const double half = b * pv / 2;
      for (int r = k + 1; r < m; r++) {
        vp[(size_t)r * nb + i] = rk[r];
        wp[(size_t)r * nb + i] = p[r] - half * rk[r];
      }
    }
    // the trailing lower triangle, by blocks of rows: A[r0:r1, t0:r1] −= [V W][r0:r1] [W V][t0:r1]ᵀ
    const int t0 = k0 + nb, n = m - t0, kk = 2 * nb;
    for (int r = 0; r < n; r++)
      for (int l = 0; l < nb; l++) {
        const double vr = vp[(size_t)(t0 + r) * nb + l], wr = wp[(size_t)(t0 + r) * nb + l];
        x[(size_t)r * kk + l] = -vr;
        x[(size_t)r * kk + nb + l] = -wr;
        yt[(size_t)l * n + r] = wr;
        yt[(size_t)(nb + l) * n + r] = vr;
      }
    for (int r0 = 0; r0 < n && status == 0; r0 += DC_UPDATE_ROWS) {
      const int r1 = n - r0 < DC_UPDATE_ROWS ? n : r0 + DC_UPDATE_ROWS;
      status = NAME(dgemm, SUFFIX)(r1 - r0, r1, kk, x + (size_t)r0 * kk, kk, yt, n, w + (size_t)(t0 + r0) * M + t0, m, 1);
    }
  }
  if (status == 0 && m >= 2) {
    d[m - 2] = w[(size_t)(m - 2) * M + m - 2];
    e[m - 2] = w[(size_t)(m - 1) * M + m - 2];
  }
  if (status == 0 && m >= 1) d[m - 1] = w[(size_t)(m - 1) * M + m - 1];
  free(vp);
  free(wp);
  free(x);
  free(yt);
  free(parts);
  return status;
}

// ---- the secular equation 1 + Σ w_i / (δ_i − λ) = 0 of D + ρ z zᵀ, one root per interval ----

// Root r of the K poles δ (ascending, distinct) with weights w_i = ρ z_i² > 0: λ_r = δ[*origin] +
// *offset, the offset from the nearer pole so that δ_i − λ_r = (δ_i − δ_origin) − offset keeps its
// relative accuracy. Rational model of the two sides' sums (the "middle way"), bisection when its
// step leaves the bracket.
TARGET static void NAME(secular_root, SUFFIX)(int K, const double* delta, const double* w, double wsum, int r,
                                               int* origin, double* offset) {
  double lo, hi;
  int o = r;
  if (r == K - 1) {
    lo = 0;
    hi = wsum;  // f(Σw) ≥ 0: every term is at least −w_i / Σw
  } else {
    const double h = delta[r + 1] - delta[r];
    double f = 1;
    for (int i = 0; i < K; i++) f += w[i] / ((delta[i] - delta[r]) - h / 2);
    if (f >= 0) {
      lo = 0;
      hi = h / 2;
    } else {
      o = r + 1;
      lo = -h / 2;
      hi = 0;
    }
    if (f == 0) {
      *origin = r;
      *offset = h / 2;
      return;
    }
  }
  const double left = delta[r] - delta[o];
  const double right = r + 1 < K ? delta[r + 1] - delta[o] : 0;
  double x = (lo + hi) / 2;
  for (int iteration = 0; iteration < 200; iteration++) {
    double psi = 0, dpsi = 0, phi = 0, dphi = 0;
    for (int i = 0; i <= r; i++) {
      const double t = 1 / ((delta[i] - delta[o]) - x);
      psi += w[i] * t;
      dpsi += w[i] * t * t;
    }
    for (int i = r + 1; i < K; i++) {
      const double t = 1 / ((delta[i] - delta[o]) - x);
      phi += w[i] * t;
      dphi += w[i] * t * t;
    }
    const double f = 1 + psi + phi;
    if (f == 0) break;
    if (f < 0)
      lo = x;
    else
      hi = x;
    // converged: |f| within the rounding of its terms and of x itself
    if (fabs(f) <= 8 * DBL_EPSILON * ((double)K + 1 + fabs(psi) + fabs(phi)) + DBL_EPSILON * fabs(x) * (dpsi + dphi))
      break;
    if (hi - lo <= 2 * DBL_EPSILON * fmax(fabs(lo), fabs(hi))) break;
    // model: c + q/(left − y) + s/(right − y), matching ψ, φ and their derivatives at x
    const double q = dpsi * (left - x) * (left - x), s = dphi * (right - x) * (right - x);
    const double c = 1 + (psi - dpsi * (left - x)) + (r + 1 < K ? phi - dphi * (right - x) : 0);
    double y = NAN;
    if (r + 1 == K) {
      if (c > 0) y = left + q / c;
    } else {
      // c y² − (c(L+R) + q + s) y + (cLR + qR + sL) = 0: its one root between the poles
      const double B = -(c * (left + right) + q + s), C = c * left * right + q * right + s * left;
      if (c == 0) {
        if (B != 0) y = -C / B;
      } else {
        const double disc = B * B - 4 * c * C;
        if (disc >= 0) {
          const double t = -(B + copysign(sqrt(disc), B)) / 2;
          const double y1 = t / c, y2 = t != 0 ? C / t : NAN;
          y = (y1 > lo && y1 < hi) ? y1 : y2;
        }
      }
    }
    // the model's root when it lies inside the bracket; bisection otherwise, and every fourth
    // step after the first 20 (a guaranteed halving whatever the model does)
    x = (y > lo && y < hi && !(iteration >= 20 && iteration % 4 == 3)) ? y : (lo + hi) / 2;
  }
  *origin = o;
  *offset = x;
}

// ---- the leaves ----

// Implicit QL on (d, e), e[i] coupling i and i+1; rotations on rows i, i+1 of `rows` (m entries
// each, ld apart). Returns 0, or l + 1 when eigenvalue l did not converge in 60 iterations.
TARGET static int NAME(ql, SUFFIX)(double* d, double* e, double* rows, int m, int ld) {
  const size_t M = (size_t)m, LD = (size_t)ld;
  e[m - 1] = 0;
  for (int l = 0; l < m; l++) {
    for (int iteration = 0;; iteration++) {
      int end = l;
      while (end < m - 1 && fabs(e[end]) > DBL_EPSILON * (fabs(d[end]) + fabs(d[end + 1]))) end++;
      if (end == l) break;
      if (iteration >= 60) return l + 1;
      double g = (d[l + 1] - d[l]) / (2 * e[l]);
      double r = hypot(g, 1);
      g = d[end] - d[l] + e[l] / (g + (g >= 0 ? r : -r));
      double s = 1, c = 1, shift = 0;
      bool deflated = false;
      for (int i = end - 1; i >= l; i--) {
        const double f = s * e[i], b = c * e[i];
        r = hypot(f, g);
        e[i + 1] = r;
        if (r == 0) {
          d[i + 1] -= shift;
          e[end] = 0;
          deflated = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1] - shift;
        r = (d[i] - g) * s + 2 * c * b;
        shift = s * r;
        d[i + 1] = g + shift;
        g = c * r - b;
        double* restrict zi = rows + (size_t)i * LD;
        double* restrict zn = zi + LD;
        for (size_t q = 0; q < M; q++) {
          const double a0 = zi[q], a1 = zn[q];
          zn[q] = s * a0 + c * a1;
          zi[q] = c * a0 - s * a1;
        }
      }
      if (deflated) continue;
      d[l] -= shift;
      e[l] = g;
      e[end] = 0;
    }
  }
  return 0;
}

// ---- one merge: the eigenvectors of a block from those of its two halves ----

// The block of size s at (d, E with row stride ld) whose halves [0, h) and [h, s) are solved (rows
// of E the halves' eigenvectors, zero outside their half), coupled by β (T = diag(T₁, T₂) +
// |β| u uᵀ with u = e_{h−1} + sign(β) e_h, the halves' ends already lowered by |β|). Returns 0 or
// −1000.
TARGET static int NAME(merge, SUFFIX)(int s, int h, double beta, double* d, double* E, int ld, DcWork* wk) {
  const double rho0 = fabs(beta), sigma = beta < 0 ? -1 : 1;
  if (rho0 == 0) return 0;
  double* z = wk->z;
  int* type = wk->type;
  for (int i = 0; i < s; i++) {
    z[i] = i < h ? E[(size_t)i * ld + h - 1] : sigma * E[(size_t)i * ld + h];
    type[i] = i < h ? 1 : 3;
  }
  double norm = 0;
  for (int i = 0; i < s; i++) norm += z[i] * z[i];
  const double rho = rho0 * norm;
  norm = sqrt(norm);
  for (int i = 0; i < s; i++) z[i] /= norm;
  // ascending order of d
  ranked* order = wk->order;
  double dmax = 0;
  for (int i = 0; i < s; i++) {
    order[i] = (ranked){d[i], i};
    dmax = fmax(dmax, fabs(d[i]));
  }
  qsort(order, (size_t)s, sizeof(ranked), dc_ascending);
  const double tol = 8 * DBL_EPSILON * fmax(dmax, rho);
  // deflation (dlaed2): a negligible ρ z_i, or two close poles rotated so that one z is zero
  int* kept = wk->kept;
  int K = 0, prev = -1;
  for (int t = 0; t < s; t++) {
    const int j = order[t].index;
    if (rho * fabs(z[j]) <= tol) continue;  // deflated: (d_j, row j) is an eigenpair of the block
    if (prev < 0) {
      prev = j;
      continue;
    }
    double c = z[j], sn = z[prev];
    const double tau = hypot(c, sn);
    c /= tau;
    sn = -sn / tau;
    if (fabs((d[j] - d[prev]) * c * sn) <= tol) {
      z[j] = tau;
      z[prev] = 0;
      double* rp = E + (size_t)prev * ld;
      double* rj = E + (size_t)j * ld;
      for (int q = 0; q < s; q++) {
        const double a = rp[q], b = rj[q];
        rp[q] = c * a + sn * b;
        rj[q] = c * b - sn * a;
      }
      const double dp = d[prev] * c * c + d[j] * sn * sn, dj = d[prev] * sn * sn + d[j] * c * c;
      d[prev] = dp;
      d[j] = dj;
      if (type[prev] != type[j]) type[prev] = type[j] = 2;
      prev = j;  // prev is deflated with its rotated row
    } else {
      kept[K++] = prev;
      prev = j;
    }
  }
  if (prev >= 0) kept[K++] = prev;
  if (K == 0) return 0;
  double* delta = wk->delta;
  double* w = wk->w;
  double* zhat = wk->zhat;
  double wsum = 0;
  for (int t = 0; t < K; t++) {
    delta[t] = d[kept[t]];
    w[t] = rho * z[kept[t]] * z[kept[t]];
    wsum += w[t];
  }
  int* origin = wk->origin;
  double* offset = wk->offset;
  for (int r = 0; r < K; r++) NAME(secular_root, SUFFIX)(K, delta, w, wsum, r, &origin[r], &offset[r]);
  // Gu–Eisenstat: the ẑ for which the computed roots are exact, so that the vectors are orthogonal
  for (int i = 0; i < K; i++) {
    double prod = ((delta[origin[K - 1]] - delta[i]) + offset[K - 1]) / rho;
    for (int j = 0; j < i; j++) prod *= ((delta[origin[j]] - delta[i]) + offset[j]) / (delta[j] - delta[i]);
    for (int j = i; j < K - 1; j++)
      prod *= ((delta[origin[j]] - delta[i]) + offset[j]) / (delta[j + 1] - delta[i]);
    zhat[i] = copysign(sqrt(fabs(prod)), z[kept[i]]);
  }
  // the kept rows gathered by type (1: first half only, 2: both, 3: second half only), so that
  // each half of the new rows is one product over a contiguous range of them
  int* position = wk->position;
  int n1 = 0, n2 = 0;
  for (int t = 0; t < K; t++) n1 += type[kept[t]] == 1, n2 += type[kept[t]] == 2;
  {
    int next[4] = {0, 0, n1, n1 + n2};
    for (int t = 0; t < K; t++) position[t] = next[type[kept[t]]]++;
  }
  double* rows = wk->rows;  // K × s
  double* u = wk->u;        // K × K: row r the unit eigenvector of root r, in gathered order
  for (int t = 0; t < K; t++) memcpy(rows + (size_t)position[t] * s, E + (size_t)kept[t] * ld, sizeof(double) * s);
  for (int r = 0; r < K; r++) {
    double* ur = u + (size_t)r * K;
    double sum = 0;
    for (int i = 0; i < K; i++) {
      const double v = zhat[i] / ((delta[i] - delta[origin[r]]) - offset[r]);
      ur[position[i]] = v;
      sum += v * v;
    }
    const double scale = 1 / sqrt(sum);
    for (int i = 0; i < K; i++) ur[i] *= scale;
  }
  // the deflated rows (and their d) moved to the block's last s − K rows, in order: the t-th of them
  // (at row ≥ t) goes to row K + t (≥ its row), last first, so none is overwritten before it moves;
  // the kept rows are in `rows` already
  char* deflated = (char*)wk->type;  // type is read no more: one flag per row
  for (int i = 0; i < s; i++) deflated[i] = 1;
  for (int t = 0; t < K; t++) deflated[kept[t]] = 0;
  for (int i = s - 1, to = s - 1; i >= 0; i--) {
    if (!deflated[i]) continue;
    if (to != i) {
      memcpy(E + (size_t)to * ld, E + (size_t)i * ld, sizeof(double) * s);
      d[to] = d[i];
    }
    to--;
  }
  // the new rows into the block's first K: their first h entries from kept rows of types 1 and 2,
  // the rest from types 2 and 3
  for (int r = 0; r < K; r++) d[r] = delta[origin[r]] + offset[r];
  const int status = NAME(dgemm, SUFFIX)(K, h, n1 + n2, u, K, rows, s, E, ld, 0);
  if (status != 0) return status;
  return NAME(dgemm, SUFFIX)(K, s - h, K - n1, u + n1, K, rows + (size_t)n1 * s + h, s, E + h, ld, 0);
}

// The eigen-decomposition of the tridiagonal block (d, e) of size s: eigenvalues in d (in no
// order), eigenvectors as rows of E's s×s block (row stride ld; set here). e is overwritten,
// e[s − 1] included. Returns 0, −1000 (memory) or l + 1 when QL failed on a leaf.
TARGET static int NAME(dc, SUFFIX)(int s, double* d, double* e, double* E, int ld, DcWork* wk) {
  if (s <= DC_LEAF) {
    for (int i = 0; i < s; i++) {
      memset(E + (size_t)i * ld, 0, sizeof(double) * s);
      E[(size_t)i * ld + i] = 1;
    }
    return NAME(ql, SUFFIX)(d, e, E, s, ld);
  }
  const int h = s / 2;
  const double beta = e[h - 1];
  d[h - 1] -= fabs(beta);
  d[h] -= fabs(beta);
  for (int i = 0; i < h; i++) memset(E + (size_t)i * ld + h, 0, sizeof(double) * (s - h));
  for (int i = h; i < s; i++) memset(E + (size_t)i * ld, 0, sizeof(double) * h);
  int status = NAME(dc, SUFFIX)(h, d, e, E, ld, wk);
  if (status == 0) status = NAME(dc, SUFFIX)(s - h, d + h, e + h, E + (size_t)h * ld + h, ld, wk);
  if (status != 0) return status;
  return NAME(merge, SUFFIX)(s, h, beta, d, E, ld, wk);
}

// ---- back-transformation: rows of E times Qᵀ = H_{m−3} ⋯ H_0, in blocks of DC_BACK_NB reflectors ----

// Reflector k is I − β_k v_k v_kᵀ with v_k in row k of w at columns k + 1 … m − 1 (reduce's
// layout). For the block b0 … b1 − 1: H_{b1−1} ⋯ H_{b0} = I − V Tᵀ Vᵀ with T upper triangular
// (LAPACK's dlarft, forward), so E ← E − (E V) Tᵀ Vᵀ, two products. Returns 0 or −1000.
TARGET static int NAME(back_transform, SUFFIX)(int m, const double* w, const double* beta, double* E) {
  const size_t M = (size_t)m;
  const int count = m - 2;  // reflectors 0 … m − 3
  if (count <= 0) return 0;
  double* v = malloc(sizeof(double) * M * DC_BACK_NB);   // len × nb
  double* vt = malloc(sizeof(double) * M * DC_BACK_NB);  // nb × len
  double* ev = malloc(sizeof(double) * M * DC_BACK_NB);  // m × nb
  double* evt = malloc(sizeof(double) * M * DC_BACK_NB); // m × nb
  double* t = malloc(sizeof(double) * DC_BACK_NB * DC_BACK_NB);
  double dots[DC_BACK_NB];
  int status = (!v || !vt || !ev || !evt || !t) ? -1000 : 0;
  for (int b0 = ((count - 1) / DC_BACK_NB) * DC_BACK_NB; b0 >= 0 && status == 0; b0 -= DC_BACK_NB) {
    const int nb = count - b0 < DC_BACK_NB ? count - b0 : DC_BACK_NB, c0 = b0 + 1, len = m - c0;
    for (int j = 0; j < len; j++)
      for (int i = 0; i < nb; i++) {
        const double x = j >= i ? w[(size_t)(b0 + i) * M + c0 + j] : 0;
        v[(size_t)j * nb + i] = x;
        vt[(size_t)i * len + j] = x;
      }
    memset(t, 0, sizeof(double) * DC_BACK_NB * DC_BACK_NB);
    for (int i = 0; i < nb; i++) {
      const double b = beta[b0 + i];
      t[i * nb + i] = b;
      if (i == 0 || b == 0) continue;
      for (int l = 0; l < i; l++) {
        double s = 0;
        for (int j = i; j < len; j++) s += vt[(size_t)l * len + j] * vt[(size_t)i * len + j];
        dots[l] = s;
      }
      for (int l = 0; l < i; l++) {
        double s = 0;
        for (int q = l; q < i; q++) s += t[l * nb + q] * dots[q];
        t[l * nb + i] = -b * s;
      }
    }
    status = NAME(dgemm, SUFFIX)(m, nb, len, E + c0, m, v, nb, ev, nb, 0);
    if (status != 0) break;
    // evt = −(E V) Tᵀ: entry (r, i) = −Σ_{l ≥ i} ev[r][l] T[i][l]
    for (int r = 0; r < m; r++) {
      const double* er = ev + (size_t)r * nb;
      double* out = evt + (size_t)r * nb;
      for (int i = 0; i < nb; i++) {
        double s = 0;
        for (int l = i; l < nb; l++) s += er[l] * t[i * nb + l];
        out[i] = -s;
      }
    }
    status = NAME(dgemm, SUFFIX)(m, len, nb, evt, nb, vt, len, E + c0, m, 1);
  }
  free(v);
  free(vt);
  free(ev);
  free(evt);
  free(t);
  return status;
}

// w: the scaled lower triangle (overwritten by the reflectors); d, e, beta, p: m each; z: m×m, row j
// the eigenvector of d[j] on return (d in no order). Returns 0, −1000 or l + 1 (QL on a leaf).
TARGET static int NAME(solve, SUFFIX)(int m, double* w, double* d, double* e, double* beta, double* p, double* z) {
  int status = NAME(reduce, SUFFIX)(w, m, d, e, beta, p);
  DcWork wk;
  if (status == 0) status = dc_work(&wk, m);
  else wk = (DcWork){0};
  if (status == 0) status = NAME(dc, SUFFIX)(m, d, e, z, m, &wk);
  dc_free(&wk);
  if (status == 0) status = NAME(back_transform, SUFFIX)(m, w, beta, z);
  return status;
}

#undef NAME
#undef NAME2

// The body of eigen-lite.c's solver, included twice: once for the baseline instruction set and once
// compiled for AVX2/FMA (SUFFIX and TARGET set by the includer). The algorithm and its layout are
// numerics' symmetricEigenTridiagonal (host/tridiagonal-eigen.ts), in C: Householder reduction of
// the lower triangle to tridiagonal form, Qᵀ formed row by row, implicit QL with Wilkinson's shift
// whose rotations act on contiguous rows of Qᵀ.
#define NAME2(a, b) a##b
#define NAME(a, b) NAME2(a, b)

TARGET static void NAME(reduce, SUFFIX)(double* w, int m, double* d, double* e, double* beta, double* p) {
  const size_t M = (size_t)m;
  for (int k = 0; k < m - 2; k++) {
    double* rk = w + (size_t)k * M;
    for (int j = k + 1; j < m; j++) rk[j] = w[(size_t)j * M + k];
    d[k] = rk[k];
    const double x0 = rk[k + 1];
    double tail = 0;
    for (int j = k + 2; j < m; j++) tail += rk[j] * rk[j];
    if (tail == 0) {
      e[k] = x0;
      beta[k] = 0;
      continue;
    }
    const double norm = sqrt(x0 * x0 + tail);
    const double alpha = x0 >= 0 ? -norm : norm;
    const double v0 = x0 - alpha;
    rk[k + 1] = v0;
    const double b = 2 / (v0 * v0 + tail);
    beta[k] = b;
    e[k] = alpha;
    // p = b·A₂₂v from the lower triangle: row i's dot with v, and its scatter into p[j < i]
    for (int i = k + 1; i < m; i++) p[i] = 0;
    for (int i = k + 1; i < m; i++) {
      const double* ri = w + (size_t)i * M;
      const double vi = rk[i];
      double s = 0;
      for (int j = k + 1; j < i; j++) {
        s += ri[j] * rk[j];
        p[j] += ri[j] * vi;
      }
      p[i] += s + ri[i] * vi;
    }
    double pv = 0;
    for (int i = k + 1; i < m; i++) {
      p[i] *= b;
      pv += p[i] * rk[i];
    }
    const double half = b * pv / 2;
    for (int i = k + 1; i < m; i++) p[i] -= half * rk[i];
    // A₂₂ ← A₂₂ − v qᵀ − q vᵀ on the lower triangle
    for (int i = k + 1; i < m; i++) {
      double* ri = w + (size_t)i * M;
      const double vi = rk[i], qi = p[i];
      for (int j = k + 1; j <= i; j++) ri[j] -= vi * p[j] + qi * rk[j];
    }
  }
  if (m >= 2) {
    d[m - 2] = w[(size_t)(m - 2) * M + m - 2];
    e[m - 2] = w[(size_t)(m - 1) * M + m - 2];
  }
  if (m >= 1) d[m - 1] = w[(size_t)(m - 1) * M + m - 1];
}

// Qᵀ = H_{m−3}···H_0 as I·H_{m−3}·…·H_0, eight reflectors applied to a row while it is in cache.
TARGET static void NAME(form_qt, SUFFIX)(const double* w, const double* beta, int m, double* z) {
  const size_t M = (size_t)m;
  memset(z, 0, sizeof(double) * M * M);
  for (size_t i = 0; i < M; i++) z[i * M + i] = 1;
  for (int top = m - 3; top >= 0; top -= 8) {
    const int bottom = top - 7 > 0 ? top - 7 : 0;
    for (int i = bottom + 1; i < m; i++) {
      double* zi = z + (size_t)i * M;
      for (int k = top; k >= bottom; k--) {
        const double b = beta[k];
        if (b == 0 || i <= k) continue;
        const double* v = w + (size_t)k * M;
        double s = 0;
        for (int j = k + 1; j < m; j++) s += zi[j] * v[j];
        s *= b;
        if (s == 0) continue;
        for (int j = k + 1; j < m; j++) zi[j] -= s * v[j];
      }
    }
  }
}

// Implicit QL on (d, e), e[i] coupling i and i+1; rotations on rows i, i+1 of `rows`. Returns 0, or
// l + 1 when eigenvalue l did not converge in 60 iterations.
TARGET static int NAME(ql, SUFFIX)(double* d, double* e, double* rows, int m) {
  const size_t M = (size_t)m;
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
        double* restrict zi = rows + (size_t)i * M;
        double* restrict zn = zi + M;
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

TARGET static int NAME(solve, SUFFIX)(int m, double* w, double* d, double* e, double* beta, double* p, double* z) {
  NAME(reduce, SUFFIX)(w, m, d, e, beta, p);
  NAME(form_qt, SUFFIX)(w, beta, m, z);
  return NAME(ql, SUFFIX)(d, e, z, m);
}

#undef NAME
#undef NAME2

/**
 * Symmetric eigen-decomposition for matrices too large for cyclic Jacobi on the host: Householder
 * reduction to a tridiagonal T = Qᵀ A Q, then implicit QL iterations with Wilkinson's shift on T,
 * their Givens rotations accumulated into Q (the algorithm of LAPACK's dsytrd + dsteqr, unblocked,
 * float64). It costs ~4/3 m³ (reduction) + 4/3 m³ (forming Q) + ~6 m³ (rotations) flops against
 * Jacobi's ~10 sweeps of 6 m³, with every inner loop along a contiguous row. Measured on one core
 * of this 2-core VM (an RBF-like kernel, d = 8): 0.06 s at m = 256 (Jacobi 0.6 s), 0.4 s at 512
 * (Jacobi 24 s), 2.8 s at 1024, 24 s at 2048, 207 s at 4096.
 */

import { NumericalError } from '../errors.js';

/** The error for a NaN or ±Infinity in the matrix to decompose (every eigen solver says the same). */
export function nonFiniteEntry(m: number, value: number, row?: number, column?: number): NumericalError {
  const where = row === undefined ? '' : ` (${value} at row ${row}, column ${column})`;
  return new NumericalError(
    `symmetric eigen-decomposition of a ${m}×${m} matrix: it has a non-finite entry${where}`,
    {
      hint: 'a NaN or an infinity in the data, or a kernel that overflows (huge inputs or weightVariance): check the inputs and the learner’s options',
    },
  );
}

/** Reflectors applied to each row of Q while it is in cache (fewer passes over the m×m array). */
const REFLECTOR_BLOCK = 8;
/** QL iterations allowed per eigenvalue before giving up (2–3 are usual). */
const MAX_QL_ITERATIONS = 60;

/**
 * A compiled solver, a backend's (the native addon built without OpenBLAS, native/eigen-lite.c: the
 * same reduction, then divide and conquer where this file runs QL over the whole matrix): it decomposes `w` — the finite lower triangle, scaled, overwritten — into
 * `values` (descending, ties in index order) and `vectors` (column j for values[j]), and returns 0,
 * −1 for a non-finite entry, −1000 when out of memory, or l + 1 when QL did not converge for
 * eigenvalue l.
 */
export type CompiledEigen = (
  m: number,
  w: Float64Array,
  values: Float64Array,
  vectors: Float64Array,
) => number;

/**
 * Eigenvalues (descending) and orthonormal eigenvectors (column j of `vectors`, row-major m×m) of
 * the symmetric m×m matrix whose lower triangle `a` holds (row-major; the strict upper triangle is
 * not read), in JavaScript or by `compiled` where given. Throws NumericalError on a non-finite
 * entry, RangeError if QL fails to converge (not seen on finite input) or the compiled form runs
 * out of memory.
 */
export function symmetricEigenTridiagonal(
  a: ArrayLike<number>,
  m: number,
  compiled?: CompiledEigen,
): { values: Float64Array; vectors: Float64Array } {
  if (a.length < m * m)
    throw new RangeError(`symmetricEigenTridiagonal: ${a.length} entries for a ${m}×${m} matrix`);
  // scaled by the largest |entry|: the reflectors' squared norms neither overflow nor underflow
  // (divided, not multiplied by 1/scale, which overflows for a largest entry below ~5.6e-309)
  let scale = 0;
  for (let i = 0; i < m; i++)
    for (let j = 0; j <= i; j++) {
      const v = a[i * m + j]!;
      if (!Number.isFinite(v)) throw nonFiniteEntry(m, v, i, j);
      scale = Math.max(scale, Math.abs(v));
    }
  const back = scale > 0 ? scale : 1;
  const work = Float64Array.from({ length: m * m }, (_, i) => a[i]! / back);
  if (compiled && m > 0) {
    const values = new Float64Array(m);
    const vectors = new Float64Array(m * m);
    const status = compiled(m, work, values, vectors);
    if (status === -1) throw nonFiniteEntry(m, Number.NaN);
    if (status !== 0)
      throw new RangeError(
        status === -1000
          ? `symmetricEigenTridiagonal: out of memory for a ${m}×${m} decomposition`
          : `symmetricEigenTridiagonal: QL did not converge for eigenvalue ${status - 1} of ${m}`,
      );
    for (let i = 0; i < m; i++) values[i] = values[i]! * back;
    return { values, vectors };
  }
  const { diagonal, offDiagonal, beta } = reduceToTridiagonal(work, m);
  const rows = formQTransposed(work, beta, m);
  qlImplicit(diagonal, offDiagonal, rows, m);
  const order = Array.from({ length: m }, (_, i) => i).sort((i, j) => diagonal[j]! - diagonal[i]!);
  const values = Float64Array.from(order, (i) => diagonal[i]! * back);
  const vectors = new Float64Array(m * m);
  order.forEach((from, to) => {
    const row = from * m;
    for (let k = 0; k < m; k++) vectors[k * m + to] = rows[row + k]!;
  });
  return { values, vectors };
}

/**
 * Householder reduction in place on the lower triangle of `w` (row-major m×m). Step k maps column
 * k below the diagonal to (α, 0, …, 0) with H_k = I − β_k v vᵀ; v is kept in row k right of the
 * diagonal (a part of the array the lower-triangle updates never read), β_k in `beta`.
 */
function reduceToTridiagonal(
  w: Float64Array,
  m: number,
): { diagonal: Float64Array; offDiagonal: Float64Array; beta: Float64Array } {
  const diagonal = new Float64Array(m);
  const offDiagonal = new Float64Array(m);
  const beta = new Float64Array(m);
  const p = new Float64Array(m);
  for (let k = 0; k < m - 2; k++) {
    const rk = k * m;
    // column k below the diagonal, current, copied into row k
    for (let j = k + 1; j < m; j++) w[rk + j] = w[j * m + k]!;
    diagonal[k] = w[rk + k]!;
    const x0 = w[rk + k + 1]!;
    let tail = 0;
    for (let j = k + 2; j < m; j++) tail += w[rk + j]! * w[rk + j]!;
    if (tail === 0) {
      offDiagonal[k] = x0;
      continue;
    }
    const norm = Math.sqrt(x0 * x0 + tail);
    const alpha = x0 >= 0 ? -norm : norm;
    const v0 = x0 - alpha;
    w[rk + k + 1] = v0;
    const b = 2 / (v0 * v0 + tail);
    beta[k] = b;
    offDiagonal[k] = alpha;
    // p = b·A₂₂v from A₂₂'s lower triangle: row i gives its dot with v and scatters into p[j < i]
    for (let i = k + 1; i < m; i++) p[i] = 0;
    for (let i = k + 1; i < m; i++) {
      const ri = i * m;
      const vi = w[rk + i]!;
      let s = 0;
      for (let j = k + 1; j < i; j++) {
        const aij = w[ri + j]!;
        s += aij * w[rk + j]!;
        p[j] = p[j]! + aij * vi;
      }
      p[i] = p[i]! + s + w[ri + i]! * vi;
    }
    let pv = 0;
    for (let i = k + 1; i < m; i++) {
      p[i] = p[i]! * b;
      pv += p[i]! * w[rk + i]!;
    }
    // q = p − (b·pᵀv/2)·v; A₂₂ ← A₂₂ − v qᵀ − q vᵀ (lower triangle)
    const half = (b * pv) / 2;
    for (let i = k + 1; i < m; i++) p[i] = p[i]! - half * w[rk + i]!;
    for (let i = k + 1; i < m; i++) {
      const ri = i * m;
      const vi = w[rk + i]!;
      const qi = p[i]!;
      for (let j = k + 1; j <= i; j++) w[ri + j] = w[ri + j]! - vi * p[j]! - qi * w[rk + j]!;
    }
  }
  if (m >= 2) {
    diagonal[m - 2] = w[(m - 2) * m + m - 2]!;
    offDiagonal[m - 2] = w[(m - 1) * m + m - 2]!;
  }
  if (m >= 1) diagonal[m - 1] = w[(m - 1) * m + m - 1]!;
  return { diagonal, offDiagonal, beta };
}

/**
 * Qᵀ = H_{m−3} ··· H_0 (Q = H_0 ··· H_{m−3}, each H symmetric), built as I·H_{m−3}·…·H_0: right
 * multiplications, which act on each row alone, so a block of reflectors is applied to a row while
 * it is in cache. Row j of the result is column j of Q, the layout the QL rotations want.
 */
function formQTransposed(w: Float64Array, beta: Float64Array, m: number): Float64Array {
  const z = new Float64Array(m * m);
  for (let i = 0; i < m; i++) z[i * m + i] = 1;
  for (let top = m - 3; top >= 0; top -= REFLECTOR_BLOCK) {
    const bottom = Math.max(0, top - REFLECTOR_BLOCK + 1);
    // rows ≤ k are untouched by H_k (their entries right of column k are still those of I)
    for (let i = bottom + 1; i < m; i++) {
      const ri = i * m;
      for (let k = top; k >= bottom; k--) {
        const b = beta[k]!;
        if (b === 0 || i <= k) continue;
        const rk = k * m;
        let s0 = 0;
        let s1 = 0;
        let j = k + 1;
        for (; j + 1 < m; j += 2) {
          s0 += z[ri + j]! * w[rk + j]!;
          s1 += z[ri + j + 1]! * w[rk + j + 1]!;
        }
        if (j < m) s0 += z[ri + j]! * w[rk + j]!;
        const s = b * (s0 + s1);
        if (s === 0) continue;
        for (j = k + 1; j < m; j++) z[ri + j] = z[ri + j]! - s * w[rk + j]!;
      }
    }
  }
  return z;
}

/**
 * Implicit QL with Wilkinson's shift on the tridiagonal (d, e) (e[i] couples i and i+1), in place:
 * d ends as the eigenvalues; each Givens rotation on (i, i+1) is applied to rows i and i+1 of `rows`.
 */
function qlImplicit(d: Float64Array, e: Float64Array, rows: Float64Array, m: number): void {
  e[m - 1] = 0;
  for (let l = 0; l < m; l++) {
    for (let iteration = 0; ; iteration++) {
      let end = l;
      while (end < m - 1 && Math.abs(e[end]!) > Number.EPSILON * (Math.abs(d[end]!) + Math.abs(d[end + 1]!)))
        end++;
      if (end === l) break;
      if (iteration >= MAX_QL_ITERATIONS)
        throw new RangeError(`symmetricEigenTridiagonal: QL did not converge for eigenvalue ${l} of ${m}`);
      // Wilkinson's shift from the leading 2×2 block, folded into the first rotation's g
      let g = (d[l + 1]! - d[l]!) / (2 * e[l]!);
      let r = Math.hypot(g, 1);
      g = d[end]! - d[l]! + e[l]! / (g + (g >= 0 ? r : -r));
      let s = 1;
      let c = 1;
      let shift = 0;
      let deflated = false;
      for (let i = end - 1; i >= l; i--) {
        const f = s * e[i]!;
        const b = c * e[i]!;
        r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          // f = g = 0: the block splits at i; restart from the updated d
          d[i + 1] = d[i + 1]! - shift;
          e[end] = 0;
          deflated = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1]! - shift;
        r = (d[i]! - g) * s + 2 * c * b;
        shift = s * r;
        d[i + 1] = g + shift;
        g = c * r - b;
        const ri = i * m;
        const rn = ri + m;
        for (let k = 0; k < m; k++) {
          const zi = rows[ri + k]!;
          const zn = rows[rn + k]!;
          rows[rn + k] = s * zi + c * zn;
          rows[ri + k] = c * zi - s * zn;
        }
      }
      if (deflated) continue;
      d[l] = d[l]! - shift;
      e[l] = g;
      e[end] = 0;
    }
  }
}

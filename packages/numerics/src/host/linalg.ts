/**
 * Dense linear algebra on the host in float64, for the small systems of a ridge solve
 * (m×m with m = min(n, width)). Matrices are row-major Float64Array.
 */
import { NumericalError } from '../errors.js';
import { webAssemblyEigen } from './eigen-wasm.js';
import { symmetricEigenTridiagonal } from './tridiagonal-eigen.js';

/**
 * Whether a pivot (a diagonal entry less the squares before it) stops a Cholesky factorization: not
 * positive, NaN, or infinite. An infinite pivot would make L_jj infinite and the column below it 0,
 * a factor with no error whose solves return 0 for that unknown; every path fails it instead, as
 * webgpu's diagonal-block programs do.
 */
export function pivotFails(d: number): boolean {
  return !(d > 0 && d < Infinity);
}

/**
 * 0, or j + 1 for the first j whose diagonal entry of the m×m matrix at `a` (row stride `stride`,
 * from `offset`) is not positive and finite: an infinite pivot that a factorization which tests
 * only `d > 0` (LAPACK's potrf, the addon's loops) let through, seen on L's diagonal, or on L⁻¹'s,
 * where it leaves 1/∞ = 0.
 */
export function failedDiagonal(a: ArrayLike<number>, m: number, offset = 0, stride = m): number {
  for (let j = 0; j < m; j++) if (pivotFails(a[offset + j * stride + j]!)) return j + 1;
  return 0;
}

/**
 * In-place Cholesky A = L Lᵀ of a symmetric m×m matrix (lower triangle read; L written there, the
 * upper triangle zeroed): 0, or j + 1 where pivot j was not positive and finite (rows up to j are
 * then L's, row j as given).
 */
export function choleskyStatus(a: Float64Array, m: number): number {
  for (let j = 0; j < m; j++) {
    const rowJ = j * m;
    let diagonal = a[rowJ + j]!;
    for (let k = 0; k < j; k++) diagonal -= a[rowJ + k]! ** 2;
    if (pivotFails(diagonal)) return j + 1;
    const ljj = Math.sqrt(diagonal);
    a[rowJ + j] = ljj;
    for (let i = j + 1; i < m; i++) {
      const rowI = i * m;
      let s = a[rowI + j]!;
      for (let k = 0; k < j; k++) s -= a[rowI + k]! * a[rowJ + k]!;
      a[rowI + j] = s / ljj;
    }
    for (let k = j + 1; k < m; k++) a[rowJ + k] = 0;
  }
  return 0;
}

/** In-place Cholesky A = L Lᵀ of a symmetric positive-definite m×m matrix; returns L (lower). */
export function cholesky(a: Float64Array, m: number): Float64Array {
  const status = choleskyStatus(a, m);
  if (status !== 0) {
    const j = status - 1;
    let diagonal = a[j * m + j]!;
    for (let k = 0; k < j; k++) diagonal -= a[j * m + k]! ** 2;
    throw new NumericalError(
      `Cholesky failed at pivot ${j} of ${m} (value ${diagonal.toExponential(3)}): the matrix is not positive definite${Number.isFinite(diagonal) ? '' : ' or has entries that are not finite'}`,
      { hint: 'increase the ridge (regularization) so the system is better conditioned' },
    );
  }
  return a;
}

/**
 * L⁻¹ of a lower-triangular m×m L (row-major; its upper triangle is not read), by rows: row i is
 * −Σ_{k<i} L[i, k]·(row k) over L[i, i], each entry's sum in the order k = j, j + 1, …, so the
 * same values as by columns (bit for bit on blocks of 128–700; a sum of exactly 0 may come out +0
 * where it was −0), with the inner loop along a row (256×256: 5.6–6.4 against 7.6–8.2 ms).
 */
export function invertLower(l: Float64Array, m: number): Float64Array {
  const inv = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    const rowI = i * m;
    for (let k = 0; k < i; k++) {
      const c = l[rowI + k]!;
      const rowK = k * m;
      for (let j = 0; j <= k; j++) inv[rowI + j]! -= c * inv[rowK + j]!;
    }
    const d = l[rowI + i]!;
    for (let j = 0; j < i; j++) inv[rowI + j]! /= d;
    inv[rowI + i] = 1 / d;
  }
  return inv;
}

/**
 * The diagonal-block step of the panel Cholesky on the host: with A the b×b matrix in `a` (lower
 * triangle read; overwritten) and LLᵀ = A + shift·I, L⁻¹ (upper triangle zero), or only the status
 * (j + 1 where pivot j was not positive). What `BlockCholeskyKernel` computes where no backend
 * registers it, and what backend-node's JavaScript kernel runs.
 */
export function shiftedCholeskyInverse(
  a: Float64Array,
  b: number,
  shift: number,
): { status: number; inverse?: Float64Array } {
  for (let i = 0; i < b; i++) a[i * b + i]! += shift;
  const status = choleskyStatus(a, b);
  return status === 0 ? { status, inverse: invertLower(a, b) } : { status };
}

/** Solve L Lᵀ x = b for each of the `cols` columns of b (m×cols, row-major), in place. */
export function choleskySolve(l: Float64Array, m: number, b: Float64Array, cols = 1): Float64Array {
  for (let c = 0; c < cols; c++) {
    for (let i = 0; i < m; i++) {
      let s = b[i * cols + c]!;
      for (let k = 0; k < i; k++) s -= l[i * m + k]! * b[k * cols + c]!;
      b[i * cols + c] = s / l[i * m + i]!;
    }
    for (let i = m - 1; i >= 0; i--) {
      let s = b[i * cols + c]!;
      for (let k = i + 1; k < m; k++) s -= l[k * m + i]! * b[k * cols + c]!;
      b[i * cols + c] = s / l[i * m + i]!;
    }
  }
  return b;
}

/** x = (A + shift·I)⁻¹ b for symmetric positive semi-definite A (copied, not modified). */
export function solveShiftedSPD(
  a: ArrayLike<number>,
  m: number,
  shift: number,
  b: ArrayLike<number>,
  cols = 1,
) {
  const factor = Float64Array.from(a);
  for (let i = 0; i < m; i++) factor[i * m + i]! += shift;
  cholesky(factor, m);
  return choleskySolve(factor, m, Float64Array.from(b), cols);
}

/**
 * Eigen-decomposition of a symmetric m×m matrix by cyclic Jacobi rotations (float64, host).
 * Returns eigenvalues in descending order and the eigenvectors as the columns of `vectors`.
 * O(m³) per sweep: meant for the small matrices of alignment and quadrature (m up to a few hundred).
 */
export function symmetricEigen(
  a: ArrayLike<number>,
  m: number,
): { values: Float64Array; vectors: Float64Array } {
  const s = Float64Array.from(a);
  const v = new Float64Array(m * m);
  for (let i = 0; i < m; i++) v[i * m + i] = 1;
  const offDiagonal = () => {
    let sum = 0;
    for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) sum += s[i * m + j]! ** 2;
    return sum;
  };
  let scale = 0;
  for (let i = 0; i < m * m; i++) scale += s[i]! ** 2;
  for (let sweep = 0; sweep < 100 && offDiagonal() > 1e-30 * scale; sweep++) {
    for (let p = 0; p < m - 1; p++) {
      for (let q = p + 1; q < m; q++) {
        const apq = s[p * m + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (s[q * m + q]! - s[p * m + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const sn = t * c;
        for (let k = 0; k < m; k++) {
          const skp = s[k * m + p]!;
          const skq = s[k * m + q]!;
          s[k * m + p] = c * skp - sn * skq;
          s[k * m + q] = sn * skp + c * skq;
        }
        for (let k = 0; k < m; k++) {
          const spk = s[p * m + k]!;
          const sqk = s[q * m + k]!;
          s[p * m + k] = c * spk - sn * sqk;
          s[q * m + k] = sn * spk + c * sqk;
        }
        for (let k = 0; k < m; k++) {
          const vkp = v[k * m + p]!;
          const vkq = v[k * m + q]!;
          v[k * m + p] = c * vkp - sn * vkq;
          v[k * m + q] = sn * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: m }, (_, i) => i).sort((i, j) => s[j * m + j]! - s[i * m + i]!);
  const values = Float64Array.from(order, (i) => s[i * m + i]!);
  const vectors = new Float64Array(m * m);
  order.forEach((from, to) => {
    for (let k = 0; k < m; k++) vectors[k * m + to] = v[k * m + from]!;
  });
  return { values, vectors };
}

/**
 * Orthonormalize the rows of a rows×cols matrix (modified Gram–Schmidt, applied twice for
 * float64 stability). Throws when the rows are linearly dependent.
 */
export function orthonormalizeRows(a: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const q = Float64Array.from(a);
  for (let i = 0; i < rows; i++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let j = 0; j < i; j++) {
        let dot = 0;
        for (let k = 0; k < cols; k++) dot += q[i * cols + k]! * q[j * cols + k]!;
        for (let k = 0; k < cols; k++) q[i * cols + k]! -= dot * q[j * cols + k]!;
      }
    }
    let norm = 0;
    for (let k = 0; k < cols; k++) norm += q[i * cols + k]! ** 2;
    norm = Math.sqrt(norm);
    if (!(norm > 1e-10)) throw new NumericalError(`row ${i} is linearly dependent on the rows before it`);
    for (let k = 0; k < cols; k++) q[i * cols + k]! /= norm;
  }
  return q;
}

/** Largest m that `topEigenvectors` decomposes whole (the host's divide and conquer, as numerics' HOST_EIGEN_LIMIT). */
const WHOLE_EIGEN_LIMIT = 4096;

/**
 * The top-k eigenvectors (as k orthonormal rows, k×m) of a symmetric positive semi-definite
 * m×m matrix: a full decomposition up to m = 4096 (Jacobi up to 160, then the host's divide and
 * conquer in WebAssembly, or Householder + QL in JavaScript where it cannot load); above, orthogonal
 * iteration with Rayleigh–Ritz. Used for the top right-singular subspace of W from WᵀW. Until
 * 2026-12-06 the iteration (300 steps, no test of convergence) ran from m = 161: with λ₃/λ₂ = 0.995 at
 * m = 200 its top-2 subspace was 0.90 and 0.36 in cosine from the true one, and `alignment`'s
 * cos-min of an isotropic W (2000×400) 0.0096 against 0.0050.
 */
export function topEigenvectors(a: ArrayLike<number>, m: number, k: number, iterations = 300): Float64Array {
  if (m <= WHOLE_EIGEN_LIMIT) {
    const { vectors } = m <= 160 ? symmetricEigen(a, m) : symmetricEigenTridiagonal(a, m, webAssemblyEigen());
    const rows = new Float64Array(k * m);
    for (let j = 0; j < k; j++) for (let i = 0; i < m; i++) rows[j * m + i] = vectors[i * m + j]!;
    return rows;
  }
  // rows of q span the iterate; start from a deterministic full-rank block
  let q: Float64Array = new Float64Array(k * m);
  for (let j = 0; j < k; j++)
    for (let i = 0; i < m; i++)
      q[j * m + i] = Math.cos((i + 1) * (j + 1) * 0.7) + (i % (j + 2) === 0 ? 1 : 0);
  q = orthonormalizeRows(q, k, m);
  const next = new Float64Array(k * m);
  for (let it = 0; it < iterations; it++) {
    next.fill(0);
    for (let j = 0; j < k; j++)
      for (let i = 0; i < m; i++) {
        let s = 0;
        for (let l = 0; l < m; l++) s += a[i * m + l]! * q[j * m + l]!;
        next[j * m + i] = s;
      }
    q = orthonormalizeRows(next, k, m);
  }
  // Rayleigh–Ritz: rotate within the span to the eigenvectors of qAqᵀ (k×k)
  const small = new Float64Array(k * k);
  for (let j1 = 0; j1 < k; j1++)
    for (let j2 = 0; j2 < k; j2++) {
      let s = 0;
      for (let i = 0; i < m; i++) {
        let ai = 0;
        for (let l = 0; l < m; l++) ai += a[i * m + l]! * q[j2 * m + l]!;
        s += q[j1 * m + i]! * ai;
      }
      small[j1 * k + j2] = s;
    }
  const { vectors } = symmetricEigen(small, k);
  const out = new Float64Array(k * m);
  for (let j = 0; j < k; j++)
    for (let i = 0; i < m; i++)
      for (let l = 0; l < k; l++) out[j * m + i]! += vectors[l * k + j]! * q[l * m + i]!;
  return out;
}

/**
 * Cosines of the principal angles between the row spaces of a (p×m) and b (q×m), both with
 * orthonormal rows: the singular values of a bᵀ, in descending order (min(p, q) of them).
 */
export function principalCosines(
  a: ArrayLike<number>,
  p: number,
  b: ArrayLike<number>,
  q: number,
  m: number,
): number[] {
  const c = new Float64Array(p * q);
  for (let i = 0; i < p; i++)
    for (let j = 0; j < q; j++) {
      let s = 0;
      for (let l = 0; l < m; l++) s += a[i * m + l]! * b[j * m + l]!;
      c[i * q + j] = s;
    }
  // singular values of c from the eigenvalues of c cᵀ (p×p) or cᵀc (q×q), the smaller
  const small = Math.min(p, q);
  const g = new Float64Array(small * small);
  for (let i = 0; i < small; i++)
    for (let j = 0; j < small; j++) {
      let s = 0;
      if (p <= q) for (let l = 0; l < q; l++) s += c[i * q + l]! * c[j * q + l]!;
      else for (let l = 0; l < p; l++) s += c[l * q + i]! * c[l * q + j]!;
      g[i * small + j] = s;
    }
  return Array.from(symmetricEigen(g, small).values, (v) => Math.min(1, Math.sqrt(Math.max(0, v))));
}

/**
 * Dense linear algebra on the host in float64, for the small systems of a ridge solve
 * (m×m with m = min(n, width)). Matrices are row-major Float64Array.
 */
import { NumericalError } from './errors.js';

/** In-place Cholesky A = L Lᵀ of a symmetric positive-definite m×m matrix; returns L (lower). */
export function cholesky(a: Float64Array, m: number): Float64Array {
  for (let j = 0; j < m; j++) {
    const rowJ = j * m;
    let diagonal = a[rowJ + j]!;
    for (let k = 0; k < j; k++) diagonal -= a[rowJ + k]! ** 2;
    if (!(diagonal > 0)) {
      throw new NumericalError(
        `Cholesky failed at pivot ${j} of ${m} (value ${diagonal.toExponential(3)}): the matrix is not positive definite`,
        { hint: 'increase the ridge (regularization) so the system is better conditioned' },
      );
    }
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
  return a;
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

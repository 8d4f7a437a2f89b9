/**
 * Float64 references for linear-algebra tests (ours and plugins'): matrices with a chosen spectrum,
 * so that condition numbers — and the tolerances that follow from them — are known exactly.
 */
import { spawnSync } from 'node:child_process';
import { type ColumnPanels, orthonormalizeRows } from '@regimes/numerics';
import tf from '@regimes/numerics/tfjs';
import { Rng } from '../rng/rng.js';

/** The product of row-major A (m×k) and B (k×n) in float64. */
export function matMulReference(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  m: number,
  k: number,
  n: number,
): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p]!;
      for (let j = 0; j < n; j++) out[i * n + j]! += aip * b[p * n + j]!;
    }
  return out;
}

/** The transpose of row-major A (rows×cols), in float64. */
export function transposeReference(a: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j]!;
  return out;
}

/**
 * An m×m orthogonal Q (row-major, float64): core's `orthonormalizeRows` on a Gaussian matrix — a
 * square matrix with orthonormal rows has orthonormal columns too.
 */
export function orthonormalColumns(m: number, rng: Rng | number): Float64Array {
  const source = typeof rng === 'number' ? Rng.fromSeed(rng) : rng;
  return orthonormalizeRows(source.normal(m * m, new Float64Array(m * m)), m, m);
}

/**
 * A = Q diag(eigs) Qᵀ (row-major, float64, exactly symmetric) with Q from `orthonormalColumns`: its
 * condition number is max|eig| / min|eig|.
 */
export function symmetricWithSpectrum(
  m: number,
  eigs: (i: number) => number,
  rng: Rng | number,
): Float64Array {
  const q = orthonormalColumns(m, rng);
  const a = new Float64Array(m * m);
  for (let i = 0; i < m; i++)
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = 0; k < m; k++) s += q[i * m + k]! * eigs(k) * q[j * m + k]!;
      a[i * m + j] = s;
      a[j * m + i] = s;
    }
  return a;
}

/** max_j ‖A q_j − λ_j q_j‖ / |λ_0| in float64, for eigenpairs (vectors as columns, row-major). */
export function eigenResidual(
  a: ArrayLike<number>,
  m: number,
  values: ArrayLike<number>,
  vectors: ArrayLike<number>,
): number {
  let worst = 0;
  for (let j = 0; j < m; j++) {
    let norm = 0;
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let k = 0; k < m; k++) s += a[i * m + k]! * vectors[k * m + j]!;
      norm += (s - values[j]! * vectors[i * m + j]!) ** 2;
    }
    worst = Math.max(worst, Math.sqrt(norm));
  }
  return worst / Math.abs(values[0]!);
}

/**
 * numerics' column panels of a symmetric m×m matrix (row-major float64): rows start..m−1 of columns
 * start..start+size−1, as float32 tensors, the form `choleskyPanels` consumes.
 */
export function columnPanelsOf(a: Float64Array, m: number): ColumnPanels {
  return (start, size) => {
    const out = new Float32Array((m - start) * size);
    for (let i = start; i < m; i++)
      for (let j = 0; j < size; j++) out[(i - start) * size + j] = a[i * m + start + j]!;
    return tf.tensor2d(out, [m - start, size]);
  };
}

/** ‖x − y‖ / ‖y‖ in float64. */
export function relativeError(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < y.length; i++) {
    num += (x[i]! - y[i]!) ** 2;
    den += y[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

let numpyCheck: string | undefined | null = null;
let pythonCheck: string | undefined | null = null;

/**
 * Why tests against a reference in plain Python (its standard library only, e.g. `decimal`) cannot
 * run here (`python3` missing), or undefined when they can. Checked once per process.
 */
export function pythonMissing(): string | undefined {
  if (pythonCheck === null) {
    const probe = spawnSync('python3', ['--version'], { stdio: 'ignore' });
    pythonCheck = probe.status === 0 ? undefined : 'python3 is not available';
  }
  return pythonCheck;
}

/**
 * Why tests against a numpy port cannot run here (`python3` with numpy missing), or undefined when
 * they can: the reason to pass to `it.skipIf` / `describe.skipIf`. Checked once per process.
 */
export function numpyMissing(): string | undefined {
  if (numpyCheck === null) {
    const probe = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
    numpyCheck = probe.status === 0 ? undefined : 'python3 with numpy is not available';
  }
  return numpyCheck;
}

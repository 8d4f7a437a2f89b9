/** Ridge systems in the dual (a kernel on the samples) and in the primal (explicit features). */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunction } from '../kernels.js';
import type { ColumnPanels } from '@regimes/numerics';

export interface RidgeSystem {
  /** Size of the system: n (dual) or the number of features (primal). */
  readonly m: number;
  /** Number of training samples. */
  readonly n: number;
  readonly panels: ColumnPanels;
  /** M whole (m×m, symmetric) where the system holds it anyway (the primal Gram matrix). */
  readonly matrix?: tf.Tensor2D;
  /** Right-hand side: y (dual) or Φᵀy (primal), m×k. */
  readonly rhs: tf.Tensor2D;
  readonly labels: tf.Tensor2D;
  /** Mean of diag M, the scale of jitter. */
  readonly meanDiagonal: number;
  /** Train predictions for coefficients c at ridge shift nλ. */
  trainPrediction(coefficients: tf.Tensor2D, shift: number): tf.Tensor2D;
  /** Frees what the system holds (the primal Gram matrix and right-hand side). */
  release?(): void;
  /**
   * Primal: Φᵀ (m×n, a new tensor), whose columns give the leverages H_ii = φ_iᵀA⁻¹φ_i. Absent in
   * the dual, where H = M A⁻¹ = I − nλA⁻¹ gives H_ii = 1 − nλ(A⁻¹)_ii.
   */
  leverageRows?(): tf.Tensor2D;
}

/** Column panels of K(X, X): rows start..n of columns start..start+size. */
export function kernelPanels(x: tf.Tensor2D, kernel: KernelFunction) {
  return (start: number, size: number) =>
    tf.tidy(() => kernel(tf.slice(x, [start, 0], [-1, -1]), tf.slice(x, [start, 0], [size, -1])));
}

/** mean of diag K(X, X), one block of rows at a time. */
async function meanKernelDiagonal(x: tf.Tensor2D, kernel: KernelFunction, block = 512): Promise<number> {
  const n = x.shape[0];
  let sum = 0;
  for (let s = 0; s < n; s += block) {
    const size = Math.min(block, n - s);
    const t = tf.tidy(() => {
      const rows = tf.slice(x, [s, 0], [size, -1]);
      return tf.sum(tf.mul(kernel(rows, rows), tf.eye(size)));
    });
    sum += (await t.data())[0]!;
    t.dispose();
  }
  return sum / n;
}

/**
 * (K + nλI)α = y. Train predictions Kα = y − nλα follow from the system itself (exact up to the
 * reported residual); leverages are H_ii = 1 − nλ(A⁻¹)_ii (the ridge's default, no leverageRows).
 */
export async function dualSystem(
  x: tf.Tensor2D,
  y: tf.Tensor2D,
  kernel: KernelFunction,
): Promise<RidgeSystem> {
  const n = x.shape[0];
  return {
    m: n,
    n,
    panels: kernelPanels(x, kernel),
    rhs: y,
    labels: y,
    meanDiagonal: await meanKernelDiagonal(x, kernel),
    trainPrediction: (alpha, shift) => tf.tidy(() => tf.sub(y, tf.mul(alpha, shift)) as tf.Tensor2D),
  };
}

/**
 * (ΦᵀΦ + nλI)a = Φᵀy with Φ n×p (p ≤ n); leverages H_ii = φ_iᵀA⁻¹φ_i from the columns of Φᵀ. The Gram matrix ΦᵀΦ (p×p,
 * no larger than the n×n kernel the dual would need) is formed once and served in panels, so the
 * factorization and the refinement passes do not recompute it. The caller calls `release`.
 */
export async function primalSystem(phi: tf.Tensor2D, y: tf.Tensor2D): Promise<RidgeSystem> {
  const [n, p] = phi.shape;
  const gram = tf.matMul(phi, phi, true, false) as tf.Tensor2D;
  const diagonal = tf.tidy(() => tf.sum(tf.square(phi)));
  const meanDiagonal = (await diagonal.data())[0]! / p;
  diagonal.dispose();
  const rhs = tf.matMul(phi, y, true, false) as tf.Tensor2D;
  return {
    m: p,
    n,
    panels: (start, size) => tf.slice(gram, [start, start], [p - start, size]) as tf.Tensor2D,
    matrix: gram,
    release: () => tf.dispose([gram, rhs]),
    rhs,
    labels: y,
    meanDiagonal,
    trainPrediction: (a) => tf.matMul(phi, a),
    leverageRows: () => tf.transpose(phi),
  };
}

/** Φ Φᵀ as a kernel: the dual of explicit features, for width > n. */
export function featureKernel(featurize: (x: tf.Tensor2D) => tf.Tensor2D): KernelFunction {
  return (a, b) => tf.tidy(() => tf.matMul(featurize(a), featurize(b), false, true));
}

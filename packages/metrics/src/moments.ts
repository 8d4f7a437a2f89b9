/**
 * Per-point values of the test set accumulated on the host in float64: the means of p columns and
 * their sample covariance, merged chunk by chunk (Chan, Golub & LeVeque 1979), so that a
 * Monte-Carlo standard error costs no memory beyond one chunk of values.
 */
import type { Dataset, TestChunks } from '@regimes/core';
import tf from '@regimes/numerics/tfjs';

export class Moments {
  /** Rows seen. */
  count = 0;
  readonly mean: Float64Array;
  /** Σ (v − mean)(v − mean)ᵀ, p × p row-major. */
  private readonly comoment: Float64Array;

  constructor(readonly columns: number) {
    this.mean = new Float64Array(columns);
    this.comoment = new Float64Array(columns * columns);
  }

  /** Add `values.length / columns` rows (row-major). */
  add(values: ArrayLike<number>): void {
    const p = this.columns;
    const rows = values.length / p;
    if (!rows) return;
    // the chunk's own mean and co-moment (two passes over a chunk in float64), then the merge
    const mean = new Float64Array(p);
    for (let i = 0; i < rows; i++) for (let a = 0; a < p; a++) mean[a]! += values[i * p + a]!;
    for (let a = 0; a < p; a++) mean[a]! /= rows;
    const co = new Float64Array(p * p);
    const dev = new Float64Array(p);
    for (let i = 0; i < rows; i++) {
      for (let a = 0; a < p; a++) dev[a] = values[i * p + a]! - mean[a]!;
      for (let a = 0; a < p; a++) for (let b = a; b < p; b++) co[a * p + b]! += dev[a]! * dev[b]!;
    }
    const total = this.count + rows;
    const wNew = rows / total;
    const cross = (this.count * rows) / total;
    for (let a = 0; a < p; a++) dev[a] = mean[a]! - this.mean[a]!;
    for (let a = 0; a < p; a++)
      for (let b = a; b < p; b++) {
        const v = this.comoment[a * p + b]! + co[a * p + b]! + cross * dev[a]! * dev[b]!;
        this.comoment[a * p + b] = v;
        this.comoment[b * p + a] = v;
      }
    for (let a = 0; a < p; a++) this.mean[a]! += wNew * dev[a]!;
    this.count = total;
  }

  /** Sample covariance of columns a and b (divisor count − 1; 0 with one row). */
  covariance(a: number, b: number): number {
    return this.count > 1 ? this.comoment[a * this.columns + b]! / (this.count - 1) : 0;
  }

  /**
   * Standard error of a smooth function of the column means, by the delta method:
   * √(gᵀ S g / m) with g its gradient at the means and S the sample covariance. For g = e_a it is
   * the usual s_a/√m of a mean.
   */
  standardError(gradient: readonly number[]): number {
    let q = 0;
    for (let a = 0; a < this.columns; a++)
      for (let b = 0; b < this.columns; b++) q += gradient[a]! * gradient[b]! * this.covariance(a, b);
    return Math.sqrt(Math.max(q, 0) / this.count);
  }
}

/**
 * The moments of per-point values over the test set: `perPoint(chunk)` gives a rows × p tensor
 * for each chunk (it runs inside tf.tidy), downloaded and merged in float64.
 */
export async function testMoments(
  test: TestChunks,
  columns: number,
  perPoint: (chunk: Dataset) => tf.Tensor2D,
): Promise<Moments> {
  const moments = new Moments(columns);
  await test.forEachChunk(async (chunk) => {
    const values = tf.tidy(() => perPoint(chunk));
    try {
      moments.add(await values.data());
    } finally {
      values.dispose();
    }
  });
  return moments;
}

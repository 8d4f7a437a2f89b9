/**
 * The two ways to apply (M + shift·I)⁻¹ for one λ of a ridge system (ridge.ts):
 * - Cholesky per λ: the blocked factorization of numerics, M consumed in panels and never held whole
 *   beside its factor (memory: one copy), a factorization per λ.
 * - one eigen-decomposition M = Q diag(μ) Qᵀ for all λ (as sklearn's RidgeCV): per λ,
 *   A⁻¹b = Q diag(1/(μ + nλ)) Qᵀ b, df = Σ μ_i/(μ_i + nλ), diag(A⁻¹)_i = Σ_j Q_ij²/(μ_j + nλ), all
 *   O(m²) per λ. Needs M and Q whole (two copies) and a backend with the eigen kernel (native: LAPACK
 *   dsyevd) or m ≤ 4096 (the host's float64 QL).
 */
import {
  choleskyPanels,
  choleskySolveTensor,
  disposeFactor,
  hostValues,
  inverseDiagonal,
  lowerTriangleHost,
  solveLower,
  symmetricEigenTensor,
} from '@regimes/numerics';
import tf from '@regimes/numerics/tfjs';
import type { RidgeSystem } from './systems.js';

/**
 * The eigen path's resolution: the float32 matrix perturbs its smallest eigenvalues by ~1e-8 of the
 * trace (1.7e-5 on damian's 1000-wide readout Gram of trace ~2000; dsyevd's own error, ~1e-15·μ_max,
 * is far below), and against a float64 solve of the same system the predictions were within 1e-3
 * down to shifts of 1e-8 of the trace (docs/learners.md). A direction whose μ + shift is at most this
 * fraction of tr M is not resolved: the pseudo-inverse leaves it out.
 */
export const EIGEN_RESOLUTION = 3e-8;

/** (M + shift·I)⁻¹ for one λ, by whichever solver serves it. */
export interface ShiftedInverse {
  /** The shift actually applied: nλ plus any jitter. */
  readonly shift: number;
  readonly jitter: number;
  readonly eigen: boolean;
  /**
   * Eigen-directions left out as unresolved (μ + shift ≤ EIGEN_RESOLUTION·tr M): the inverse is then
   * the pseudo-inverse on the others, the ridgeless limit's minimum-norm solution there. 0 elsewhere.
   */
  readonly truncated: number;
  /** P r: r's part in the directions the inverse keeps; absent where none is left out. */
  readonly kept?: (r: tf.Tensor2D) => tf.Tensor2D;
  solve(b: tf.Tensor2D): tf.Tensor2D;
  /** tr(M A⁻¹). */
  df(): Promise<number>;
  /** diag(A⁻¹). */
  inverseDiagonal(): Promise<Float64Array>;
  /** diag(Rᵀ A⁻¹ R) for R m×c. */
  quadraticForms(rows: tf.Tensor2D): Promise<Float64Array>;
  dispose(): void;
}

/** A tensor's values on the host in float64; the tensor is freed. */
async function hostColumn(t: tf.Tensor): Promise<Float64Array> {
  return Float64Array.from(await hostValues(t));
}

/** (M + shift·I)⁻¹ by the blocked Cholesky of the system's panels, with jitter if float32 needs it. */
export async function choleskyInverse(
  system: RidgeSystem,
  shift: number,
  block: number,
): Promise<ShiftedInverse> {
  const factor = await choleskyPanels(system.panels, system.m, {
    shift,
    block,
    meanDiagonal: system.meanDiagonal,
  });
  let diagonal: Promise<Float64Array> | undefined;
  const inverseDiag = () => (diagonal ??= inverseDiagonal(factor));
  const total = shift + factor.jitter;
  return {
    shift: total,
    jitter: factor.jitter,
    eigen: false,
    truncated: 0,
    solve: (b) => choleskySolveTensor(factor, b),
    // df = tr(M A⁻¹) = m − shift·tr(A⁻¹)
    df: async () => system.m - total * (await inverseDiag()).reduce((a, b) => a + b, 0),
    inverseDiagonal: inverseDiag,
    quadraticForms: (rows) => hostColumn(tf.tidy(() => tf.sum(tf.square(solveLower(factor, rows)), 0))),
    dispose: () => disposeFactor(factor),
  };
}

/**
 * The eigenvector (column of Q) nearest 1/√m: with an intercept M is centred, and 1 is an exact
 * null direction of it, whose float32 eigenvalue (±1e-6 on a relu NTK with biasVariance 1, n = 256)
 * is noise. Kept when positive, it entered df and the leverages: 1 − H_ii = nλ(A⁻¹)_ii − 1/n lost
 * its exact cancellation, and loo at λ = 1e-6 rose by 1.6% on `native` and `cpu` but not on `wasm`
 * (whose eigenvalue came out negative), which chose another λ (a helper's audit, 2026-12-07).
 */
async function nullDirection(vectors: tf.Tensor2D): Promise<number> {
  const sums = await hostValues(tf.tidy(() => tf.abs(tf.sum(vectors, 0))));
  let best = 0;
  for (let j = 1; j < sums.length; j++) if (sums[j]! > sums[best]!) best = j;
  return best;
}

/**
 * Sets the eigenvalues float32 cannot tell from 0 to 0, alike on both sides. M is positive
 * semi-definite, so its negative eigenvalues are noise, and the noise of the others is as large:
 * |μ| ≤ τ counts as 0 with τ the largest negative's size, capped at 1e-6 of Σ|μ| (an M that is not
 * semi-definite keeps what lies beyond). Zeroing the negative ones alone biased df upwards on a
 * rank-deficient M (rf with a quadratic σ, rank ≤ 37, n = 512, λ = 1e-7: df 41.1 / 44.0 / 38.2 on
 * native / wasm / cpu, where the Cholesky path gave 35.4–36.9).
 */
function zeroNoise(values: Float64Array): void {
  const cap = 1e-6 * values.reduce((sum, mu) => sum + Math.abs(mu), 0);
  const tau = Math.min(cap, Math.max(0, -values.reduce((low, mu) => Math.min(low, mu), 0)));
  for (let i = 0; i < values.length; i++) if (Math.abs(values[i]!) <= tau) values[i] = 0;
}

/**
 * M = Q diag(μ) Qᵀ once, for every λ. M comes from the system whole (primal) or is assembled from
 * its panels on the host as its lower triangle L (the kernel reads no more), so that
 * M x = Lx + Lᵀx − diag(M)∘x serves the refinement without recomputing the kernel.
 */
export class EigenRidge {
  private squaredVectors?: tf.Tensor2D;
  private projection?: { rows: tf.Tensor2D; squared: tf.Tensor2D };

  private constructor(
    readonly values: Float64Array,
    readonly vectors: tf.Tensor2D,
    private readonly lower: tf.Tensor2D | undefined,
    private readonly diagonal: tf.Tensor2D | undefined,
    private readonly matrix: tf.Tensor2D | undefined,
    /** m × the mean diagonal float32 rounded M's entries at (RidgeSystem.scaleDiagonal): the cutoff's floor. */
    private readonly scaleTrace: number,
  ) {}

  static async create(system: RidgeSystem, block: number): Promise<EigenRidge> {
    const m = system.m;
    let lower: tf.Tensor2D | undefined;
    let diagonal: tf.Tensor2D | undefined;
    if (!system.matrix) {
      const host = await lowerTriangleHost(system.panels, m, block);
      diagonal = tf.tensor2d(
        Float32Array.from({ length: m }, (_, i) => host[i * m + i]!),
        [m, 1],
      );
      try {
        lower = tf.tensor2d(host, [m, m]);
      } catch (error) {
        diagonal.dispose();
        throw error;
      }
    }
    let eigen: Awaited<ReturnType<typeof symmetricEigenTensor>> | undefined;
    try {
      eigen = await symmetricEigenTensor(system.matrix ?? lower!);
      const values = Float64Array.from(await eigen.values.data());
      eigen.values.dispose();
      // the dual with an intercept (a primal system holds its Gram whole, which 1 does not annihilate)
      if (system.intercept && !system.matrix) values[await nullDirection(eigen.vectors)] = 0;
      zeroNoise(values);
      const scaleTrace = system.m * Math.max(system.scaleDiagonal ?? system.meanDiagonal, 0);
      return new EigenRidge(values, eigen.vectors, lower, diagonal, system.matrix, scaleTrace);
    } catch (error) {
      tf.dispose([lower, diagonal, eigen?.values, eigen?.vectors].filter((t) => t !== undefined));
      throw error;
    }
  }

  /** M x. */
  product(x: tf.Tensor2D): tf.Tensor2D {
    if (this.matrix) return tf.matMul(this.matrix, x);
    const l = this.lower!;
    const d = this.diagonal!;
    return tf.tidy(() => tf.sub(tf.add(tf.matMul(l, x), tf.matMul(l, x, true, false)), tf.mul(d, x)));
  }

  /**
   * μ + shift at or below this is not resolved: EIGEN_RESOLUTION of tr M, or of the trace of the
   * matrix M's float32 entries came from where larger (a centred kernel: its round-off is K's; a
   * kernel that is constant up to round-off has a centred M of noise, whose own trace would have let
   * the noise through).
   */
  private get cutoff(): number {
    const trace = this.values.reduce((sum, mu) => sum + Math.max(mu, 0), 0);
    return EIGEN_RESOLUTION * Math.max(trace, this.scaleTrace, Number.MIN_VALUE);
  }

  /**
   * Whether the shift resolves every direction: μ_min + shift above the cutoff (then `shifted` is the
   * exact inverse, nothing left out).
   */
  serves(shift: number): boolean {
    // the smallest eigenvalue, not the last: zeroing the null direction (nullDirection) may leave a
    // more negative one elsewhere in the descending order
    return this.values.reduce((low, mu) => Math.min(low, mu), Infinity) + shift > this.cutoff;
  }

  /**
   * (M + shift·I)⁻¹ = Q diag(1/(μ + shift)) Qᵀ over the directions it resolves; those with
   * μ + shift ≤ the cutoff (λ = 0 on a rank-deficient M: a centred kernel's constant direction, a
   * Gram of more features than samples) are left out, as a pseudo-inverse with that cutoff does
   * (numpy's pinv / lstsq with rcond at float32's resolution): the minimum-norm solution on the rest,
   * which the ridgeless limit λ → 0⁺ tends to.
   */
  shifted(shift: number): ShiftedInverse {
    const m = this.values.length;
    const cutoff = this.cutoff;
    const keep = (mu: number) => mu + shift > cutoff;
    const weights = tf.tensor2d(
      Float32Array.from(this.values, (mu) => (keep(mu) ? 1 / (mu + shift) : 0)),
      [m, 1],
    );
    const truncated = this.values.reduce((count, mu) => count + (keep(mu) ? 0 : 1), 0);
    let mask: tf.Tensor2D | undefined;
    try {
      mask = truncated
        ? tf.tensor2d(
            Float32Array.from(this.values, (mu) => (keep(mu) ? 1 : 0)),
            [m, 1],
          )
        : undefined;
    } catch (error) {
      weights.dispose();
      throw error;
    }
    const q = this.vectors;
    return {
      shift,
      jitter: 0,
      eigen: true,
      truncated,
      ...(mask && {
        kept: (r: tf.Tensor2D) => tf.tidy(() => tf.matMul(q, tf.mul(tf.matMul(q, r, true, false), mask))),
      }),
      solve: (b) => tf.tidy(() => tf.matMul(q, tf.mul(tf.matMul(q, b, true, false), weights))),
      df: async () => this.values.reduce((sum, mu) => sum + (keep(mu) ? mu / (mu + shift) : 0), 0),
      inverseDiagonal: async () => {
        this.squaredVectors ??= tf.tidy(() => tf.square(q));
        return hostColumn(tf.matMul(this.squaredVectors, weights));
      },
      quadraticForms: async (rows) => {
        if (this.projection?.rows !== rows) {
          this.projection?.squared.dispose();
          this.projection = { rows, squared: tf.tidy(() => tf.square(tf.matMul(q, rows, true, false))) };
        }
        return hostColumn(tf.matMul(weights, this.projection.squared, true, false));
      },
      dispose: () => tf.dispose(mask ? [weights, mask] : [weights]),
    };
  }

  dispose(): void {
    tf.dispose(
      [this.vectors, this.lower, this.diagonal, this.squaredVectors, this.projection?.squared].filter(
        (t): t is tf.Tensor2D => t !== undefined,
      ),
    );
  }
}

/**
 * Ridge solves shared by the kernel-side learners. A system is A = M + nλI with M positive
 * semi-definite given by column panels (the kernel matrix K in the dual, ΦᵀΦ in the primal),
 * described by the diagnostics the results row records: train risk, effective degrees of freedom
 * df = tr(M A⁻¹), the relative residual of the solve, and which solver ran. λ may be a number, a
 * list (one row per λ), or chosen in closed form by GCV or LOO over a grid.
 *
 * Two solvers:
 * - Cholesky per λ: the blocked factorization of core, refined once; M is consumed in panels and
 *   never held whole beside its factor (memory: one copy), but every λ costs a factorization.
 * - one eigen-decomposition M = Q diag(μ) Qᵀ for all λ (as sklearn's RidgeCV): per λ,
 *   A⁻¹b = Q diag(1/(μ + nλ)) Qᵀ b, df = Σ μ_i/(μ_i + nλ), diag(A⁻¹)_i = Σ_j Q_ij²/(μ_j + nλ), all
 *   O(m²) per λ; the same refinement step. Needs M and Q whole (two copies) and a backend with the
 *   eigen kernel (native: LAPACK dsyevd) or m ≤ 256 (host Jacobi).
 * `ridgeSolver: auto` takes the eigen path when it is available and the measured cost rule
 * (`eigenPays` in cost.ts) says one decomposition costs less than the factorizations it replaces.
 */
import { RegimesError, z } from '@regimes/core';
import {
  type ColumnPanels,
  choleskyPanels,
  choleskySolveTensor,
  disposeFactor,
  inverseDiagonal,
  solveLower,
  symmetricEigenSolver,
  symmetricEigenTensor,
  symmetricProduct,
} from '@regimes/numerics';
import * as tf from '@tensorflow/tfjs-core';
import { takesEigen } from '../cost.js';

/** 10^from, 10^(from+1), …, 10^to (exact decimal values). */
const decades = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => Number(`1e${from + i}`));

export const ridgeOptions = {
  ridge: z
    .union([z.number().min(0), z.array(z.number().min(0)).min(1), z.enum(['gcv', 'loo'])])
    .default(1e-3)
    .describe('λ in (1/n)‖residual‖² + λ‖coefficients‖²: a number, a list (a row per λ), or gcv / loo'),
  ridgeGrid: z
    .array(z.number().positive())
    .min(2)
    .default(decades(-6, 1))
    .describe('candidate λ for gcv / loo'),
  ridgeSolver: z
    .enum(['auto', 'eigen', 'cholesky'])
    .default('auto')
    .describe(
      'auto: one eigen-decomposition for all λ when it costs less than a Cholesky per λ; eigen; cholesky',
    ),
};

export type RidgeOptions = {
  ridge: number | number[] | 'gcv' | 'loo';
  ridgeGrid: number[];
  ridgeSolver?: 'auto' | 'eigen' | 'cholesky';
};

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

export interface RidgeFit {
  readonly lambda: number;
  readonly coefficients: tf.Tensor2D;
  readonly diagnostics: Record<string, number>;
}

/** (M + shift·I)⁻¹ for one λ, by whichever solver serves it. */
interface ShiftedInverse {
  /** The shift actually applied: nλ plus any jitter. */
  readonly shift: number;
  readonly jitter: number;
  readonly eigen: boolean;
  solve(b: tf.Tensor2D): tf.Tensor2D;
  /** tr(M A⁻¹). */
  df(): Promise<number>;
  /** diag(A⁻¹). */
  inverseDiagonal(): Promise<Float64Array>;
  /** diag(Rᵀ A⁻¹ R) for R m×c. */
  quadraticForms(rows: tf.Tensor2D): Promise<Float64Array>;
  dispose(): void;
}

async function scalar(t: tf.Tensor): Promise<number> {
  const [v] = await t.data();
  t.dispose();
  return v!;
}

async function hostColumn(t: tf.Tensor): Promise<Float64Array> {
  const values = Float64Array.from(await t.data());
  t.dispose();
  return values;
}

async function choleskyInverse(system: RidgeSystem, shift: number, block: number): Promise<ShiftedInverse> {
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
    solve: (b) => choleskySolveTensor(factor, b),
    // df = tr(M A⁻¹) = m − shift·tr(A⁻¹)
    df: async () => system.m - total * (await inverseDiag()).reduce((a, b) => a + b, 0),
    inverseDiagonal: inverseDiag,
    quadraticForms: (rows) => hostColumn(tf.tidy(() => tf.sum(tf.square(solveLower(factor, rows)), 0))),
    dispose: () => disposeFactor(factor),
  };
}

/**
 * M = Q diag(μ) Qᵀ once, for every λ. M comes from the system whole (primal) or is assembled from
 * its panels on the host as its lower triangle L (the kernel reads no more), so that
 * M x = Lx + Lᵀx − diag(M)∘x serves the refinement without recomputing the kernel.
 */
class EigenRidge {
  private squaredVectors?: tf.Tensor2D;
  private projection?: { rows: tf.Tensor2D; squared: tf.Tensor2D };

  private constructor(
    readonly values: Float64Array,
    readonly vectors: tf.Tensor2D,
    private readonly lower: tf.Tensor2D | undefined,
    private readonly diagonal: tf.Tensor2D | undefined,
    private readonly matrix: tf.Tensor2D | undefined,
  ) {}

  static async create(system: RidgeSystem, block: number): Promise<EigenRidge> {
    const m = system.m;
    let lower: tf.Tensor2D | undefined;
    let diagonal: tf.Tensor2D | undefined;
    if (!system.matrix) {
      const host = new Float32Array(m * m);
      for (let s = 0; s < m; s += block) {
        const b = Math.min(block, m - s);
        const panel = system.panels(s, b);
        const data = await panel.data();
        panel.dispose();
        for (let i = s; i < m; i++) {
          const row = (i - s) * b;
          const count = Math.min(b, i - s + 1);
          for (let j = 0; j < count; j++) host[i * m + s + j] = data[row + j]!;
        }
      }
      diagonal = tf.tensor2d(
        Float32Array.from({ length: m }, (_, i) => host[i * m + i]!),
        [m, 1],
      );
      lower = tf.tensor2d(host, [m, m]);
    }
    try {
      const eigen = await symmetricEigenTensor(system.matrix ?? lower!);
      const values = Float64Array.from(await eigen.values.data());
      eigen.values.dispose();
      return new EigenRidge(values, eigen.vectors, lower, diagonal, system.matrix);
    } catch (error) {
      tf.dispose([lower, diagonal].filter((t): t is tf.Tensor2D => t !== undefined));
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
   * Whether the shift is large enough for the decomposition to serve it: μ_min + shift above
   * 1e-6·μ_max (a condition number of 10⁶, beyond which float32 results carry no digit; far above
   * dsyevd's error on the float32 matrix, ~1e-15·μ_max). Below it, float32 M itself is numerically
   * singular and the Cholesky path, with its jitter, handles that λ.
   */
  serves(shift: number): boolean {
    const top = Math.max(Math.abs(this.values[0]!), Number.MIN_VALUE);
    return this.values[this.values.length - 1]! + shift > 1e-6 * top;
  }

  shifted(shift: number): ShiftedInverse {
    const m = this.values.length;
    const weights = tf.tensor2d(
      Float32Array.from(this.values, (mu) => 1 / (mu + shift)),
      [m, 1],
    );
    const q = this.vectors;
    return {
      shift,
      jitter: 0,
      eigen: true,
      solve: (b) => tf.tidy(() => tf.matMul(q, tf.mul(tf.matMul(q, b, true, false), weights))),
      df: async () => this.values.reduce((sum, mu) => sum + mu / (mu + shift), 0),
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
      dispose: () => weights.dispose(),
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

/** Fit for each λ requested (one for a number, gcv or loo; several for a list). */
export async function fitRidge(
  system: RidgeSystem,
  options: RidgeOptions,
  signal: AbortSignal,
  block = 256,
): Promise<RidgeFit[]> {
  const select = typeof options.ridge === 'string' ? options.ridge : undefined;
  const lambdas: number[] = select
    ? options.ridgeGrid
    : Array.isArray(options.ridge)
      ? options.ridge
      : [options.ridge as number];
  const requested = options.ridgeSolver ?? 'auto';
  if (requested === 'eigen' && !symmetricEigenSolver(system.m))
    throw new RegimesError(
      `ridgeSolver: eigen needs a symmetric eigen-decomposition of the ${system.m}×${system.m} system, which the '${tf.getBackend()}' backend lacks`,
      { hint: "use the native backend (OpenBLAS), or ridgeSolver: 'auto' / 'cholesky'" },
    );
  const useEigen = takesEigen(requested, system.m, lambdas.length);
  const n = system.n;
  const fits: RidgeFit[] = [];
  let best: { score: number; fit: RidgeFit } | undefined;
  let decomposition: EigenRidge | undefined;
  const rows = select === 'loo' ? system.leverageRows?.() : undefined;
  try {
    signal.throwIfAborted();
    if (useEigen) decomposition = await EigenRidge.create(system, block);
    const product = (c: tf.Tensor2D) =>
      decomposition ? decomposition.product(c) : symmetricProduct(system.panels, system.m, c, block);
    for (const lambda of lambdas) {
      signal.throwIfAborted();
      const shift = n * lambda;
      const inverse = decomposition?.serves(shift)
        ? decomposition.shifted(shift)
        : await choleskyInverse(system, shift, block);
      let coefficients: tf.Tensor2D | undefined;
      try {
        const residualOf = (c: tf.Tensor2D) => {
          const mc = product(c);
          const r = tf.tidy(() => tf.sub(system.rhs, tf.add(mc, tf.mul(c, inverse.shift))) as tf.Tensor2D);
          mc.dispose();
          return r;
        };
        // One step of iterative refinement: c ← c + A⁻¹(b − Ac).
        const first = inverse.solve(system.rhs);
        const r0 = residualOf(first);
        const correction = inverse.solve(r0);
        coefficients = tf.add(first, correction) as tf.Tensor2D;
        tf.dispose([first, correction, r0]);
        const r1 = residualOf(coefficients);
        const residual =
          (await scalar(tf.norm(r1))) / Math.max(await scalar(tf.norm(system.rhs)), Number.MIN_VALUE);
        r1.dispose();
        const df = await inverse.df();
        const prediction = system.trainPrediction(coefficients, inverse.shift);
        const trainRisk = await scalar(
          tf.tidy(() => tf.mean(tf.squaredDifference(prediction, system.labels))),
        );
        const diagnostics: Record<string, number> = {
          'train-risk': trainRisk,
          df,
          'solve-residual': residual,
          eigen: inverse.eigen ? 1 : 0,
          ...(inverse.jitter ? { jitter: inverse.jitter } : {}),
        };
        let score: number | undefined;
        if (select === 'gcv') score = trainRisk / (1 - df / n) ** 2;
        if (select === 'loo') {
          const h = rows
            ? await inverse.quadraticForms(rows)
            : Float64Array.from(await inverse.inverseDiagonal(), (v) => 1 - inverse.shift * v);
          const difference = tf.sub(system.labels, prediction);
          const residuals = await difference.data();
          difference.dispose();
          const k = system.labels.shape[1];
          let sum = 0;
          for (let i = 0; i < n; i++)
            for (let c = 0; c < k; c++) sum += (residuals[i * k + c]! / (1 - h[i]!)) ** 2;
          score = sum / (n * k);
        }
        prediction.dispose();
        const fit = { lambda, coefficients, diagnostics };
        if (score === undefined) fits.push(fit);
        else {
          diagnostics[select!] = score;
          if (!best || score < best.score) {
            if (best) best.fit.coefficients.dispose();
            best = { score, fit };
          } else coefficients.dispose();
        }
        coefficients = undefined;
      } finally {
        coefficients?.dispose();
        inverse.dispose();
      }
    }
  } catch (error) {
    for (const fit of fits) fit.coefficients.dispose();
    best?.fit.coefficients.dispose();
    throw error;
  } finally {
    decomposition?.dispose();
    rows?.dispose();
  }
  if (best) {
    best.fit.diagnostics.lambda = best.fit.lambda;
    fits.push(best.fit);
  }
  return fits;
}

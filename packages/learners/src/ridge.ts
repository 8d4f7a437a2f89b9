/**
 * Ridge solves shared by the kernel-side learners. A system is A = M + nλI with M positive
 * semi-definite given by column panels (the kernel matrix K in the dual, ΦᵀΦ in the primal),
 * factored by the blocked Cholesky of core, refined once, and described by the diagnostics the
 * results row records: train risk, effective degrees of freedom df = tr(M A⁻¹) = m − nλ·tr(A⁻¹),
 * and the relative residual of the solve. λ may be a number, a list (one row per λ; M is
 * rebuilt and refactored per λ, never held twice), or chosen in closed form by GCV or LOO.
 */
import {
  type ColumnPanels,
  choleskyPanels,
  choleskySolveTensor,
  disposeFactor,
  inverseDiagonal,
  type PanelFactor,
  symmetricProduct,
  z,
} from '@regimes/core';
import * as tf from '@tensorflow/tfjs-core';

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
};

export interface RidgeSystem {
  /** Size of the system: n (dual) or the number of features (primal). */
  readonly m: number;
  /** Number of training samples. */
  readonly n: number;
  readonly panels: ColumnPanels;
  /** Right-hand side: y (dual) or Φᵀy (primal), m×k. */
  readonly rhs: tf.Tensor2D;
  readonly labels: tf.Tensor2D;
  /** Mean of diag M, the scale of jitter. */
  readonly meanDiagonal: number;
  /** Train predictions for coefficients c at ridge shift nλ. */
  trainPrediction(coefficients: tf.Tensor2D, shift: number): tf.Tensor2D;
  /** Frees what the system holds (the primal Gram matrix and right-hand side). */
  release?(): void;
  /** Leverages H_ii of the hat matrix (LOO), given the factor of A. */
  leverage(factor: PanelFactor, inverseDiag: Float64Array, shift: number): Promise<Float64Array>;
}

export interface RidgeFit {
  readonly lambda: number;
  readonly coefficients: tf.Tensor2D;
  readonly diagnostics: Record<string, number>;
}

async function scalar(t: tf.Tensor): Promise<number> {
  const [v] = await t.data();
  t.dispose();
  return v!;
}

async function solveOne(system: RidgeSystem, lambda: number, block: number) {
  const shift = system.n * lambda;
  const factor = await choleskyPanels(system.panels, system.m, {
    shift,
    block,
    meanDiagonal: system.meanDiagonal,
  });
  try {
    let coefficients = choleskySolveTensor(factor, system.rhs);
    const residualOf = (c: tf.Tensor2D) => {
      const product = symmetricProduct(system.panels, system.m, c, block);
      const r = tf.tidy(
        () => tf.sub(system.rhs, tf.add(product, tf.mul(c, shift + factor.jitter))) as tf.Tensor2D,
      );
      product.dispose();
      return r;
    };
    // One step of iterative refinement: c ← c + A⁻¹(b − Ac).
    const r0 = residualOf(coefficients);
    const correction = choleskySolveTensor(factor, r0);
    const refined = tf.add(coefficients, correction) as tf.Tensor2D;
    tf.dispose([coefficients, correction, r0]);
    coefficients = refined;
    const r1 = residualOf(coefficients);
    const residual =
      (await scalar(tf.norm(r1))) / Math.max(await scalar(tf.norm(system.rhs)), Number.MIN_VALUE);
    r1.dispose();
    const inverseDiag = await inverseDiagonal(factor);
    return { factor, coefficients, shift, residual, inverseDiag };
  } catch (error) {
    disposeFactor(factor);
    throw error;
  }
}

/** Fit for each λ requested (one for a number, gcv or loo; several for a list). */
export async function fitRidge(
  system: RidgeSystem,
  options: { ridge: number | number[] | 'gcv' | 'loo'; ridgeGrid: number[] },
  signal: AbortSignal,
  block = 256,
): Promise<RidgeFit[]> {
  const select = typeof options.ridge === 'string' ? options.ridge : undefined;
  const lambdas: number[] = select
    ? options.ridgeGrid
    : Array.isArray(options.ridge)
      ? options.ridge
      : [options.ridge as number];
  const fits: RidgeFit[] = [];
  let best: { score: number; fit: RidgeFit } | undefined;
  const n = system.n;
  for (const lambda of lambdas) {
    signal.throwIfAborted();
    const { factor, coefficients, shift, residual, inverseDiag } = await solveOne(system, lambda, block);
    try {
      const traceInverse = inverseDiag.reduce((a, b) => a + b, 0);
      const df = system.m - (shift + factor.jitter) * traceInverse;
      const prediction = system.trainPrediction(coefficients, shift + factor.jitter);
      const trainRisk = await scalar(tf.tidy(() => tf.mean(tf.squaredDifference(prediction, system.labels))));
      const diagnostics: Record<string, number> = {
        'train-risk': trainRisk,
        df,
        'solve-residual': residual,
        ...(factor.jitter ? { jitter: factor.jitter } : {}),
      };
      let score: number | undefined;
      if (select === 'gcv') score = trainRisk / (1 - df / n) ** 2;
      if (select === 'loo') {
        const h = await system.leverage(factor, inverseDiag, shift + factor.jitter);
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
    } catch (error) {
      coefficients.dispose();
      throw error;
    } finally {
      disposeFactor(factor);
    }
  }
  if (best) {
    best.fit.diagnostics.lambda = best.fit.lambda;
    fits.push(best.fit);
  }
  return fits;
}

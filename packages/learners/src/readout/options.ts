/** The ridge options every kernel-side learner shares: λ (a number, a list, or gcv / loo), its grid and the solver. */
import { z } from '@regimes/core';

/** 10^from, 10^(from+1), …, 10^to (exact decimal values). */
const decades = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => Number(`1e${from + i}`));

export const ridgeOptions = {
  ridge: z
    .union([z.number().min(0), z.array(z.number().min(0)).min(1), z.enum(['gcv', 'loo'])])
    .default('gcv')
    .describe(
      'λ in (1/n)‖residual‖² + λ‖coefficients‖²: gcv (default) or loo over ridgeGrid, a number, or a list (a row per λ)',
    ),
  ridgeGrid: z
    .array(z.number().positive())
    .min(2)
    .default(decades(-8, 1))
    .describe('candidate λ for gcv / loo (default 1e-8 … 10 by decades)'),
  ridgeSolver: z
    .enum(['auto', 'eigen', 'cholesky'])
    .default('auto')
    .describe(
      'auto: one eigen-decomposition for all λ when it costs less than a Cholesky per λ; eigen; cholesky',
    ),
};

/**
 * The unpenalised intercept of rf, nt, ntk and kernel: b in (1/n)‖y − f − b‖² + λ‖coefficients‖²,
 * true by default as in sklearn's Ridge (systems.ts has the centred systems).
 */
export const interceptOption = {
  intercept: z
    .boolean()
    .default(true)
    .describe('fit an unpenalised output intercept b (centred ridge); false: a model without constant'),
};

export type RidgeOptions = {
  /** Absent: no intercept (the learners that do not offer the option). */
  intercept?: boolean;
  ridge: number | number[] | 'gcv' | 'loo';
  ridgeGrid: number[];
  ridgeSolver?: 'auto' | 'eigen' | 'cholesky';
};

/** The ridge options every kernel-side learner shares: λ (a number, a list, or gcv / loo), its grid and the solver. */
import { z } from '@regimes/core';

/** 10^from, 10^(from+1), …, 10^to (exact decimal values). */
const decades = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => Number(`1e${from + i}`));

/** A λ float32 can carry through n·λ (3.4e38 at most); 1e12 already gives the intercept-only fit. */
const lambda = () =>
  z
    .number()
    .min(0)
    .max(
      1e30,
      'λ above 1e30 overflows float32 once multiplied by n (3.4e38 at most); 1e12 already fits the intercept alone',
    );

export const ridgeOptions = {
  ridge: z
    .union([lambda(), z.array(lambda()).min(1), z.enum(['gcv', 'loo'])])
    .default('gcv')
    .describe(
      'λ in (1/n)‖residual‖² + λ‖coefficients‖²: gcv (default) or loo over ridgeGrid, a number, or a list (a row per λ)',
    ),
  ridgeGrid: z
    .array(z.number().positive())
    .min(2)
    .default(decades(-8, 1))
    .describe(
      'candidate λ for gcv / loo (default 1e-8 … 10 by decades); those below half of 1e-6·(m/n)·mean diag M (1e-7 on the eigen path of a primal system), whose score float32 cannot resolve, are skipped',
    ),
  ridgeSolver: z
    .enum(['auto', 'eigen', 'cholesky', 'cg'])
    .default('auto')
    .describe(
      'auto: a direct solve up to n = 16384 kernel points (one eigen-decomposition for all λ when it costs less than a Cholesky per λ), cg above; eigen; cholesky (above n = 16384 in host memory, outside the wasm heap: native backend; no gcv / loo / df there); cg: FALKON, conjugate gradients on `centres` Nyström centres without the n×n kernel (kernel learners)',
    ),
  centres: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe(
      'Nyström centres m of ridgeSolver cg (default min(n, max(512, ⌈4√n⌉), 2048)); m = n is exact kernel ridge',
    ),
  cgTolerance: z
    .number()
    .positive()
    .max(0.1)
    .default(1e-4)
    .describe('ridgeSolver cg stops when the preconditioned residual falls below this fraction of its start'),
  cgIterations: z.number().int().min(1).default(200).describe('most iterations of ridgeSolver cg'),
  df: z
    .boolean()
    .default(true)
    .describe(
      'record df = tr(M A⁻¹) in each row: on a Cholesky it takes diag(A⁻¹), another m³/3 (as much as the factorization; free on the eigen path); false leaves it out (gcv needs it)',
    ),
};

/** Whether a ridge option fits λ = 0 (a number or a list holding it). */
export const includesZero = (o: Pick<RidgeOptions, 'ridge'>): boolean =>
  typeof o.ridge === 'number' ? o.ridge === 0 : Array.isArray(o.ridge) && o.ridge.includes(0);

/** FALKON's refusal of λ = 0 (readout/iterative.ts throws it as the fit starts; the dry run reports it). */
export const FALKON_ZERO = {
  message: 'ridgeSolver: cg (FALKON, which auto takes above 16384 kernel points) needs λ > 0',
  hint: 'give ridge positive values, or use ridgeSolver: cholesky (the n×n kernel in host memory on native) for λ = 0',
};

/**
 * What the ridge options refuse together, at validation rather than in every cell: `cg` where the
 * learner has no kernel for FALKON (`kernel` false: rf, nt, damian, one-step, transfer), and `cg` at
 * λ = 0 (its Nyström system nλK_mm + K_nmᵀK_nm is singular; the direct solvers give the ridgeless
 * limit by their pseudo-inverse).
 */
export function refineRidge(kernel: boolean) {
  return (o: Pick<RidgeOptions, 'ridge' | 'ridgeSolver' | 'df'>, ctx: z.RefinementCtx): void => {
    if (o.df === false && o.ridge === 'gcv')
      ctx.addIssue({
        code: 'custom',
        path: ['df'],
        message:
          'ridge: gcv (the default) ranks λ by df: keep df (the default), or choose λ by ridge: loo, or give ridge a number or a list',
      });
    if (o.ridgeSolver !== 'cg') return;
    if (!kernel)
      ctx.addIssue({
        code: 'custom',
        path: ['ridgeSolver'],
        message:
          "cg (FALKON) serves the kernel learners (ntk, nngp, kernel, empirical-ntk) only: use 'auto', 'eigen' or 'cholesky' here",
      });
    else if (includesZero(o))
      ctx.addIssue({
        code: 'custom',
        path: ['ridge'],
        message:
          "ridgeSolver: cg needs λ > 0: give positive values, or use ridgeSolver: 'auto' or 'eigen' for λ = 0 (the ridgeless limit, by the eigen-decomposition's pseudo-inverse, up to 16384 kernel points)",
      });
  };
}

/**
 * `posteriorVariance` (nngp): the GP posterior variance σ²(x) of the kernel's prior with noise nλ,
 * recorded as its mean on the runner's probe test points beside the calibration mean (f − μ)²/σ².
 */
export const posteriorVarianceOption = {
  posteriorVariance: z
    .boolean()
    .default(false)
    .describe(
      'record the GP posterior variance (mean over up to 2048 test points) and the calibration mean (f − μ)²/σ² (one more n×n factorization)',
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
  ridgeSolver?: 'auto' | 'eigen' | 'cholesky' | 'cg';
  /** ridgeSolver cg (kernel learners): Nyström centres, tolerance, iterations. */
  centres?: number | undefined;
  cgTolerance?: number;
  cgIterations?: number;
  /** kernel learners (nngp): record the GP posterior variance. */
  posteriorVariance?: boolean;
  /** Record df (default true); false skips diag(A⁻¹) on a Cholesky where nothing else needs it (refused with gcv). */
  df?: boolean;
};

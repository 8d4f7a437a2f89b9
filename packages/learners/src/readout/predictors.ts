/**
 * Predictors from ridge fits: one per fitted λ (several become variants, one results row each),
 * reading explicit features φ(x) through a readout a (rf, nt, damian, one-step, transfer), or a
 * kernel through dual coefficients α (ntk, kernel).
 */
import { type Dataset, type FitContext, type Learner, type Predictor, RegimesError } from '@regimes/core';
import { choleskyPanels, disposeFactor, hostScalar, solveLower } from '@regimes/numerics';
import tf from '@regimes/numerics/tfjs';
import { centresOf, DIRECT_KERNEL_RIDGE_MAX, holdoutFitted, takesCg } from '../cost.js';
import type { KernelFunction } from '../kernels.js';
import { exceedsHeap } from './host-direct.js';
import { blockedPredict, type FalkonOptions, falkonSolve, NystromProblem } from './iterative.js';
import type { RidgeOptions } from './options.js';
import { disposeFit, fitRidge, type RidgeFit } from './ridge.js';
import {
  dualSystem,
  featureKernel,
  kernelDiagonal,
  kernelPanels,
  primalSystem,
  type RidgeSystem,
  withoutOffsets,
} from './systems.js';

/** One predictor per ridge fit; several become variants (one results row each). */
export function predictorFromFits(
  fits: RidgeFit[],
  make: (fit: RidgeFit) => Predictor,
  shared: tf.Tensor[],
  extra: Record<string, number> = {},
): Predictor {
  const predictors = fits.map((fit) => {
    const p = make(fit);
    return {
      fit,
      predictor: { ...p, diagnostics: { ...fit.diagnostics, ...extra, ...(p.diagnostics ?? {}) } },
    };
  });
  const first = predictors[0]!.predictor;
  const dispose = () => {
    for (const { predictor } of predictors) predictor.dispose();
    tf.dispose(shared);
  };
  if (predictors.length === 1) return { ...first, dispose };
  return {
    ...first,
    variants: predictors.map(({ fit, predictor }) => ({
      label: `ridge=${fit.lambda}`,
      options: { ridge: fit.lambda },
      predictor,
    })),
    dispose,
  };
}

/** A ridge readout to fit: features φ(x) (n×width) of the training set, and the ridge options. */
export interface FeatureReadout {
  readonly featurize: (x: tf.Tensor2D) => tf.Tensor2D;
  readonly width: number;
  readonly train: Dataset;
  readonly options: RidgeOptions;
  readonly signal: AbortSignal;
}

/** Solve a ridge system and release it. */
export async function solveSystem(
  system: Promise<RidgeSystem>,
  options: RidgeOptions,
  signal: AbortSignal,
): Promise<RidgeFit[]> {
  const s = await system;
  try {
    return await fitRidge(s, options, signal);
  } finally {
    s.release();
  }
}

/** x·coefficients [+ b]: a linear readout and its intercept. Inside tidy. */
export const withIntercept = (out: tf.Tensor2D, intercept: tf.Tensor2D | undefined): tf.Tensor2D =>
  intercept ? (tf.add(out, intercept) as tf.Tensor2D) : out;

/**
 * The ridge readout on features: primal when width ≤ n, else dual mapped back to a = Φᵀβ (β = α, or
 * Cα with an intercept). One readout per fitted λ.
 */
async function ridgeReadout(r: FeatureReadout): Promise<{ fits: RidgeFit[]; readouts: tf.Tensor2D[] }> {
  const { featurize, train } = r;
  const primal = r.width <= train.x.shape[0];
  const intercept = r.options.intercept ?? false;
  const phi = featurize(train.x);
  try {
    const solved = await solveSystem(
      primal
        ? primalSystem(phi, train.y, intercept)
        : dualSystem(train.x, train.y, featureKernel(featurize, { x: train.x, features: phi }), intercept),
      r.options,
      r.signal,
    );
    const fits = withoutOffsets(solved);
    if (primal) return { fits, readouts: fits.map((fit) => fit.coefficients) };
    const readouts: tf.Tensor2D[] = [];
    try {
      for (const fit of fits) readouts.push(tf.matMul(phi, fit.coefficients, true, false) as tf.Tensor2D); // a = Φᵀβ
    } catch (error) {
      tf.dispose(readouts);
      for (const fit of fits) disposeFit(fit);
      throw error;
    }
    for (const fit of fits) fit.coefficients.dispose();
    return { fits, readouts };
  } finally {
    phi.dispose();
  }
}

/**
 * A predictor reading frozen features φ through a ridge readout (one variant per fitted λ). The
 * `owned` tensors (the first layer) are freed with it, or at once if the fit fails; `features` is
 * the first layer it exposes, `extra` more diagnostics.
 */
export async function featurePredictor(
  r: FeatureReadout,
  keep: { owned: tf.Tensor[]; extra?: Record<string, number>; features?: tf.Tensor2D | undefined },
): Promise<Predictor> {
  let fitted: Awaited<ReturnType<typeof ridgeReadout>>;
  try {
    fitted = await ridgeReadout(r);
  } catch (error) {
    tf.dispose(keep.owned);
    throw error;
  }
  const { fits, readouts } = fitted;
  const { featurize } = r;
  return predictorFromFits(
    fits,
    (fit) => {
      const a = readouts[fits.indexOf(fit)]!;
      const b = fit.intercept;
      return {
        ...(keep.features ? { features: keep.features } : {}),
        representation: featurize,
        predict: (x) => tf.tidy(() => withIntercept(tf.matMul(featurize(x), a) as tf.Tensor2D, b)),
        dispose: () => tf.dispose([a, ...(b ? [b] : [])]),
      };
    },
    keep.owned,
    keep.extra,
  );
}

/**
 * Σ_i α_i (K(x, x_i) − offset), over blocks of training points, each block's kernel freed before the
 * next (`offset`: a dual fit's, RidgeFit.offset): `blockedPredict` with every row of x in one block.
 */
export function dualPredict(
  kernel: KernelFunction,
  train: tf.Tensor2D,
  alpha: tf.Tensor2D,
  x: tf.Tensor2D,
  block = 2048,
  offset = 0,
): tf.Tensor2D {
  return blockedPredict(kernel, train, alpha, x, undefined, Math.max(x.shape[0], 1), block, offset);
}

/**
 * The GP posterior variance of the latent f at a fitted λ, prior f ~ GP(0, K) and noise variance
 * s = nλ (+ the Cholesky's jitter, if float32 needed one): with A = K + sI = LLᵀ and V = L⁻¹K(X, x),
 *   σ²(x) = k(x, x) − k_xᵀA⁻¹k_x = k(x, x) − ‖V_x‖²,
 * and with an unpenalised intercept (a flat prior on the constant b, for which the ridge with
 * intercept is the posterior mean) the universal-kriging term + (1 − 1ᵀA⁻¹k_x)²/(1ᵀA⁻¹1). A noisy
 * observation y(x) has variance σ²(x) + s. One n×n factor (the fit's λ) held by the predictor.
 */
async function posteriorVariance(
  kernel: KernelFunction,
  x: tf.Tensor2D,
  lambda: number,
  intercept: boolean,
): Promise<{ variance: (q: tf.Tensor2D) => tf.Tensor2D; noise: number; dispose: () => void }> {
  const n = x.shape[0];
  const source = kernelPanels(x, kernel);
  let factor: Awaited<ReturnType<typeof choleskyPanels>>;
  try {
    factor = await choleskyPanels(source.panels, n, { shift: n * lambda });
  } finally {
    source.release();
  }
  let u: tf.Tensor2D | undefined;
  let precision: tf.Tensor | undefined;
  try {
    u = intercept ? tf.tidy(() => solveLower(factor, tf.ones([n, 1]) as tf.Tensor2D)) : undefined;
    const ones = u;
    precision = ones ? tf.tidy(() => tf.sum(tf.square(ones))) : undefined;
  } catch (error) {
    disposeFactor(factor);
    u?.dispose();
    throw error;
  }
  return {
    noise: n * lambda + factor.jitter,
    variance: (q) =>
      tf.tidy(() => {
        const v = solveLower(factor, tf.transpose(dualPredictRows(kernel, q, x)) as tf.Tensor2D);
        let variance: tf.Tensor = tf.sub(
          kernelDiagonal(kernel, q),
          tf.reshape(tf.sum(tf.square(v), 0), [-1, 1]),
        );
        if (u && precision)
          variance = tf.add(
            variance,
            tf.div(tf.square(tf.sub(1, tf.transpose(tf.matMul(u, v, true, false)))), precision),
          );
        return variance as tf.Tensor2D;
      }),
    dispose: () => {
      disposeFactor(factor);
      tf.dispose([...(u ? [u] : []), ...(precision ? [precision] : [])]);
    },
  };
}

/** K(q, X) (|q|×n), over blocks of X. */
function dualPredictRows(kernel: KernelFunction, q: tf.Tensor2D, x: tf.Tensor2D, block = 2048): tf.Tensor2D {
  return tf.tidy(() => {
    const parts: tf.Tensor[] = [];
    for (let s = 0; s < x.shape[0]; s += block)
      parts.push(kernel(q, tf.slice(x, [s, 0], [Math.min(block, x.shape[0] - s), -1])));
    return tf.concat(parts, 1) as tf.Tensor2D;
  });
}

/** A kernel ridge predictor that also gives the GP posterior variance (`posteriorVariance: true`). */
export interface GaussianProcessPredictor extends Predictor {
  /** σ²(x) of the latent function (|x|×1); a noisy observation adds `noise` = nλ. */
  posteriorVariance(x: tf.Tensor2D): tf.Tensor2D;
  readonly noise: number;
}

/**
 * Mean σ² and calibration mean((f − μ)²/σ²) over the monitor's probe test points (noiseless f:
 * 1 when the prior is right, above 1 when the posterior is over-confident).
 */
async function varianceDiagnostics(
  p: GaussianProcessPredictor,
  probe: { x: tf.Tensor2D; f: tf.Tensor2D },
): Promise<Record<string, number>> {
  const [meanVariance, calibration] = tf.tidy(() => {
    const variance = tf.maximum(p.posteriorVariance(probe.x), 1e-30);
    return [tf.mean(variance), tf.mean(tf.div(tf.squaredDifference(probe.f, p.predict(probe.x)), variance))];
  });
  try {
    return {
      'posterior-variance': (await meanVariance!.data())[0]!,
      calibration: (await calibration!.data())[0]!,
    };
  } finally {
    tf.dispose([meanVariance!, calibration!]);
  }
}

/**
 * Kernel ridge by FALKON (iterative.ts) on `centres` Nyström centres drawn by the fit's seed. λ: a
 * number or a list (one CG solve each); gcv / loo have no closed form without the n×n kernel, so
 * they become a hold-out choice: each λ of ridgeGrid fitted on a seeded 4/5 of the points and scored
 * by its mean squared error on the other 1/5 (`holdout` in the row), then the chosen λ refitted on
 * all points — |grid| + 1 solves.
 */
async function falkonPredictor(
  kernel: KernelFunction,
  o: RidgeOptions,
  train: Dataset,
  ctx: FitContext,
): Promise<Predictor> {
  const n = train.x.shape[0];
  const m = centresOf(n, o.centres);
  const fo: FalkonOptions = {
    intercept: o.intercept ?? false,
    tolerance: o.cgTolerance ?? 1e-4,
    maxIterations: o.cgIterations ?? 200,
  };
  const order = ctx.rng.child('falkon').permutation(n);
  const gather = (t: tf.Tensor2D, from: number, to: number) =>
    tf.tidy(() => tf.gather(t, tf.tensor1d(order.slice(from, to), 'int32')) as tf.Tensor2D);
  let lambdas = typeof o.ridge === 'string' ? o.ridgeGrid : Array.isArray(o.ridge) ? o.ridge : [o.ridge];
  let holdout: number | undefined;
  // the hold-out's K_mm decomposition, kept for the refit when both use the same centres
  let spectrum: { q: Float64Array; mu: Float64Array } | undefined;
  if (typeof o.ridge === 'string') {
    const fitted = holdoutFitted(n);
    // a fifth held out and the rest fitted: one sample each at least
    if (fitted < 1)
      throw new RegimesError(
        `ridge: ${o.ridge} with ridgeSolver: cg chooses λ on a held-out fifth of the samples, and n = ${n} leaves none to fit`,
        { hint: 'use n >= 2, give ridge a number, or use ridgeSolver: cholesky (gcv / loo in closed form)' },
      );
    const parts: tf.Tensor2D[] = [];
    try {
      for (const [t, from, to] of [
        [train.x, 0, fitted],
        [train.y, 0, fitted],
        [train.x, fitted, n],
        [train.y, fitted, n],
      ] as const)
        parts.push(gather(t, from, to));
      const [xs, ys, xv, yv] = parts as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
      const problem = await NystromProblem.create(
        xs,
        ys,
        kernel,
        gather(train.x, 0, Math.min(m, fitted)),
        fo,
      );
      const scoring = { ...fo, solves: lambdas.length };
      try {
        for (const lambda of lambdas) {
          const fit = await falkonSolve(problem, lambda, ys, scoring, ctx.signal);
          let value: number;
          try {
            value = await hostScalar(
              tf.tidy(() =>
                tf.mean(
                  tf.squaredDifference(
                    blockedPredict(kernel, problem.centres, fit.coefficients, xv, fit.intercept),
                    yv,
                  ),
                ),
              ),
            );
          } finally {
            tf.dispose([fit.coefficients, ...(fit.intercept ? [fit.intercept] : [])]);
          }
          if (holdout === undefined || value < holdout) {
            holdout = value;
            lambdas = [lambda];
          }
        }
        // its centres are the first min(m, 4n/5) points of the order, the refit's the first m
        if (m <= fitted) spectrum = await problem.spectrum(scoring.solves);
      } finally {
        problem.dispose();
      }
    } finally {
      tf.dispose(parts);
    }
  }
  const problem = await NystromProblem.create(train.x, train.y, kernel, gather(train.x, 0, m), fo);
  if (spectrum) problem.adoptSpectrum(spectrum);
  const fits: RidgeFit[] = [];
  const solving = { ...fo, solves: lambdas.length };
  let centres: tf.Tensor2D | undefined;
  try {
    for (const lambda of lambdas) fits.push(await falkonSolve(problem, lambda, train.y, solving, ctx.signal));
    centres = problem.centres.clone();
  } catch (error) {
    for (const fit of fits) disposeFit(fit);
    throw error;
  } finally {
    problem.dispose();
  }
  if (holdout !== undefined) Object.assign(fits[0]!.diagnostics, { lambda: lambdas[0]!, holdout });
  const kept = centres;
  return predictorFromFits(
    fits,
    (fit) => ({
      predict: (q) => blockedPredict(kernel, kept, fit.coefficients, q, fit.intercept),
      dispose: () => disposeFit(fit),
    }),
    [kept],
  );
}

/**
 * Kernel ridge with a fixed kernel: the dual solve, and predictions Σ β_i K(x, x_i) [+ b]; above
 * DIRECT_KERNEL_RIDGE_MAX points (or with ridgeSolver: cg) FALKON, never forming the n×n kernel. The
 * row records which: `cg` 1 (with `centres`, `cg-iterations`) or 0. A direct solve above the heap
 * limit (ridgeSolver: cholesky, n > 16384) runs in host memory (host-direct.ts; `host-direct` 1).
 * `direct`: the kernel the direct solve evaluates instead of `kernel` with the intercept (and without
 * posteriorVariance, whose prior is `kernel`), equal to it up to a constant that the intercept's
 * centring annihilates (a dot kernel without c₀, kinds/kernel.ts; a deep ReLU kernel less its biases'
 * constant, kernels.ts `deepKernelLessConstant`); the fit and its predictor then
 * both read it. FALKON reads `kernel`.
 */
export function kernelRidgeLearner(
  kernel: KernelFunction,
  o: RidgeOptions,
  direct?: KernelFunction,
): Learner {
  return {
    async fit(train, ctx): Promise<Predictor> {
      ctx.signal.throwIfAborted();
      if (takesCg(o.ridgeSolver, train.x.shape[0])) {
        if (o.posteriorVariance)
          throw new RegimesError(
            `posteriorVariance needs the n×n factorization of the direct solver, which n = ${train.x.shape[0]} with ridgeSolver ${o.ridgeSolver ?? 'auto'} does not form`,
            {
              hint: `use ridgeSolver: cholesky (n ≤ ${DIRECT_KERNEL_RIDGE_MAX} or so), or drop posteriorVariance`,
            },
          );
        return falkonPredictor(kernel, o, train, ctx);
      }
      const n = train.x.shape[0];
      const host = exceedsHeap(n);
      if (host) {
        if (o.posteriorVariance)
          throw new RegimesError(
            `posteriorVariance keeps the ${n}×${n} factor on the backend's heap, above its limit (n ≤ ${DIRECT_KERNEL_RIDGE_MAX})`,
            { hint: 'drop posteriorVariance, or fit fewer points' },
          );
        ctx.log.info(
          `kernel ridge n = ${n}: the ${n}×${n} kernel (${((4 * n * n) / 2 ** 30).toFixed(1)} GiB) is factored in host memory; the row has no df (it needs diag(A⁻¹), another n³/3)`,
        );
      }
      const k = direct && o.intercept && !o.posteriorVariance ? direct : kernel;
      const fits = await solveSystem(dualSystem(train.x, train.y, k, o.intercept ?? false), o, ctx.signal);
      let x: tf.Tensor2D | undefined;
      const gp: Awaited<ReturnType<typeof posteriorVariance>>[] = [];
      const release = () => {
        for (const g of gp) g.dispose();
        for (const fit of fits) disposeFit(fit);
        x?.dispose();
      };
      try {
        x = train.x.clone();
        if (o.posteriorVariance)
          for (const fit of fits)
            gp.push(await posteriorVariance(kernel, x, fit.lambda, o.intercept ?? false));
      } catch (error) {
        release();
        throw error;
      }
      const xs = x;
      const extra = new Map<RidgeFit, Record<string, number>>();
      const make = (fit: RidgeFit): Predictor => {
        const predict = host
          ? (q: tf.Tensor2D) =>
              blockedPredict(k, xs, fit.coefficients, q, fit.intercept, 1024, 2048, fit.offset)
          : (q: tf.Tensor2D) =>
              tf.tidy(() =>
                withIntercept(dualPredict(k, xs, fit.coefficients, q, 2048, fit.offset), fit.intercept),
              );
        const g = gp[fits.indexOf(fit)];
        if (!g) return { predict, dispose: () => disposeFit(fit) };
        const p: GaussianProcessPredictor = {
          predict,
          posteriorVariance: g.variance,
          noise: g.noise,
          dispose: () => {
            g.dispose();
            disposeFit(fit);
          },
        };
        return {
          ...p,
          diagnostics: { noise: g.noise, ...(extra.get(fit) ?? {}) },
        } as GaussianProcessPredictor;
      };
      try {
        if (ctx.monitor && gp.length)
          for (const fit of fits)
            extra.set(
              fit,
              await varianceDiagnostics(make(fit) as GaussianProcessPredictor, ctx.monitor.test),
            );
      } catch (error) {
        release();
        throw error;
      }
      return predictorFromFits(fits, make, [xs]);
    },
  };
}

/**
 * Predictors from ridge fits: one per fitted λ (several become variants, one results row each),
 * reading explicit features φ(x) through a readout a (rf, nt, damian, one-step, transfer), or a
 * kernel through dual coefficients α (ntk, kernel).
 */
import type { Dataset, Learner, Predictor } from '@regimes/core';
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunction } from '../kernels.js';
import type { RidgeOptions } from './options.js';
import { disposeFit, fitRidge, type RidgeFit } from './ridge.js';
import { dualSystem, featureKernel, primalSystem, type RidgeSystem } from './systems.js';

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
    const fits = await solveSystem(
      primal
        ? primalSystem(phi, train.y, intercept)
        : dualSystem(train.x, train.y, featureKernel(featurize), intercept),
      r.options,
      r.signal,
    );
    const readouts = fits.map((fit) => {
      if (primal) return fit.coefficients;
      const a = tf.matMul(phi, fit.coefficients, true, false) as tf.Tensor2D; // a = Φᵀβ
      fit.coefficients.dispose();
      return a;
    });
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

/** Σ_i α_i K(x, x_i), over blocks of training points so only |x|×block of K is alive. */
export function dualPredict(
  kernel: KernelFunction,
  train: tf.Tensor2D,
  alpha: tf.Tensor2D,
  x: tf.Tensor2D,
  block = 2048,
): tf.Tensor2D {
  return tf.tidy(() => {
    const n = train.shape[0];
    let out: tf.Tensor = tf.zeros([x.shape[0], alpha.shape[1]]);
    for (let s = 0; s < n; s += block) {
      const size = Math.min(block, n - s);
      out = tf.add(
        out,
        tf.matMul(kernel(x, tf.slice(train, [s, 0], [size, -1])), tf.slice(alpha, [s, 0], [size, -1])),
      );
    }
    return out as tf.Tensor2D;
  });
}

/** Kernel ridge with a fixed kernel: the dual solve, and predictions Σ β_i K(x, x_i) [+ b]. */
export function kernelRidgeLearner(kernel: KernelFunction, o: RidgeOptions): Learner {
  return {
    async fit(train, ctx): Promise<Predictor> {
      ctx.signal.throwIfAborted();
      const fits = await solveSystem(
        dualSystem(train.x, train.y, kernel, o.intercept ?? false),
        o,
        ctx.signal,
      );
      const x = train.x.clone();
      return predictorFromFits(
        fits,
        (fit) => ({
          predict: (q) =>
            tf.tidy(() => withIntercept(dualPredict(kernel, x, fit.coefficients, q), fit.intercept)),
          dispose: () => disposeFit(fit),
        }),
        [x],
      );
    },
  };
}

/**
 * `rf`: random-features ridge regression. A frozen first layer W (N×d, rows uniform on the unit
 * sphere or N(0, I/d)) and optional biases b ~ N(0, bias²) give features φ(x) = σ(Wx + b)/√N;
 * the readout a minimizes (1/n)‖Φa − y‖² + λ‖a‖², solved exactly: in the primal (N×N) when
 * N ≤ n, in the dual (n×n, a = Φᵀα) when n < N. As N → ∞ this is kernel ridge with
 * K(x, x') = E_{w,b}[σ(⟨w,x⟩+b)σ(⟨w,x'⟩+b)].
 */
import {
  defineLearnerKind,
  type LearnerFactory,
  options,
  type Predictor,
  randomNormal,
  randomSphere,
  type Rng,
  z,
} from '@regimes/core';
import * as tf from '@tensorflow/tfjs-core';
import { activation, activationOption } from '../activations/index.js';
import { type RidgeFit, type RidgeOptions, fitRidge, ridgeOptions } from '../readout/ridge.js';
import { dualSystem, featureKernel, primalSystem } from '../readout/systems.js';
import { featureRidgeEstimate } from '../cost.js';

export const firstLayerOptions = {
  width: z.number().int().min(1).default(512).describe('N, the number of neurons'),
  activation: activationOption,
  weights: z
    .enum(['sphere', 'gaussian'])
    .default('sphere')
    .describe('rows of W: uniform on the unit sphere, or N(0, I/d)'),
  bias: z.number().min(0).default(0).describe('standard deviation of the biases b (0: none)'),
};

export const randomFeaturesOptions = options({ ...firstLayerOptions, ...ridgeOptions });

/** W (N×d) and b (1×N, or undefined) from the learner's init stream. */
export function drawFirstLayer(
  rng: Rng,
  o: { width: number; weights: 'sphere' | 'gaussian'; bias: number },
  d: number,
) {
  const w =
    o.weights === 'sphere'
      ? randomSphere(rng.child('W'), o.width, d)
      : randomNormal(rng.child('W'), o.width, d, 1 / Math.sqrt(d));
  const b = o.bias > 0 ? randomNormal(rng.child('b'), 1, o.width, o.bias) : undefined;
  return { w, b };
}

/** Pre-activations xWᵀ + b. Inside tidy. */
export const preActivation = (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor2D | undefined) => {
  const z0 = tf.matMul(x, w, false, true);
  return b ? tf.add(z0, b) : z0;
};

/**
 * The ridge readout on features φ(x) (n×width): primal when width ≤ n, else dual mapped back
 * to a = Φᵀα. One readout per fitted λ.
 */
export async function ridgeReadout(
  featurize: (x: tf.Tensor2D) => tf.Tensor2D,
  width: number,
  train: { x: tf.Tensor2D; y: tf.Tensor2D },
  o: RidgeOptions,
  signal: AbortSignal,
): Promise<{ fits: RidgeFit[]; readouts: tf.Tensor2D[] }> {
  const primal = width <= train.x.shape[0];
  const phi = featurize(train.x);
  try {
    const system = primal
      ? await primalSystem(phi, train.y)
      : await dualSystem(train.x, train.y, featureKernel(featurize));
    let fits: RidgeFit[];
    try {
      fits = await fitRidge(system, o, signal);
    } finally {
      system.release?.();
    }
    const readouts = fits.map((fit) => {
      if (primal) return fit.coefficients;
      const a = tf.matMul(phi, fit.coefficients, true, false) as tf.Tensor2D; // a = Φᵀα
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
 * `owned` tensors (the first layer) are freed with it, or at once if the fit fails.
 */
export async function featurePredictor(
  featurize: (x: tf.Tensor2D) => tf.Tensor2D,
  width: number,
  train: { x: tf.Tensor2D; y: tf.Tensor2D },
  o: RidgeOptions,
  signal: AbortSignal,
  owned: tf.Tensor[],
  extra: Record<string, number> = {},
  features?: tf.Tensor2D,
): Promise<Predictor> {
  let fitted: Awaited<ReturnType<typeof ridgeReadout>>;
  try {
    fitted = await ridgeReadout(featurize, width, train, o, signal);
  } catch (error) {
    tf.dispose(owned);
    throw error;
  }
  const { fits, readouts } = fitted;
  return predictorFromFits(
    fits,
    (fit) => {
      const a = readouts[fits.indexOf(fit)]!;
      return {
        ...(features ? { features } : {}),
        representation: featurize,
        predict: (x) => tf.tidy(() => tf.matMul(featurize(x), a) as tf.Tensor2D),
        dispose: () => a.dispose(),
      };
    },
    owned,
    extra,
  );
}

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

export const randomFeatures: LearnerFactory = defineLearnerKind({
  kind: 'rf',
  description:
    'random features ridge: frozen random first layer, readout solved exactly by ridge (primal or dual)',
  options: randomFeaturesOptions,
  estimate: (o, s) => featureRidgeEstimate(o.width, 2 * (s.n + s.testN) * o.width * s.d, o, s),
  create(o) {
    const sigma = activation(o.activation);
    return {
      async fit(train, ctx): Promise<Predictor> {
        ctx.signal.throwIfAborted();
        const [n, d] = train.x.shape;
        const { w, b } = drawFirstLayer(ctx.rng.child('init'), o, d);
        const featurize = (x: tf.Tensor2D) =>
          tf.tidy(() => tf.div(sigma.sigma(preActivation(x, w, b)), Math.sqrt(o.width)) as tf.Tensor2D);
        return featurePredictor(
          featurize,
          o.width,
          train,
          o,
          ctx.signal,
          b ? [w, b] : [w],
          { dual: o.width <= n ? 0 : 1 },
          w,
        );
      },
    };
  },
});

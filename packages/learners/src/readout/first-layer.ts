/**
 * A first layer (W, b) and the ridge readout on its features φ(x) = σ(Wx + b)/√N: with W drawn at
 * random and frozen (rf), or learnt by gradient steps and then read out, on the same samples or on
 * a fresh part of them (damian, one-step).
 */
import {
  type Dataset,
  DivergenceError,
  type FitContext,
  type Learner,
  type Predictor,
  randomNormal,
  randomSphere,
  type Rng,
  z,
} from '@regimes/core';
import { hostScalar } from '@regimes/numerics';
import tf from '@regimes/numerics/tfjs';
import { type Activation, activation, activationOption, type ActivationSpec } from '../activations/index.js';
import { splitSample } from '../training/samples.js';
import { preActivation } from '../training/two-layer.js';
import { featurePredictor } from './predictors.js';
import type { RidgeOptions } from './options.js';

export { preActivation };

export const firstLayerOptions = {
  width: z.number().int().min(1).default(512).describe('N, the number of neurons'),
  activation: activationOption,
  weights: z
    .enum(['sphere', 'gaussian'])
    .default('sphere')
    .describe('rows of W: uniform on the unit sphere, or N(0, I/d)'),
  bias: z.number().min(0).default(0).describe('standard deviation of the biases b (0: none)'),
};

/** W (N×d) and the biases b (1×N), when there are any. */
export interface FirstLayer {
  readonly w: tf.Tensor2D;
  readonly b: tf.Tensor2D | undefined;
}

/** W (N×d) and b (1×N, or undefined) from the learner's init stream. */
export function drawFirstLayer(
  rng: Rng,
  o: { width: number; weights: 'sphere' | 'gaussian'; bias: number },
  d: number,
): FirstLayer {
  // one tidy: a throw drawing b frees W
  return tf.tidy(() => {
    const w =
      o.weights === 'sphere'
        ? randomSphere(rng.child('W'), o.width, d)
        : randomNormal(rng.child('W'), o.width, d, 1 / Math.sqrt(d));
    const b = o.bias > 0 ? randomNormal(rng.child('b'), 1, o.width, o.bias) : undefined;
    return { w, b };
  });
}

/**
 * The ridge readout on φ(x) = σ(xWᵀ + b)/√N of the training set; the predictor owns the layer and
 * exposes W as its first layer.
 */
export function readFirstLayer(
  layer: FirstLayer,
  sigma: Activation,
  train: Dataset,
  o: RidgeOptions,
  signal: AbortSignal,
  extra: Record<string, number>,
): Promise<Predictor> {
  const { w, b } = layer;
  const width = w.shape[0];
  const featurize = (x: tf.Tensor2D) =>
    tf.tidy(() => tf.div(sigma.sigma(preActivation(x, w, b)), Math.sqrt(width)) as tf.Tensor2D);
  return featurePredictor(
    { featurize, width, train, options: o, signal },
    { owned: b ? [w, b] : [w], extra, features: w },
  );
}

/**
 * How the two stages share the sample: `reuse` fits both on all n samples (Damian et al.'s code);
 * a number in (0, 1) is the share of the first stage, the readout getting the rest (a fresh part,
 * as the analyses assume).
 */
export const stageSplit = z.union([z.literal('reuse'), z.number().gt(0).lt(1)]);

/**
 * The target's linear part estimated on Gaussian inputs: c₀ = mean(y) (1×k), c₁ = xᵀy/n (d×k), the
 * degree-0 and degree-1 Hermite coefficients (Damian et al.'s code removes them before the step).
 */
function linearPart(train: Dataset) {
  return tf.tidy(() => ({
    c0: tf.mean(train.y, 0, true) as tf.Tensor2D,
    c1: tf.div(tf.matMul(train.x, train.y, true, false), train.x.shape[0]) as tf.Tensor2D,
  }));
}

/** c₀ + x c₁. Inside tidy. */
const linear = (x: tf.Tensor2D, c: { c0: tf.Tensor2D; c1: tf.Tensor2D }) =>
  tf.add(c.c0, tf.matMul(x, c.c1)) as tf.Tensor2D;

/** The predictor with c₀ + x c₁ added back to every prediction (its variants' included). */
function addLinearPart(p: Predictor, c: { c0: tf.Tensor2D; c1: tf.Tensor2D }): Predictor {
  const wrap = (q: Predictor): Predictor => ({
    ...q,
    predict: (x) => tf.tidy(() => tf.add(q.predict(x), linear(x, c)) as tf.Tensor2D),
    ...(q.variants ? { variants: q.variants.map((v) => ({ ...v, predictor: wrap(v.predictor) })) } : {}),
  });
  return {
    ...wrap(p),
    dispose: () => {
      p.dispose();
      tf.dispose([c.c0, c.c1]);
    },
  };
}

/**
 * damian and one-step: a first layer learnt from the first stage's samples, then the ridge readout
 * of its features on the second stage's (`split`). With `linearPart: 'remove'` both stages see
 * y − c₀ − x c₁ (estimated on the whole training set) and the predictor adds c₀ + x c₁ back.
 */
export function twoStageLearner(
  o: RidgeOptions & {
    split: z.output<typeof stageSplit>;
    activation: ActivationSpec;
    linearPart?: 'remove' | 'keep';
  },
  learn: (
    first: Dataset,
    ctx: FitContext,
    sigma: Activation,
  ) => Promise<{ layer: FirstLayer; extra: Record<string, number> }>,
  /** What to lower when the learnt layer's features overflow float32 (one-step: its step size). */
  stepSize: string,
): Learner {
  const sigma = activation(o.activation);
  return {
    async fit(train, ctx): Promise<Predictor> {
      ctx.signal.throwIfAborted();
      const c = o.linearPart === 'remove' ? linearPart(train) : undefined;
      let residual = train;
      let stages: ReturnType<typeof splitSample>;
      try {
        if (c)
          residual = { x: train.x, y: tf.tidy(() => tf.sub(train.y, linear(train.x, c)) as tf.Tensor2D) };
        stages =
          o.split === 'reuse'
            ? { first: residual, second: residual, dispose: () => {} }
            : splitSample(residual, o.split);
      } catch (error) {
        if (c) tf.dispose([c.c0, c.c1]);
        if (residual !== train) residual.y.dispose();
        throw error;
      }
      let predictor: Predictor;
      try {
        const { layer, extra } = await learn(stages.first, ctx, sigma);
        await checkFeatures(layer, sigma, stages.second.x, stepSize);
        predictor = await readFirstLayer(layer, sigma, stages.second, o, ctx.signal, extra);
      } catch (error) {
        if (c) tf.dispose([c.c0, c.c1]);
        throw error;
      } finally {
        stages.dispose();
        if (residual !== train) residual.y.dispose();
      }
      return c ? addLinearPart(predictor, c) : predictor;
    },
  };
}

/**
 * A learnt layer whose features the readout cannot square in float32 (a step too large: ‖W‖ ≫ 1)
 * is a divergence, not a readout failure (gcv "cannot rank any λ", or non-finite predictions):
 * Σφ² on the first 256 rows, scaled to all n, must stay 100× below float32's largest number.
 * Frees the layer when it throws.
 */
async function checkFeatures(layer: FirstLayer, sigma: Activation, x: tf.Tensor2D, stepSize: string) {
  const [n] = x.shape;
  const head = Math.min(n, 256);
  let squares: number;
  try {
    const total = tf.tidy(() => {
      const rows = tf.slice(x, [0, 0], [head, -1]) as tf.Tensor2D;
      return tf.sum(
        tf.square(tf.div(sigma.sigma(preActivation(rows, layer.w, layer.b)), Math.sqrt(layer.w.shape[0]))),
      );
    });
    squares = ((await hostScalar(total)) * n) / head;
  } catch (error) {
    tf.dispose([layer.w, ...(layer.b ? [layer.b] : [])]);
    throw error;
  }
  if (!(squares < 3.4e36)) {
    tf.dispose([layer.w, ...(layer.b ? [layer.b] : [])]);
    throw new DivergenceError(
      `the learnt first layer's features are not finite in float32 (Σφ² ≈ ${squares.toPrecision(3)} over the readout's ${n} samples); lower ${stepSize}`,
    );
  }
}

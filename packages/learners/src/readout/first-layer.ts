/**
 * A first layer (W, b) and the ridge readout on its features φ(x) = σ(Wx + b)/√N: with W drawn at
 * random and frozen (rf), or learnt by gradient steps on one part of the sample and read out on
 * the other (damian, one-step).
 */
import {
  type Dataset,
  type FitContext,
  type Learner,
  type Predictor,
  randomNormal,
  randomSphere,
  type Rng,
  z,
} from '@regimes/core';
import * as tf from '@tensorflow/tfjs-core';
import { type Activation, activation, activationOption, type ActivationSpec } from '../activations/index.js';
import { splitSample } from '../training/samples.js';
import { featurePredictor } from './predictors.js';
import type { RidgeOptions } from './options.js';

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
 * damian and one-step: a first layer learnt from the first `split` of the sample, then the ridge
 * readout of its features on the rest (a fresh part, as the analyses assume).
 */
export function twoStageLearner(
  o: RidgeOptions & { split: number; activation: ActivationSpec },
  learn: (
    first: Dataset,
    ctx: FitContext,
    sigma: Activation,
  ) => Promise<{ layer: FirstLayer; extra: Record<string, number> }>,
): Learner {
  const sigma = activation(o.activation);
  return {
    async fit(train, ctx): Promise<Predictor> {
      ctx.signal.throwIfAborted();
      const { first, second, dispose } = splitSample(train, o.split);
      try {
        const { layer, extra } = await learn(first, ctx, sigma);
        return await readFirstLayer(layer, sigma, second, o, ctx.signal, extra);
      } finally {
        dispose();
      }
    },
  };
}

/**
 * `empirical-ntk`: kernel ridge with the empirical NTK Θ̂ of one finite fully connected network of
 * `layers` hidden layers and `width` neurons in the NTK parametrization (empirical-ntk.ts; the
 * network whose infinite-width kernel `ntk` uses, with the same options), drawn from the fit's seed
 * — at initialisation, or after `steps` steps of full-batch GD with learning rate η on the MSE
 * loss (the two-layer net, `layers: 1`, trained by nn's code: its w = σ_w W/√d steps with
 * lr η σ_w²/d and its readout with η σ_w², which is GD with step η on (W, a); the row's trace holds
 * the network's learning curve). Θ̂ is computed blockwise from per-layer factors, never the Jacobian.
 */
import { defineLearnerKind, type LearnerFactory, options, type Predictor, z } from '@regimes/core';
import tf from '@regimes/numerics/tfjs';
import { kernelRidgeEstimate, trainingEstimate } from '../cost.js';
import {
  disposeFullyConnected,
  type EmpiricalSpec,
  empiricalNtk,
  type FullyConnected,
  initFullyConnected,
} from '../empirical-ntk.js';
import { interceptOption, refineRidge, ridgeOptions } from '../readout/options.js';
import { kernelRidgeLearner } from '../readout/predictors.js';
import { trainTwoLayer } from '../training/train-two-layer.js';
import { networkOptions } from './nn.js';
import { biasVarianceOf, deepKernelOptions, refineBias } from './ntk.js';

export const empiricalNtkOptions = options({
  width: z.number().int().min(1).default(1024).describe('N, neurons per hidden layer'),
  layers: z.number().int().min(1).max(16).default(1).describe('L, hidden layers (1: the two-layer net)'),
  activation: deepKernelOptions.activation,
  weightVariance: deepKernelOptions.weightVariance,
  biasVariance: deepKernelOptions.biasVariance,
  bias: deepKernelOptions.bias,
  train: z
    .enum(['both', 'first', 'readout'])
    .default('both')
    .describe(
      'the parameters in the kernel (and trained): every layer, the first hidden layer, or the readout',
    ),
  steps: z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('full-batch GD steps before the kernel is taken (0: at initialisation; layers: 1 only)'),
  lr: z.number().positive().default(1).describe('η, the GD step on the raw parameters (W, a)'),
  recordEvery: z.number().int().min(1).default(50).describe('steps between recorded points of the curve'),
  block: z.number().int().min(1).default(512).describe('points per block of the kernel'),
  ...ridgeOptions,
  ...interceptOption,
}).superRefine((o, ctx) => {
  refineBias(o, ctx);
  refineRidge(true)(o, ctx);
  if (o.steps > 0 && o.layers > 1)
    ctx.addIssue({
      code: 'custom',
      path: ['steps'],
      message: `training is nn's two-layer GD: steps > 0 needs layers: 1 (got ${o.layers}); take the kernel at initialisation (steps: 0) for deeper nets`,
    });
  if (o.steps > 0 && biasVarianceOf(o) > 0)
    ctx.addIssue({
      code: 'custom',
      path: ['biasVariance'],
      message:
        "training steps the biases with nn's first-layer lr, which is not GD on β: train without biases (biasVariance: 0) or take the kernel at initialisation (steps: 0)",
    });
});

export type EmpiricalNtkOptions = z.output<typeof empiricalNtkOptions>;

function specOf(o: EmpiricalNtkOptions): EmpiricalSpec {
  return {
    activation: o.activation,
    weightVariance: o.weightVariance,
    biasVariance: biasVarianceOf(o),
    train: o.train,
  };
}

/** GD with step η on (W, a) by nn's trainer (w = σ_w W/√d, a_nn = σ_w a); `initial` is consumed. */
export async function trainNetwork(
  initial: FullyConnected,
  o: EmpiricalNtkOptions,
  train: Parameters<typeof trainTwoLayer>[1],
  ctx: Parameters<typeof trainTwoLayer>[3],
): Promise<FullyConnected> {
  const d = train.x.shape[1];
  const sw = Math.sqrt(o.weightVariance);
  const nn = networkOptions.parse({
    width: o.width,
    activation: o.activation,
    parametrization: 'ntk',
    outputBias: false,
    optimizer: 'gd',
    train: o.train,
    lr: { first: (o.lr * o.weightVariance) / d, readout: o.lr * o.weightVariance },
    steps: o.steps,
    recordEvery: o.recordEvery,
  });
  const twoLayer = tf.tidy(() => ({
    w: tf.mul(initial.weights[0]!, sw / Math.sqrt(d)) as tf.Tensor2D,
    a: tf.mul(initial.readout, sw) as tf.Tensor2D,
    b: undefined,
  }));
  disposeFullyConnected(initial);
  const { params } = await trainTwoLayer(twoLayer, train, nn, ctx);
  try {
    return tf.tidy(() => ({
      weights: [tf.mul(params.w, Math.sqrt(d) / sw) as tf.Tensor2D],
      readout: tf.div(params.a, sw) as tf.Tensor2D,
    }));
  } finally {
    tf.dispose([params.w, params.a, ...(params.b ? [params.b] : []), ...(params.c ? [params.c] : [])]);
  }
}

export const empiricalNeuralTangentKernel: LearnerFactory = defineLearnerKind({
  kind: 'empirical-ntk',
  representation: false, // a kernel predictor: no features for a transfer to keep
  description:
    'kernel ridge with the empirical NTK of one finite fully connected net (NTK parametrization), at init or after GD',
  options: empiricalNtkOptions,
  // per kernel entry one dot product of δ^ℓ and of a^{ℓ−1} per layer; per point (over n + testN
  // points) a forward and backward pass; GD as nn's
  estimate: (o, s) => {
    const ridge = kernelRidgeEstimate(4 * o.layers * o.width + 2 * s.d, o, s);
    const passes = (s.n + s.testN) * 6 * o.width * (s.d + (o.layers - 1) * o.width);
    const training = trainingEstimate(o.steps, s.n, 2 * o.width * (s.d + s.k), o.width, s);
    return {
      flops: ridge.flops + passes + (o.steps > 0 ? training.flops : 0),
      bytes: ridge.bytes + 4 * o.width * (s.d + (o.layers - 1) * o.width),
    };
  },
  create(o) {
    const spec = specOf(o);
    return {
      async fit(train, ctx): Promise<Predictor> {
        ctx.signal.throwIfAborted();
        const [, d] = train.x.shape;
        let params = initFullyConnected(
          ctx.rng.child('init'),
          { layers: o.layers, width: o.width, biasVariance: spec.biasVariance },
          d,
          train.y.shape[1],
        );
        try {
          if (o.steps > 0) params = await trainNetwork(params, o, train, ctx);
          const predictor = await kernelRidgeLearner(empiricalNtk(params, spec, o.block), o).fit(train, ctx);
          const owned = params;
          return {
            ...predictor,
            dispose: () => {
              predictor.dispose();
              disposeFullyConnected(owned);
            },
          };
        } catch (error) {
          disposeFullyConnected(params);
          throw error;
        }
      },
    };
  },
});

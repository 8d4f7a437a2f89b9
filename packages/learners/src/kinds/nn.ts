/**
 * `nn`: a two-layer network f(x) = s·Σ_j a_j σ(⟨w_j, x⟩ + b_j) + c trained by gradient descent —
 * full-batch GD, mini-batch SGD or Adam — with a parametrization (standard | ntk | mean-field),
 * optional symmetric init (f₀ ≡ 0), per-layer learning rates, schedules and weight decay, MSE or
 * logistic loss, and early stopping on a held-out split (training/train-two-layer.ts). Ghorbani et
 * al.'s protocol is expressible: a shared scalar readout from 0, online SGD on fresh samples of the
 * target, ×N learning rates (lrScale) and an end-of-run decay (schedule end-decay). Every
 * `recordEvery` steps the training loop records train loss, test risk and (when the target has a
 * subspace U) the alignment ‖WUᵀ‖²/‖W‖² in the row's `trace`.
 */
import { defineLearnerKind, type LearnerFactory, options, type Predictor, z } from '@regimes/core';
import { activation, activationOption } from '../activations/index.js';
import { ONLINE_DRAW_OPS, TWO_LAYER_OPS, trainingEstimate } from '../cost.js';
import { checkLabels, lossOption } from '../training/loss.js';
import { batchSize, sampleModes } from '../training/samples.js';
import { decayOption, scheduleOption } from '../training/schedules.js';
import { lrScales, totalSteps, trainTwoLayer } from '../training/train-two-layer.js';
import { initTwoLayer, parametrizations, scales, twoLayerPredictor } from '../training/two-layer.js';
import { optimizers } from '../training/update.js';
import { quadraticWidthTheory } from '../readout/quadratic-theory.js';

const perLayer = z.union([
  z.number().min(0),
  z.strictObject({ first: z.number().min(0), readout: z.number().min(0) }),
]);

export const networkOptions = options({
  width: z.number().int().min(1).default(512).describe('N, the number of neurons'),
  activation: activationOption,
  parametrization: z
    .enum(parametrizations)
    .default('ntk')
    .describe('sets the output scale s, the init and the lr scale'),
  bias: z.number().min(0).default(0).describe('init std of trained biases b (0: no biases)'),
  symmetric: z.boolean().default(false).describe('paired neurons with opposite a, so f₀ ≡ 0 (width even)'),
  outputBias: z
    .boolean()
    .default(true)
    .describe('train an output bias c (init 0, no weight decay): f = s·Σ a σ(⟨w,x⟩ + b) + c'),
  outputBiasLr: z
    .number()
    .min(0)
    .default(1)
    .describe("c's learning rate as a factor on the readout lr, without the parametrization's ×N"),
  readout: z
    .enum(['vector', 'scalar'])
    .default('vector')
    .describe(
      'vector: a readout a_j per neuron; scalar: one a shared by all neurons, init 0 (Ghorbani et al.’s constant_a): f = s·a·Σ_j σ(⟨w_j,x⟩ + b_j) + c',
    ),
  train: z.enum(['both', 'first', 'readout']).default('both').describe('which layers train'),
  optimizer: z.enum(optimizers).default('gd').describe('full-batch GD, mini-batch SGD, or Adam (mini-batch)'),
  batchSize: z.number().int().min(1).default(256).describe('mini-batch size for sgd and adam'),
  samples: z
    .enum(sampleModes)
    .default('data')
    .describe(
      'data: batches from the n training samples; online: every step batchSize fresh samples from the target (one pass, Ghorbani et al.), drawn from the fit’s seed',
    ),
  lr: perLayer.default(0.1).describe('learning rate, or { first, readout }'),
  lrScale: z
    .enum(lrScales)
    .default('parametrization')
    .describe(
      "factor on W's, b's and a's learning rates: the parametrization's (×N for mean-field, else ×1), width (×N whatever the parametrization, Ghorbani et al.), or none; c's is outputBiasLr × the readout lr, never scaled",
    ),
  schedule: scheduleOption,
  stepEvery: z.number().int().min(1).default(1000).describe('steps between ×0.1 drops for schedule: step'),
  decay: decayOption,
  weightDecay: perLayer.default(0).describe('weight decay, or { first, readout }'),
  loss: lossOption,
  steps: z.number().int().min(1).optional().describe('training steps (default 1000)'),
  epochs: z.number().int().min(1).optional().describe('passes over the data (instead of steps)'),
  recordEvery: z
    .number()
    .int()
    .min(1)
    .default(50)
    .describe('steps between recorded points of the learning curve'),
  earlyStopping: z
    .strictObject({
      fraction: z.number().gt(0).lt(1).default(0.1).describe('share of the training set held out'),
      patience: z.number().int().min(1).default(5).describe('records without improvement before stopping'),
    })
    .optional()
    .describe('stop when the held-out loss stops improving, and keep the best weights'),
  divergence: z
    .number()
    .positive()
    .default(1e6)
    .describe('a recorded loss above this (or NaN) stops the run as diverged'),
}).superRefine((o, ctx) => {
  const fail = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if (o.steps !== undefined && o.epochs !== undefined) fail('epochs', 'give steps or epochs, not both');
  if (o.symmetric && o.width % 2)
    fail('width', `symmetric init pairs neurons: width must be even, got ${o.width}`);
  const wd =
    typeof o.weightDecay === 'number' ? { first: o.weightDecay, readout: o.weightDecay } : o.weightDecay;
  if (o.train === 'readout' && wd.first > 0 && typeof o.weightDecay !== 'number')
    fail('weightDecay', 'weight decay on the first layer, which does not train (train: readout)');
  if (o.train === 'first' && wd.readout > 0 && typeof o.weightDecay !== 'number')
    fail('weightDecay', 'weight decay on the readout, which does not train (train: first)');
  if (o.optimizer === 'gd' && o.epochs !== undefined) fail('epochs', 'full-batch gd counts steps; use steps');
  if (o.samples === 'online' && o.optimizer === 'gd')
    fail('optimizer', 'samples: online draws batchSize fresh samples a step: use optimizer sgd or adam');
  if (o.samples === 'online' && o.epochs !== undefined)
    fail('epochs', 'samples: online never passes over the training set: give steps');
  if (o.readout === 'scalar' && o.symmetric)
    fail('symmetric', 'symmetric init pairs opposite readouts; a scalar readout has one: drop symmetric');
  const decayed = o.decay.map((drop) => drop.from);
  if (new Set(decayed).size !== decayed.length) fail('decay', 'two drops start at the same fraction');
});

export type NetworkOptions = z.output<typeof networkOptions>;

export const network: LearnerFactory = defineLearnerKind({
  kind: 'nn',
  representation: true, // its predictors expose the features the readout reads (transfer's base)
  description:
    'two-layer network trained by GD / SGD / Adam (standard, ntk or mean-field parametrization); records learning curves',
  options: networkOptions,
  estimate: (o, s) => {
    const steps = totalSteps(o, s.n);
    return trainingEstimate(steps, batchSize(o, s.n), 2 * o.width * (s.d + s.k), o.width, s, {
      // the ops of a step, with a fresh batch from the target in online mode (cost.ts)
      opsPerStep: TWO_LAYER_OPS[o.optimizer] + (o.samples === 'online' ? ONLINE_DRAW_OPS : 0),
      records: 1 + Math.ceil(steps / o.recordEvery), // step 0, every recordEvery-th and the last
    });
  },
  // with σ = z² on a quadratic target: the best fit of rank ≤ N (one sign with a scalar readout)
  theory: (o, context) =>
    quadraticWidthTheory(
      'nn',
      { activation: o.activation, bias: o.bias, intercept: o.outputBias, scalar: o.readout === 'scalar' },
      context,
    ),
  create(o) {
    const sigma = activation(o.activation);
    return {
      async fit(train, ctx): Promise<Predictor> {
        ctx.signal.throwIfAborted();
        await checkLabels(o.loss, train.y);
        const [, d] = train.x.shape;
        const { output: s, readoutInit } = scales(o.parametrization, o.width);
        const initial = initTwoLayer(ctx.rng.child('init'), o, d, train.y.shape[1], readoutInit);
        const { params, steps, stopped } = await trainTwoLayer(initial, train, o, ctx);
        const predictor = twoLayerPredictor(params, sigma, s);
        return { ...predictor, diagnostics: { steps, 'early-stopped': stopped ? 1 : 0 } };
      },
    };
  },
});

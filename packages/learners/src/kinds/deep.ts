/**
 * `deep`: fully connected networks of L hidden layers for compositions of quadratics (Allen-Zhu &
 * Li, backward feature correction): h_0 = x, h_ℓ = σ(h_{ℓ−1}W_ℓᵀ) with W_ℓ ~ N(0, 1/fan-in), and
 * an output f = Σ_{ℓ∈S} h_ℓ v_ℓ that reads every layer (`skip: true`: a DenseNet-like output; the
 * layers do not take lower ones as inputs, as the paper's learner does) or the last one. σ
 * defaults to h_2(z) = (z² − 1)/√2, the centred quadratic.
 * `training: joint` trains every layer at once; `layerwise` trains layer ℓ (with the readouts of
 * layers ≤ ℓ) for steps/L steps, freezes it and goes up — the comparison of the paper
 * (training/train-deep.ts). Backward passes are written by hand (training/deep.ts). Records, per
 * layer, the alignment of W_1 with the target's U and, for a target that exposes its levels
 * (hierarchical), how well each layer's features linearly predict the target's level ℓ (R² of a
 * least-squares fit on the probe set).
 */
import { defineLearnerKind, type LearnerFactory, options, type Predictor, z } from '@regimes/core';
import { activation, activationOption } from '../activations/index.js';
import { deepStepOps, trainingEstimate } from '../cost.js';
import { deepPredictor, reads } from '../training/deep.js';
import { checkLabels, lossOption } from '../training/loss.js';
import { batchSize } from '../training/samples.js';
import { trainDeep } from '../training/train-deep.js';
import { optimizers } from '../training/update.js';

export const deepOptions = options({
  layers: z.number().int().min(1).max(8).default(3).describe('L, hidden layers'),
  width: z.number().int().min(1).default(64).describe('neurons per hidden layer'),
  activation: activationOption.default({ he: 2 }),
  skip: z.boolean().default(true).describe('the output reads every layer (true) or the last one'),
  training: z
    .enum(['joint', 'layerwise'])
    .default('joint')
    .describe('all layers at once, or one layer at a time, bottom up'),
  optimizer: z.enum(optimizers).default('adam'),
  batchSize: z.number().int().min(1).default(256),
  lr: z.number().positive().default(1e-3),
  weightDecay: z.number().min(0).default(0),
  loss: lossOption,
  steps: z.number().int().min(1).default(2000).describe('total steps (layerwise: split evenly over layers)'),
  recordEvery: z.number().int().min(1).default(100),
  divergence: z.number().positive().default(1e6),
}).superRefine((o, ctx) => {
  if (o.training === 'layerwise' && o.layers < 2)
    ctx.addIssue({
      code: 'custom',
      path: ['training'],
      message:
        'layerwise training of a two-layer net (one hidden layer) is the same as joint: use layers ≥ 2 or training: joint',
    });
});

export const deep: LearnerFactory = defineLearnerKind({
  kind: 'deep',
  representation: true, // its predictors expose the features the readout reads (transfer's base)
  description:
    'fully connected deep net (quadratic-type activations, skip outputs) trained joint or layerwise',
  options: deepOptions,
  estimate: (o, s) => {
    const perPoint = 2 * o.width * (s.d + (o.layers - 1) * o.width + o.layers * s.k);
    return trainingEstimate(o.steps, batchSize(o, s.n), perPoint, o.layers * o.width, s, {
      opsPerStep: deepStepOps(o.layers, o.training, o.optimizer),
      records: 1 + Math.ceil(o.steps / o.recordEvery), // step 0, every recordEvery-th and the last
    });
  },
  create(o) {
    const sigma = activation(o.activation);
    return {
      async fit(train, ctx): Promise<Predictor> {
        ctx.signal.throwIfAborted();
        await checkLabels(o.loss, train.y);
        const { params, steps } = await trainDeep(train, o, ctx);
        return { ...deepPredictor(params, sigma, reads(o, o.layers)), diagnostics: { steps } };
      },
    };
  },
});

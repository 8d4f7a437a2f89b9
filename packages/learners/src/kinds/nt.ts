/**
 * `nt`: the neural tangent model of Ghorbani, Mei, Misiakiewicz & Montanari 2019 — a two-layer
 * network linearized around a frozen random first layer, fitted by ridge (readout/tangent.ts).
 * The learned directions G are exposed as the predictor's first layer.
 */
import { defineLearnerKind, type LearnerFactory, options, z } from '@regimes/core';
import { activation } from '../activations/index.js';
import { featureRidgeEstimate, kernelRidgeEstimate } from '../cost.js';
import { firstLayerOptions } from '../readout/first-layer.js';
import { interceptOption, refineRidge, ridgeOptions } from '../readout/options.js';
import { fitNeuralTangent } from '../readout/tangent.js';
import { quadraticWidthTheory } from '../readout/quadratic-theory.js';

export const neuralTangentOptions = options({
  ...firstLayerOptions,
  weights: z
    .enum(['sphere', 'gaussian'])
    .default('gaussian')
    .describe('rows of W: uniform on the unit sphere, or N(0, I/d)'),
  train: z
    .enum(['first', 'both'])
    .default('first')
    .describe('linearize the first layer only, or also train the readout'),
  layers: z
    .never({
      error: (issue) =>
        `renamed: which layers train is \`train\` now (as in nn): write ${
          issue.input === 'first' || issue.input === 'both'
            ? `train: ${issue.input}`
            : 'train: first (the first layer linearized) or train: both (and the readout)'
        }`,
    })
    .optional()
    .describe('renamed to train'),
  ...ridgeOptions,
  ...interceptOption,
}).superRefine(refineRidge(false));

export const neuralTangent: LearnerFactory = defineLearnerKind({
  kind: 'nt',
  representation: false, // a kernel predictor: no features for a transfer to keep
  description:
    'neural tangent model (Ghorbani et al. 2019): linearized two-layer net around a frozen random W, by ridge',
  options: neuralTangentOptions,
  // N·d features x ⊗ σ'(Wx), and the N of σ(Wx) with the readout (train: both), primal where they
  // are no more than n, as the fit decides (readout/tangent.ts); their kernel is (x·x')(σ'·σ')/N
  // [+ σ·σ/N]: 2(d + N) flops per pair
  estimate: (o, s) => {
    const p = o.width * s.d + (o.train === 'both' ? o.width : 0);
    return p <= s.n
      ? featureRidgeEstimate(p, 2 * (s.n + s.testN) * p, o, s)
      : kernelRidgeEstimate(2 * (s.d + o.width), o, s);
  },
  // with σ = z² on a quadratic target: the population risk against the width (readout/quadratic-theory.ts)
  theory: (o, context) => quadraticWidthTheory('nt', o, context),
  create(o) {
    const sigma = activation(o.activation);
    return { fit: (train, ctx) => fitNeuralTangent({ ...o, layers: o.train }, sigma, train, ctx) };
  },
});

/**
 * `ntk`: kernel ridge with the analytic infinite-width neural tangent kernel of a two-layer
 * network f(x) = (1/√N) Σ_j a_j σ(⟨w_j, x⟩/√d), w ~ N(0, I_d), a ~ N(0, 1) (kernels.ts): both
 * layers (readout part + first-layer part), the first layer only, or the readout only (the limit
 * kernel of random features with Gaussian rows). σ is any activation with a closed-form dual in
 * the activation table (activations/table.ts).
 */
import { defineLearnerKind, type LearnerFactory, options, z } from '@regimes/core';
import { kernelRidgeEstimate } from '../cost.js';
import { ntkActivations, ntkKernel } from '../kernels.js';
import { kernelRidgeLearner } from '../readout/predictors.js';
import { interceptOption, ridgeOptions } from '../readout/options.js';

export const neuralTangentKernelOptions = options({
  activation: z.enum(ntkActivations).default('relu').describe('σ with a closed-form kernel'),
  layers: z.enum(['both', 'first', 'readout']).default('both').describe('which layers the kernel trains'),
  ...ridgeOptions,
  ...interceptOption,
});

export const neuralTangentKernel: LearnerFactory = defineLearnerKind({
  kind: 'ntk',
  description: `kernel ridge with the analytic infinite-width NTK of a two-layer net (${ntkActivations.join(', ')})`,
  options: neuralTangentKernelOptions,
  estimate: (o, s) => kernelRidgeEstimate(2 * s.d + 20, o, s),
  create: (o) => kernelRidgeLearner(ntkKernel(o.activation, o.layers), o),
});

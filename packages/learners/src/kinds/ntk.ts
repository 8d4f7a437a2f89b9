/**
 * `ntk`: kernel ridge with the analytic infinite-width neural tangent kernel of a two-layer
 * network f(x) = (1/√N) Σ_j a_j σ(⟨w_j, x⟩/√d), w ~ N(0, I_d), a ~ N(0, 1) (kernels.ts): both
 * layers (readout part + first-layer part), the first layer only, or the readout only (the limit
 * kernel of random features with Gaussian rows). σ is any activation with a closed-form dual in
 * the activation table (activations/table.ts). `bias` σ_b adds b ~ N(0, σ_b²) to the pre-activation,
 * which fills in the degrees a bias-free kernel cannot reach (relu's odd degrees ≥ 3); `theory` is
 * the staircase of the kernel's own coefficients (kernel-staircase.ts).
 */
import { defineLearnerKind, type LearnerFactory, options, z } from '@regimes/core';
import { kernelRidgeEstimate } from '../cost.js';
import { kernelStaircaseTheory } from '../kernel-staircase.js';
import { kernelTaylor, ntkActivations, ntkKernel } from '../kernels.js';
import { kernelRidgeLearner } from '../readout/predictors.js';
import { interceptOption, ridgeOptions } from '../readout/options.js';

export const neuralTangentKernelOptions = options({
  activation: z.enum(ntkActivations).default('relu').describe('σ with a closed-form kernel'),
  layers: z.enum(['both', 'first', 'readout']).default('both').describe('which layers the kernel trains'),
  bias: z.number().min(0).default(0).describe("std σ_b of the first layer's trained bias (0: none)"),
  ...ridgeOptions,
  ...interceptOption,
});

export const neuralTangentKernel: LearnerFactory = defineLearnerKind({
  kind: 'ntk',
  description: `kernel ridge with the analytic infinite-width NTK of a two-layer net (${ntkActivations.join(', ')})`,
  options: neuralTangentKernelOptions,
  estimate: (o, s) => kernelRidgeEstimate(2 * s.d + 20, o, s),
  create: (o) => kernelRidgeLearner(ntkKernel(o.activation, o.layers, o.bias), o),
  theory: (o, context) =>
    kernelStaircaseTheory(
      (top) => kernelTaylor.ntk(o.activation, o.layers, o.bias, top),
      context,
      o.intercept,
    ),
});

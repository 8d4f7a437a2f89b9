/**
 * `nngp`: kernel ridge with the NNGP kernel of a fully connected network with `layers` hidden
 * layers — the covariance Σ^{L+1} of its outputs at initialisation as the width → ∞ (Neal 1996;
 * Lee et al. 2018; kernels.ts `deepKernel`) — which is the posterior mean of the Gaussian process
 * with that prior and observation-noise variance nλ (the ridge minimises (1/n)‖residual‖² + λ‖f‖²).
 * Same architecture options as `ntk`; it equals `ntk` with `train: readout`.
 */
import { defineLearnerKind, type LearnerFactory, options } from '@regimes/core';
import { kernelRidgeEstimate } from '../cost.js';
import { kernelStaircaseTheory } from '../kernel-staircase.js';
import { deepKernel } from '../kernels.js';
import { kernelRidgeLearner } from '../readout/predictors.js';
import { interceptOption, posteriorVarianceOption, ridgeOptions } from '../readout/options.js';
import { deepKernelFlops, deepKernelOptions, deepKernelSpec, deepKernelTaylor, refineBias } from './ntk.js';

export const nngpOptions = options({
  ...deepKernelOptions,
  ...ridgeOptions,
  ...interceptOption,
  ...posteriorVarianceOption,
}).superRefine(refineBias);

export const nngp: LearnerFactory = defineLearnerKind({
  kind: 'nngp',
  description:
    'kernel ridge (GP posterior mean) with the infinite-width NNGP kernel of a fully connected net of L hidden layers',
  options: nngpOptions,
  estimate: (o, s) => kernelRidgeEstimate(deepKernelFlops(deepKernelSpec(o), s.d), o, s),
  create: (o) => kernelRidgeLearner(deepKernel(deepKernelSpec(o), 'nngp'), o),
  theory: (o, context) =>
    kernelStaircaseTheory((top) => deepKernelTaylor(deepKernelSpec(o), top), context, o.intercept),
});

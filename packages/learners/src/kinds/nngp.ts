/**
 * `nngp`: kernel ridge with the NNGP kernel of a fully connected network with `layers` hidden
 * layers — the covariance Σ^{L+1} of its outputs at initialisation as the width → ∞ (Neal 1996;
 * Lee et al. 2018; kernels.ts `deepKernel`) — which is the posterior mean of the Gaussian process
 * with that prior and observation-noise variance nλ (the ridge minimises (1/n)‖residual‖² + λ‖f‖²).
 * Same architecture options as `ntk` (the NNGP is the same in both parametrizations); it equals
 * `ntk` with `train: readout` in the ntk parametrization. Theory as `ntk`'s (kinds/ntk.ts).
 */
import { defineLearnerKind, type LearnerFactory, options } from '@regimes/core';
import { interceptOption, posteriorVarianceOption, refineRidge, ridgeOptions } from '../readout/options.js';
import { deepKernelKind, deepKernelOptions, refineDeepKernel } from './ntk.js';

export const nngpOptions = options({
  ...deepKernelOptions,
  ...ridgeOptions,
  ...interceptOption,
  ...posteriorVarianceOption,
}).superRefine((o, ctx) => {
  refineDeepKernel(o, ctx);
  refineRidge(true)(o, ctx);
});

export const nngp: LearnerFactory = defineLearnerKind({
  kind: 'nngp',
  representation: false, // a kernel predictor: no features for a transfer to keep
  description:
    'kernel ridge (GP posterior mean) with the infinite-width NNGP kernel of a fully connected net of L hidden layers',
  options: nngpOptions,
  ...deepKernelKind('nngp'),
});

/**
 * `ntk`: kernel ridge with the analytic infinite-width neural tangent kernel of a two-layer
 * network f(x) = (1/√N) Σ_j a_j σ(⟨w_j, x⟩/√d), w ~ N(0, I_d), a ~ N(0, 1) (formulas in kernels.ts):
 * both layers (readout part + first-layer part), the first layer only, or the readout only (the
 * limit kernel of random features with Gaussian rows).
 */
import {
  defineLearnerKind,
  type Learner,
  type LearnerFactory,
  options,
  type Predictor,
  z,
} from '@regimes/core';
import { dualPredict, type KernelFunction, ntkActivations, ntkKernel } from '../kernels.js';
import { predictorFromFits } from './rf.js';
import { fitRidge, type RidgeOptions, ridgeOptions } from '../readout/ridge.js';
import { dualSystem } from '../readout/systems.js';
import { kernelRidgeEstimate } from '../cost.js';

export const neuralTangentKernelOptions = options({
  activation: z.enum(ntkActivations).default('relu').describe('σ with a closed-form kernel'),
  layers: z.enum(['both', 'first', 'readout']).default('both').describe('which layers the kernel trains'),
  ...ridgeOptions,
});

/** Kernel ridge with a fixed kernel: the dual solve, and predictions Σ α_i K(x, x_i). */
export function kernelRidgeLearner(kernel: KernelFunction, o: RidgeOptions): Learner {
  return {
    async fit(train, ctx): Promise<Predictor> {
      ctx.signal.throwIfAborted();
      const fits = await fitRidge(await dualSystem(train.x, train.y, kernel), o, ctx.signal);
      const x = train.x.clone();
      return predictorFromFits(
        fits,
        (fit) => ({
          predict: (q) => dualPredict(kernel, x, fit.coefficients, q),
          dispose: () => fit.coefficients.dispose(),
        }),
        [x],
      );
    },
  };
}

export const neuralTangentKernel: LearnerFactory = defineLearnerKind({
  kind: 'ntk',
  description: 'kernel ridge with the analytic infinite-width NTK of a two-layer net (relu, erf, quadratic)',
  options: neuralTangentKernelOptions,
  estimate: (o, s) => kernelRidgeEstimate(2 * s.d + 20, o, s),
  create(o) {
    const kernel = ntkKernel(o.activation, o.layers);
    return kernelRidgeLearner(kernel, o);
  },
});

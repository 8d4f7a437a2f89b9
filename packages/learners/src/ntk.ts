/**
 * `ntk`: kernel ridge with the analytic infinite-width neural tangent kernel of a two-layer
 * network f(x) = (1/√N) Σ_j a_j σ(⟨w_j, x⟩/√d), w ~ N(0, I_d), a ~ N(0, 1) (formulas in kernels.ts):
 * both layers (readout part + first-layer part), the first layer only, or the readout only (the
 * limit kernel of random features with Gaussian rows).
 */
import { defineLearnerKind, type LearnerFactory, options, type Predictor, z } from '@regimes/core';
import { dualPredict, ntkActivations, ntkKernel } from './kernels.js';
import { predictorFromFits } from './rf.js';
import { fitRidge, ridgeOptions } from './ridge.js';
import { dualSystem } from './systems.js';

export const neuralTangentKernelOptions = options({
  activation: z.enum(ntkActivations).default('relu').describe('σ with a closed-form kernel'),
  layers: z.enum(['both', 'first', 'readout']).default('both').describe('which layers the kernel trains'),
  ...ridgeOptions,
});

export const neuralTangentKernel: LearnerFactory = defineLearnerKind({
  kind: 'ntk',
  description: 'kernel ridge with the analytic infinite-width NTK of a two-layer net (relu, erf, quadratic)',
  options: neuralTangentKernelOptions,
  create(o) {
    const kernel = ntkKernel(o.activation, o.layers);
    return {
      async fit(train, ctx): Promise<Predictor> {
        ctx.signal.throwIfAborted();
        const x = train.x.clone();
        const fits = await fitRidge(dualSystem(train.x, train.y, kernel), o, ctx.signal);
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
  },
});

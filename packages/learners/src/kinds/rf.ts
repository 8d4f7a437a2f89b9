/**
 * `rf`: random-features ridge regression. A frozen first layer W (N×d, rows uniform on the unit
 * sphere or N(0, I/d)) and optional biases b ~ N(0, bias²) give features φ(x) = σ(Wx + b)/√N;
 * the readout a minimizes (1/n)‖Φa − y‖² + λ‖a‖², solved exactly: in the primal (N×N) when
 * N ≤ n, in the dual (n×n, a = Φᵀα) when n < N. As N → ∞ this is kernel ridge with
 * K(x, x') = E_{w,b}[σ(⟨w,x⟩+b)σ(⟨w,x'⟩+b)].
 */
import { defineLearnerKind, type LearnerFactory, options, type Predictor } from '@regimes/core';
import { activation } from '../activations/index.js';
import { featureRidgeEstimate } from '../cost.js';
import { drawFirstLayer, firstLayerOptions, readFirstLayer } from '../readout/first-layer.js';
import { interceptOption, refineRidge, ridgeOptions } from '../readout/options.js';
import { quadraticWidthTheory } from '../readout/quadratic-theory.js';

export const randomFeaturesOptions = options({
  ...firstLayerOptions,
  ...ridgeOptions,
  ...interceptOption,
}).superRefine(refineRidge(false));

export const randomFeatures: LearnerFactory = defineLearnerKind({
  kind: 'rf',
  representation: true, // its predictors expose the features the readout reads (transfer's base)
  description:
    'random features ridge: frozen random first layer, readout solved exactly by ridge (primal or dual)',
  options: randomFeaturesOptions,
  estimate: (o, s) => featureRidgeEstimate(o.width, 2 * (s.n + s.testN) * o.width * s.d, o, s),
  // with σ = z² on a quadratic target: the population risk against the width (readout/quadratic-theory.ts)
  theory: (o, context) => quadraticWidthTheory('rf', o, context),
  create(o) {
    const sigma = activation(o.activation);
    return {
      async fit(train, ctx): Promise<Predictor> {
        ctx.signal.throwIfAborted();
        const [n, d] = train.x.shape;
        const layer = drawFirstLayer(ctx.rng.child('init'), o, d);
        return readFirstLayer(layer, sigma, train, o, ctx.signal, { dual: o.width <= n ? 0 : 1 });
      },
    };
  },
});

/**
 * `rf`: random-features ridge regression. A frozen first layer W (width×d, rows uniform on the
 * unit sphere or Gaussian N(0, I/d)) gives features φ(x) = σ(Wx)/√N; the readout a minimizes
 * (1/n)‖Φa − y‖² + λ‖a‖², solved exactly: in the primal (N×N) when N ≤ n, in the dual (n×n)
 * when n < N. As N → ∞ this is kernel ridge with K(x, x') = E_w[σ(⟨w,x⟩)σ(⟨w,x'⟩)].
 */
import {
  defineLearnerKind,
  type LearnerFactory,
  NumericalError,
  options,
  type Predictor,
  randomNormal,
  randomSphere,
  solveShiftedSPD,
  z,
} from '@regimes/core';
import * as tf from '@tensorflow/tfjs-core';
import { activationNames, activations } from './activations.js';

export const randomFeaturesOptions = options({
  width: z.number().int().min(1).default(512).describe('N, the number of random features'),
  activation: z.enum(activationNames).default('relu').describe('σ'),
  ridge: z.number().min(0).default(1e-3).describe('λ in (1/n)‖Φa − y‖² + λ‖a‖²'),
  weights: z
    .enum(['sphere', 'gaussian'])
    .default('sphere')
    .describe('rows of W: uniform on the unit sphere, or N(0, I/d)'),
});

/** Relative residual ‖(A + λI)x − b‖ / ‖b‖ of a host solve, in float64. */
function relativeResidual(
  a: Float64Array,
  m: number,
  shift: number,
  x: Float64Array,
  b: Float64Array,
  cols: number,
) {
  let num = 0;
  let den = 0;
  for (let i = 0; i < m; i++)
    for (let c = 0; c < cols; c++) {
      let s = shift * x[i * cols + c]!;
      for (let k = 0; k < m; k++) s += a[i * m + k]! * x[k * cols + c]!;
      num += (s - b[i * cols + c]!) ** 2;
      den += b[i * cols + c]! ** 2;
    }
  return Math.sqrt(num / Math.max(den, Number.MIN_VALUE));
}

export const randomFeatures: LearnerFactory = defineLearnerKind({
  kind: 'rf',
  description: 'random features ridge: frozen random first layer, readout solved exactly by ridge',
  options: randomFeaturesOptions,
  create({ width, activation, ridge, weights }) {
    const sigma = activations[activation];
    return {
      async fit(train, ctx): Promise<Predictor> {
        ctx.signal.throwIfAborted();
        const [n, d] = train.x.shape;
        const k = train.y.shape[1];
        const initRng = ctx.rng.child('init', 'W');
        const w =
          weights === 'sphere'
            ? randomSphere(initRng, width, d)
            : randomNormal(initRng, width, d, 1 / Math.sqrt(d));
        const featurize = (x: tf.Tensor2D) =>
          tf.tidy(() => tf.div(sigma(tf.matMul(x, w, false, true)), Math.sqrt(width)) as tf.Tensor2D);

        const phi = featurize(train.x);
        const primal = width <= n;
        const m = primal ? width : n;
        // Gram matrix (1/n)ΦᵀΦ (primal) or kernel (1/n)ΦΦᵀ (dual), and the right-hand side.
        const [gram, rhs] = tf.tidy(() => [
          tf.div(primal ? tf.matMul(phi, phi, true, false) : tf.matMul(phi, phi, false, true), n),
          tf.div(primal ? tf.matMul(phi, train.y, true, false) : train.y, n),
        ]);
        const gramHost = Float64Array.from(await gram!.data());
        const rhsHost = Float64Array.from(await rhs!.data());
        tf.dispose([gram!, rhs!]);
        let solution: Float64Array;
        try {
          solution = solveShiftedSPD(gramHost, m, ridge, rhsHost, k);
        } catch (error) {
          tf.dispose([w, phi]);
          throw error;
        }
        const residual = relativeResidual(gramHost, m, ridge, solution, rhsHost, k);
        if (!solution.every(Number.isFinite)) {
          tf.dispose([w, phi]);
          throw new NumericalError('the ridge solve produced non-finite readout weights', {
            hint: 'increase ridge, or check the data for NaN',
          });
        }
        const coefficients = tf.tensor2d(Float32Array.from(solution), [m, k]);
        const readout = primal
          ? coefficients
          : tf.tidy(() => tf.matMul(phi, coefficients, true, false) as tf.Tensor2D);
        if (!primal) coefficients.dispose();
        const trainRisk = tf.tidy(() => tf.mean(tf.squaredDifference(tf.matMul(phi, readout), train.y)));
        const trainRiskValue = (await trainRisk.data())[0]!;
        tf.dispose([phi, trainRisk]);
        return {
          features: w,
          diagnostics: { 'train-risk': trainRiskValue, 'solve-residual': residual, dual: primal ? 0 : 1 },
          predict: (x) => tf.tidy(() => tf.matMul(featurize(x), readout) as tf.Tensor2D),
          dispose: () => tf.dispose([w, readout]),
        };
      },
    };
  },
});

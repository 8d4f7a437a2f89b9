/**
 * Test risks, each with its Monte-Carlo standard error over the test set (`<name>-se`):
 * `risk` E[(f − f*)²] against the noiseless target; `normalized-risk` = risk / Var f* (1 for the
 * best constant predictor); `excess-risk` = E[(f − y)²] − σ² on the noisy test labels, whose
 * expectation equals the risk. The test set is read in chunks (one predict per chunk) and the
 * per-point losses are accumulated on the host in float64. A predictor with a predicted variance
 * (`predictVariance`: the prediction is the mean over a random initialisation) gets expected risks,
 * its mean's squared error plus the variance.
 */
import {
  type Dataset,
  defineMetricKind,
  options,
  type Predictor,
  RegimesError,
  type Target,
  testChunks,
} from '@regimes/core';
import tf from '@regimes/numerics/tfjs';
import { testMoments } from './moments.js';
import { exactTargetVariance } from './variance.js';

/**
 * Per point: the squared error of the predictor's mean against `against` (f* or the noisy labels),
 * plus its predicted variance where the predictor has one (the expected loss over its randomness,
 * `Predictor.predictVariance`), averaged over outputs (rows × 1).
 */
function lossAt(predictor: Predictor, x: tf.Tensor2D, against: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const squared = tf.squaredDifference(predictor.predict(x), against);
    const loss = predictor.predictVariance ? tf.add(squared, predictor.predictVariance(x)) : squared;
    return tf.mean(loss, 1, true) as tf.Tensor2D;
  });
}
const pointRisk = (predictor: Predictor, target: Target) => (chunk: Dataset) =>
  tf.tidy(() => lossAt(predictor, chunk.x, target.evaluate(chunk.x)));

export const risk = defineMetricKind({
  kind: 'risk',
  description:
    'test MSE of the prediction against the noiseless target f*(x), averaged over outputs; risk-se: its Monte-Carlo standard error',
  options: options({}),
  create: () => ({
    async compute(predictor, test, target, context) {
      const m = await testMoments(testChunks(test, context), 1, pointRisk(predictor, target));
      return { risk: m.mean[0]!, 'risk-se': m.standardError([1]) };
    },
  }),
});

/** normalized-risk of a target with no variance: refused, saying so (it read as the predictor's fault). */
const constantTarget = (why: string) =>
  new RegimesError(`normalized-risk is undefined for this target: ${why} (f* is constant)`, {
    hint: 'use risk for a constant target; normalized-risk divides by Var f*',
  });

export const normalizedRisk = defineMetricKind({
  kind: 'normalized-risk',
  description:
    'risk / Var f* (Var from the exact Hermite energies when known): 1 for the best constant; normalized-risk-se: its standard error',
  options: options({}),
  create: () => ({
    async compute(predictor, test, target, context) {
      const chunks = testChunks(test, context);
      const exact = exactTargetVariance(target);
      // (a quadrature's Var f* of a constant is round-off: 1e-13 of its E f*² = 9)
      const mean2 = target.structure.hermiteEnergy?.[0] ?? 0;
      if (exact !== undefined && !(exact > 1e-10 * (exact + mean2)))
        throw constantTarget(
          `its Var f* is ${Number(exact.toPrecision(2))} of E f*² = ${Number((exact + mean2).toPrecision(3))}`,
        );
      if (exact !== undefined) {
        const m = await testMoments(chunks, 1, pointRisk(predictor, target));
        return { 'normalized-risk': m.mean[0]! / exact, 'normalized-risk-se': m.standardError([1]) / exact };
      }
      // Var f* estimated on the same test set: columns (ℓ_i, q_i = mean_j f*_ij², f*_i1..f*_ik);
      // R = mean ℓ / V, V = mean q − (1/k) Σ_j (mean f*_j)², SE by the delta method.
      const k = target.outputDim;
      const m = await testMoments(chunks, 2 + k, (chunk) => {
        const f = target.evaluate(chunk.x);
        return tf.concat(
          [lossAt(predictor, chunk.x, f), tf.mean(tf.square(f), 1, true), f],
          1,
        ) as tf.Tensor2D;
      });
      const means = [...m.mean];
      const a = means[0]!;
      const v = means[1]! - means.slice(2).reduce((s, mu) => s + mu * mu, 0) / k;
      // f* constant on the test set (to float32): there is no variance to normalize by
      if (!(v > 1e-12 * Math.max(means[1]!, Number.MIN_VALUE)))
        throw constantTarget(`Var f* on the test set is ${Number(v.toPrecision(2))}`);
      const gradient = [1 / v, -a / (v * v), ...means.slice(2).map((mu) => ((a / (v * v)) * 2 * mu) / k)];
      return { 'normalized-risk': a / v, 'normalized-risk-se': m.standardError(gradient) };
    },
  }),
});

export const excessRisk = defineMetricKind({
  kind: 'excess-risk',
  description:
    'test MSE against the noisy labels minus the noise variance σ² (its expectation is the risk); excess-risk-se: its standard error',
  options: options({}),
  create: () => ({
    async compute(predictor, test, target, context) {
      const m = await testMoments(testChunks(test, context), 1, (chunk) =>
        lossAt(predictor, chunk.x, chunk.y),
      );
      return {
        'excess-risk': m.mean[0]! - (target.structure.noiseVariance ?? 0),
        'excess-risk-se': m.standardError([1]),
      };
    },
  }),
});

/**
 * Test risks: `risk` E[(f − f*)²] against the noiseless target; `normalized-risk` = risk / Var f*
 * (1 for the best constant predictor); `excess-risk` = E[(f − y)²] − σ² on the noisy test labels,
 * whose expectation equals the risk.
 */
import { defineMetricKind, options } from '@regimes/core';
import * as tf from '@tensorflow/tfjs-core';
import { targetVariance } from './variance.js';

async function scalar(t: tf.Tensor): Promise<number> {
  const [v] = await t.data();
  t.dispose();
  return v!;
}

export const risk = defineMetricKind({
  kind: 'risk',
  description: 'test MSE of the prediction against the noiseless target f*(x), averaged over outputs',
  options: options({}),
  create: () => ({
    compute: (predictor, test, target) =>
      scalar(
        tf.tidy(() => tf.mean(tf.squaredDifference(predictor.predict(test.x), target.evaluate(test.x)))),
      ),
  }),
});

export const normalizedRisk = defineMetricKind({
  kind: 'normalized-risk',
  description: 'risk / Var f* (Var from the exact Hermite energies when known): 1 for the best constant',
  options: options({}),
  create: () => ({
    async compute(predictor, test, target) {
      const value = await scalar(
        tf.tidy(() => tf.mean(tf.squaredDifference(predictor.predict(test.x), target.evaluate(test.x)))),
      );
      return value / (await targetVariance(target, test));
    },
  }),
});

export const excessRisk = defineMetricKind({
  kind: 'excess-risk',
  description: 'test MSE against the noisy labels minus the noise variance σ² (its expectation is the risk)',
  options: options({}),
  create: () => ({
    async compute(predictor, test, target) {
      const value = await scalar(
        tf.tidy(() => tf.mean(tf.squaredDifference(predictor.predict(test.x), test.y))),
      );
      return value - (target.structure.noiseVariance ?? 0);
    },
  }),
});

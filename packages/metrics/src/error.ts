/**
 * `error`: the classification error P(sign f(x) ≠ y) on the test labels (±1), and for a target
 * with a known Bayes error (mixture) its excess over it; each with its Monte-Carlo standard error
 * (`error-se`, `excess-error-se`: s/√m of the per-point misclassification indicator). For
 * real-valued labels the sign of the label is the class. A prediction of exactly 0 is a tie and
 * counts ½ (a coin's guess): counted wrong, as before 2026-12-06, the zero predictor (a scalar
 * readout initialised at 0, Ghorbani et al.'s) scored error 1 where chance is ½.
 */
import { defineMetricKind, options, testChunks } from '@regimes/core';
import tf from '@regimes/numerics/tfjs';
import { testMoments } from './moments.js';

export const classificationError = defineMetricKind({
  kind: 'error',
  description:
    'classification error P(sign f(x) ≠ sign y) on the test labels (a prediction of 0 counts ½); excess over the Bayes error when known; with standard errors (-se)',
  options: options({}),
  create: () => ({
    async compute(predictor, test, target, context): Promise<Record<string, number>> {
      const m = await testMoments(
        testChunks(test, context),
        1,
        (chunk) =>
          tf.tidy(() => {
            const guess = tf.sign(predictor.predict(chunk.x));
            const wrong = tf.cast(tf.notEqual(guess, tf.sign(chunk.y)), 'float32');
            return tf.mean(tf.where(tf.equal(guess, 0), tf.fill(wrong.shape, 0.5), wrong), 1, true);
          }) as tf.Tensor2D,
      );
      const error = m.mean[0]!;
      const se = m.standardError([1]);
      const bayes = target.structure.bayesError;
      return bayes === undefined
        ? { error, 'error-se': se }
        : { error, 'error-se': se, 'excess-error': error - bayes, 'excess-error-se': se };
    },
  }),
});

/**
 * `error`: the classification error P(sign f(x) ≠ y) on the test labels (±1), and for a target
 * with a known Bayes error (mixture) its excess over it; each with its Monte-Carlo standard error
 * (`error-se`, `excess-error-se`: s/√m of the per-point misclassification indicator). For
 * real-valued labels the sign of the label is the class. A prediction of exactly 0 is a tie and
 * counts ½ (a coin's guess): counted wrong, as before 2026-12-06, the zero predictor (a scalar
 * readout initialised at 0, Ghorbani et al.'s) scored error 1 where chance is ½. A label of exactly
 * 0 has no class and counts ½ too (a noiseless f* = 0 on a set of positive mass, relu(z1) on half
 * the points): counted wrong for every nonzero prediction, as before 2026-12-07, f* + 1 scored
 * error ½ on relu(z1) where f* itself scored ¼; both score ¼ now.
 */
import { defineMetricKind, options, testChunks } from '@regimes/core';
import tf from '@regimes/numerics/tfjs';
import { testMoments } from './moments.js';

export const classificationError = defineMetricKind({
  kind: 'error',
  description:
    'classification error P(sign f(x) ≠ sign y) on the test labels (a prediction or a label of 0 counts ½); excess over the Bayes error when known; with standard errors (-se)',
  options: options({}),
  create: () => ({
    async compute(predictor, test, target, context): Promise<Record<string, number>> {
      const m = await testMoments(
        testChunks(test, context),
        1,
        (chunk) =>
          tf.tidy(() => {
            const guess = tf.sign(predictor.predict(chunk.x));
            const label = tf.sign(chunk.y);
            const wrong = tf.cast(tf.notEqual(guess, label), 'float32');
            const tie = tf.logicalOr(tf.equal(guess, 0), tf.equal(label, 0));
            return tf.mean(tf.where(tie, tf.fill(wrong.shape, 0.5), wrong), 1, true);
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

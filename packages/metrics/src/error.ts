/**
 * `error`: the classification error P(sign f(x) ≠ y) on the test labels (±1), and for a target
 * with a known Bayes error (mixture) its excess over it. For real-valued labels the sign of the
 * label is the class.
 */
import { defineMetricKind, options } from '@regimes/core';
import * as tf from '@tensorflow/tfjs-core';

export const classificationError = defineMetricKind({
  kind: 'error',
  description:
    'classification error P(sign f(x) ≠ sign y) on the test labels; excess over the Bayes error when known',
  options: options({}),
  create: () => ({
    async compute(predictor, test, target): Promise<Record<string, number>> {
      const t = tf.tidy(() =>
        tf.mean(tf.cast(tf.notEqual(tf.sign(predictor.predict(test.x)), tf.sign(test.y)), 'float32')),
      );
      const [error] = await t.data();
      t.dispose();
      const bayes = target.structure.bayesError;
      return bayes === undefined ? { error: error! } : { error: error!, 'excess-error': error! - bayes };
    },
  }),
});

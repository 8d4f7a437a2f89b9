/** `risk`: test mean squared error against the noiseless target, E[(f(x) − f*(x))²]. */
import { defineMetricKind, options } from '@regimes/core';
import * as tf from '@tensorflow/tfjs-core';

export const risk = defineMetricKind({
  kind: 'risk',
  description: 'test MSE of the prediction against the noiseless target f*(x), averaged over outputs',
  options: options({}),
  create() {
    return {
      async compute(predictor, test, target) {
        const value = tf.tidy(() =>
          tf.mean(tf.squaredDifference(predictor.predict(test.x), target.evaluate(test.x))),
        );
        const [risk] = await value.data();
        value.dispose();
        return risk!;
      },
    };
  },
});

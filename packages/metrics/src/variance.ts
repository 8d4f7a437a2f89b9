/** Var f* from the target's exact structure when it has one, else from f* on the test set. */
import type { Dataset, Target } from '@regimes/core';
import * as tf from '@tensorflow/tfjs-core';

export async function targetVariance(target: Target, test: Dataset): Promise<number> {
  const { hermiteEnergy, hermiteTail } = target.structure;
  if (hermiteEnergy) return hermiteEnergy.slice(1).reduce((a, b) => a + b, 0) + (hermiteTail ?? 0);
  const v = tf.tidy(() => {
    const f = target.evaluate(test.x);
    return tf.mean(tf.square(tf.sub(f, tf.mean(f, 0, true))));
  });
  const [value] = await v.data();
  v.dispose();
  return value!;
}

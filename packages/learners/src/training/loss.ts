/** Losses of gradient training, each with its derivative in the network's output. */
import { z } from '@regimes/core';
import tf from '@regimes/numerics/tfjs';

export type Loss = 'mse' | 'logistic';
export const lossOption = z
  .enum(['mse', 'logistic'])
  .default('mse')
  .describe('mse, or logistic for ±1 labels');

/** Mean loss over samples and outputs, and its derivative in f. Inside tidy. */
export function lossAndSlope(loss: Loss, f: tf.Tensor2D, y: tf.Tensor2D) {
  const count = f.shape[0] * f.shape[1];
  if (loss === 'mse') {
    const r = tf.sub(f, y);
    return { value: tf.mean(tf.square(r)), slope: tf.mul(r, 2 / count) };
  }
  const margin = tf.mul(y, f);
  // log(1 + e^{−m}) = softplus(−m); d/df = −y·sigmoid(−m)
  return {
    value: tf.mean(tf.softplus(tf.neg(margin))),
    slope: tf.mul(tf.mul(y, tf.sigmoid(tf.neg(margin))), -1 / count),
  };
}

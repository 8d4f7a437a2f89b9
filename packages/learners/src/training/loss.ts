/** Losses of gradient training, each with its derivative in the network's output. */
import { z } from '@regimes/core';
import tf from '@regimes/numerics/tfjs';

export type Loss = 'mse' | 'logistic';
export const lossOption = z
  .enum(['mse', 'logistic'])
  .default('mse')
  .describe('mse, or logistic for ±1 labels');

/**
 * The derivative in f of the mean loss over samples and outputs (what a gradient step needs; the
 * loss's value is not computed: the training loop records the train risk itself). Inside tidy.
 */
export function lossSlope(loss: Loss, f: tf.Tensor2D, y: tf.Tensor2D): tf.Tensor2D {
  const count = f.shape[0] * f.shape[1];
  // mse: mean (f − y)², d/df = 2(f − y)/count
  if (loss === 'mse') return tf.mul(tf.sub(f, y), 2 / count);
  // logistic: mean log(1 + e^{−yf}) = mean softplus(−yf), d/df = −y·sigmoid(−yf)/count
  return tf.mul(tf.mul(y, tf.sigmoid(tf.neg(tf.mul(y, f)))), -1 / count);
}

/** Losses of gradient training, each with its derivative in the network's output. */
import { RegimesError, z } from '@regimes/core';
import tf from '@regimes/numerics/tfjs';

export type Loss = 'mse' | 'logistic';
export const lossOption = z
  .enum(['mse', 'logistic'])
  .default('mse')
  .describe('mse, or logistic for ±1 labels');

/**
 * The derivative in f of the mean loss over samples and outputs as a residual times a number (so that
 * a step can fold its rate into that number). Inside tidy.
 */
export function lossResidual(
  loss: Loss,
  f: tf.Tensor2D,
  y: tf.Tensor2D,
): { residual: tf.Tensor2D; factor: number } {
  const count = f.shape[0] * f.shape[1];
  // mse: mean (f − y)², d/df = 2(f − y)/count
  if (loss === 'mse') return { residual: tf.sub(f, y), factor: 2 / count };
  // logistic: mean log(1 + e^{−yf}) = mean softplus(−yf), d/df = −y·sigmoid(−yf)/count
  return { residual: tf.mul(y, tf.sigmoid(tf.neg(tf.mul(y, f)))), factor: -1 / count };
}

/**
 * The derivative in f of the mean loss over samples and outputs (what a gradient step needs; the
 * loss's value is not computed: the training loop records the train risk itself). Inside tidy.
 */
export function lossSlope(loss: Loss, f: tf.Tensor2D, y: tf.Tensor2D): tf.Tensor2D {
  const { residual, factor } = lossResidual(loss, f, y);
  return tf.mul(residual, factor);
}

/**
 * Refuses labels a loss is not defined for: logistic takes y = ±1 (its margin yf). A real-valued
 * target had trained silently, on log(1 + e^{−yf}) of labels such as 0.37, a loss whose minimiser is
 * no regression of y. The labels are read back once (n×k floats).
 */
export async function checkLabels(loss: Loss, y: tf.Tensor2D): Promise<void> {
  if (loss !== 'logistic') return;
  const values = await y.data();
  const at = values.findIndex((v) => v !== 1 && v !== -1);
  if (at < 0) return;
  const k = y.shape[1];
  throw new RegimesError(
    `loss: logistic is the loss of ±1 labels, and this target's are not: ${Number(values[at]).toPrecision(4)} at sample ${Math.floor(at / k)}${k > 1 ? `, output ${at % k}` : ''}`,
    {
      hint: 'use loss: mse for real-valued labels, or a target with ±1 labels (mixture; a noiseless sign(…) expression of hermite)',
    },
  );
}

/**
 * The correlation t = c/√(q_a q_b) of a covariance and two variances, entry by entry: what the deep
 * kernels' Mehler series takes at every layer (learners' kernels.ts). As tfjs ops it is five passes
 * over the n×m matrix (the product q_a q_b, its floor, √, the quotient, the clip); a backend may
 * register one kernel under `CorrelationKernel` that makes a single pass (the `wasm` and `native`
 * backends do, backend-node's correlation.ts).
 */
import tf from '@regimes/numerics/tfjs';
import { covarianceShapes, RELU_DUAL_SCALE_FLOOR } from './relu-dual.js';
import { singlePassKernel } from './tape.js';

/**
 * The kernel a backend registers: inputs `c` (m×n float32), `qa` (m×1 or m×n) and `qb` (1×n or
 * m×n); output t (m×n float32) as `correlationOps` defines it, but formed in float64: √(q_a q_b)
 * neither under- nor overflows there, and its floor is 1e-300.
 */
export const CorrelationKernel = 'RegimesCorrelation';

/**
 * c/√(q_a q_b) clipped to [−1, 1], as tfjs ops on any backend; t is 0 where a variance is 0 (a
 * point of variance 0, a zero input row without bias, has c = 0 with every point by Cauchy–Schwarz
 * and is taken as uncorrelated, itself included). The product is floored at the smallest normal
 * float32 (by tf.maximum, which has a gradient), so t is exact for products above the floor; √(q_a q_b), not √q_a·√q_b, so that the
 * diagonal (q_a = q_b = c) is 1 exactly (√q·√q rounds twice). The product under- or overflows
 * float32 outside variances of ~1e-19 to 1e19. Inside tidy.
 */
export function correlationOps(c: tf.Tensor, qa: tf.Tensor, qb: tf.Tensor): tf.Tensor {
  const product = tf.maximum(tf.mul(qa, qb), RELU_DUAL_SCALE_FLOOR);
  return tf.clipByValue(tf.div(c, tf.sqrt(product)), -1, 1);
}

/**
 * c/√(q_a q_b), clipped: the backend's single-pass kernel where it has one and the shapes are the
 * kernel's, else `correlationOps` (also under `tf.grad` and kin). Inside tidy.
 */
export function correlation(c: tf.Tensor, qa: tf.Tensor, qb: tf.Tensor): tf.Tensor {
  if (covarianceShapes(c, qa, qb) && singlePassKernel(CorrelationKernel))
    return tf.engine().runKernel(CorrelationKernel, { c, qa, qb }, {}) as unknown as tf.Tensor;
  return correlationOps(c, qa, qb);
}

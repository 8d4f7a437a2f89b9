/**
 * The correlation t = c/√(q_a q_b) of a covariance and two variances, entry by entry: what the deep
 * kernels' Mehler series takes at every layer (learners' kernels.ts). As tfjs ops it is five passes
 * over the n×m matrix (the product q_a q_b, its floor, √, the quotient, the clip) and four more
 * where cosines near ±1 are snapped; a backend may register one kernel under `CorrelationKernel`
 * that makes a single pass (the `wasm` and `native` backends do, backend-node's correlation.ts).
 */
import tf from '@regimes/numerics/tfjs';
import { covarianceShapes, RELU_DUAL_SCALE_FLOOR } from './relu-dual.js';
import { singlePassKernel } from './tape.js';

/**
 * The kernel a backend registers: inputs `c` (m×n float32), `qa` (m×1 or m×n) and `qb` (1×n or
 * m×n); attribute `snap` (0: none); output t (m×n float32) as `correlationOps` defines it, but formed
 * in float64: √(q_a q_b) neither under- nor overflows there, and its floor is 1e-300.
 */
export const CorrelationKernel = 'RegimesCorrelation';

/** t, with those at least 1 − snap in size taken as ±1 (none at snap = 0); NaN stays NaN. Inside tidy. */
export function snapCosines(t: tf.Tensor, snap: number): tf.Tensor {
  // greaterEqual, which unlike greater has a gradient (zero) under tf.grad
  return snap > 0 ? tf.where(tf.greaterEqual(tf.abs(t), 1 - snap), tf.sign(t), t) : t;
}

/**
 * c/√(q_a q_b) clipped to [−1, 1] and snapped (`snapCosines`), as tfjs ops on any backend. The
 * product is floored at the smallest normal float32 (tf.maximum, which has a gradient): t is 0 where
 * a variance is 0, and exact for products above the floor; √(q_a q_b), not √q_a·√q_b, so that the
 * diagonal (q_a = q_b = c) is 1 exactly (√q·√q rounds twice). The product under- or overflows
 * float32 outside variances of ~1e-19 to 1e19. Inside tidy.
 */
export function correlationOps(c: tf.Tensor, qa: tf.Tensor, qb: tf.Tensor, snap = 0): tf.Tensor {
  const product = tf.maximum(tf.mul(qa, qb), RELU_DUAL_SCALE_FLOOR);
  return snapCosines(tf.clipByValue(tf.div(c, tf.sqrt(product)), -1, 1), snap);
}

/**
 * c/√(q_a q_b), clipped and snapped: the backend's single-pass kernel where it has one and the shapes
 * are the kernel's, else `correlationOps` (also under `tf.grad` and kin). Inside tidy.
 */
export function correlation(c: tf.Tensor, qa: tf.Tensor, qb: tf.Tensor, snap = 0): tf.Tensor {
  if (covarianceShapes(c, qa, qb) && singlePassKernel(CorrelationKernel))
    return tf.engine().runKernel(CorrelationKernel, { c, qa, qb }, { snap }) as unknown as tf.Tensor;
  return correlationOps(c, qa, qb, snap);
}

/** Row-wise work on tensors in bounded chunks, and the finiteness check on host data. */
import tf from '@regimes/numerics/tfjs';
import { NumericalError } from '../errors.js';

/** Throws NumericalError when `values` has a NaN or an infinity; `what` names them in the message. */
export function assertFinite(values: ArrayLike<number>, what: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) {
      throw new NumericalError(`${what} has a non-finite value (${values[i]}) at index ${i}`);
    }
  }
}

/** Rows per chunk in mapRowChunks: bounds the intermediates of a row-wise map to a few MiB per column. */
export const ROW_CHUNK = 1 << 16;

/**
 * Apply a row-wise function to x in chunks of rows and concatenate the results, so that the
 * intermediates of one chunk only are alive at a time (evaluating f* on 10⁶ samples).
 */
export function mapRowChunks(
  x: tf.Tensor2D,
  fn: (rows: tf.Tensor2D) => tf.Tensor2D,
  chunk = ROW_CHUNK,
): tf.Tensor2D {
  const n = x.shape[0];
  if (n <= chunk) return fn(x);
  const parts: tf.Tensor2D[] = [];
  try {
    for (let start = 0; start < n; start += chunk) {
      const size = Math.min(chunk, n - start);
      parts.push(tf.tidy(() => fn(tf.slice(x, [start, 0], [size, x.shape[1]]))));
    }
    return tf.concat(parts, 0);
  } finally {
    tf.dispose(parts);
  }
}

/**
 * A tensor's values on the host (as its `data()` gives them); the tensor is freed, also when the read
 * fails (a lost device, a failed transfer).
 */
export async function hostValues(t: tf.Tensor): Promise<tf.TypedArray> {
  try {
    return (await t.data()) as tf.TypedArray;
  } finally {
    t.dispose();
  }
}

/** A scalar tensor's value (its first) on the host; the tensor is freed, also when the read fails. */
export async function hostScalar(t: tf.Tensor): Promise<number> {
  return (await hostValues(t))[0]!;
}

/** Host-generated random tensors: the numbers come from core's Rng, so every backend sees the same. */
import * as tf from '@tensorflow/tfjs-core';
import { NumericalError } from './errors.js';
import type { Rng } from './rng.js';

export function randomNormal(rng: Rng, rows: number, cols: number, scale = 1): tf.Tensor2D {
  const values = rng.normal(rows * cols);
  if (scale !== 1) for (let i = 0; i < values.length; i++) values[i]! *= scale;
  return tf.tensor2d(values, [rows, cols]);
}

/** Rows drawn uniformly on the unit sphere S^{cols-1}. */
export function randomSphere(rng: Rng, rows: number, cols: number): tf.Tensor2D {
  const values = rng.normal(rows * cols);
  for (let r = 0; r < rows; r++) {
    let norm = 0;
    for (let c = 0; c < cols; c++) norm += values[r * cols + c]! ** 2;
    const inv = 1 / Math.sqrt(norm);
    for (let c = 0; c < cols; c++) values[r * cols + c]! *= inv;
  }
  return tf.tensor2d(values, [rows, cols]);
}

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
  for (let start = 0; start < n; start += chunk) {
    const size = Math.min(chunk, n - start);
    parts.push(tf.tidy(() => fn(tf.slice(x, [start, 0], [size, x.shape[1]]))));
  }
  const out = tf.concat(parts, 0);
  tf.dispose(parts);
  return out;
}

/** Draw x ~ N(0, I_d) and y = f*(x) + noise·ε, evaluating f* in row chunks. */
export function noisySample(
  n: number,
  d: number,
  evaluate: (x: tf.Tensor2D) => tf.Tensor2D,
  noise: number,
  rng: Rng,
): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const x = randomNormal(rng.child('x'), n, d);
  const f = mapRowChunks(x, evaluate);
  if (noise === 0) return { x, y: f };
  const y = tf.tidy(() => tf.add(f, randomNormal(rng.child('noise'), n, f.shape[1], noise)) as tf.Tensor2D);
  f.dispose();
  return { x, y };
}

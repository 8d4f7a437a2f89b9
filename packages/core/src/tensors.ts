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

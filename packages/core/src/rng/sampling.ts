/** Host-generated random tensors and matrices: the numbers come from the run's Rng, so every backend sees the same. */
import tf from '@regimes/numerics/tfjs';
import { mapRowChunks, orthonormalizeRows } from '@regimes/numerics';
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

/** `rows` orthonormal rows in R^cols drawn from `rng`: Gram–Schmidt on a Gaussian matrix (uniform on the Stiefel manifold). */
export function randomOrthonormalRows(rng: Rng, rows: number, cols: number): Float64Array {
  return orthonormalizeRows(rng.normal(rows * cols, new Float64Array(rows * cols)), rows, cols);
}

/** Draw x ~ N(0, I_d) and y = f*(x) + noise·ε, evaluating f* in row chunks. */
export function noisySample(
  n: number,
  d: number,
  evaluate: (x: tf.Tensor2D) => tf.Tensor2D,
  noise: number,
  rng: Rng,
): { x: tf.Tensor2D; y: tf.Tensor2D } {
  return noisySampleRows(0, n, d, evaluate, noise, rng);
}

/**
 * Rows [start, start + count) of `noisySample(N, …, rng)` for any N ≥ start + count, the same
 * numbers: each row's normals sit at fixed positions of the counter-based streams (`Target.sampleRows`).
 */
export function noisySampleRows(
  start: number,
  count: number,
  d: number,
  evaluate: (x: tf.Tensor2D) => tf.Tensor2D,
  noise: number,
  rng: Rng,
): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const x = tf.tensor2d(normalsAt(rng.child('x'), start * d, count * d), [count, d]);
  let f: tf.Tensor2D | undefined;
  try {
    f = mapRowChunks(x, evaluate);
    if (noise === 0) return { x, y: f };
    const k = f.shape[1];
    const eps = normalsAt(rng.child('noise'), start * k, count * k);
    if (noise !== 1) for (let i = 0; i < eps.length; i++) eps[i]! *= noise;
    const clean = f;
    const y = tf.tidy(() => tf.add(clean, tf.tensor2d(eps, [count, k])) as tf.Tensor2D);
    f.dispose();
    return { x, y };
  } catch (error) {
    // an evaluate that fails (a kernel, a plugin's target) frees the sample made so far
    tf.dispose(f ? [x, f] : [x]);
    throw error;
  }
}

/**
 * The `count` normals at positions [offset, offset + count) of one long `rng.normal` draw from 0.
 * Box–Muller pairs start at even positions, so an odd offset draws its pair's partner too and drops it.
 */
export function normalsAt(rng: Rng, offset: number, count: number): Float32Array {
  const odd = offset % 2;
  const values = rng.seek(offset - odd).normal(count + odd);
  return odd ? values.slice(1) : values;
}

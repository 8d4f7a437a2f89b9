/**
 * How a first layer W (N×d) sits relative to the target's subspace U: the share of its energy in U,
 * its top singular directions, and how much of each lies in U.
 */
import { hostValues, principalCosines, topEigenvectors } from '@regimes/numerics';
import tf from '@regimes/numerics/tfjs';

/** ‖W Uᵀ‖²_F / ‖W‖²_F on tensors. Inside tidy. */
export function subspaceEnergy(w: tf.Tensor2D, u: tf.Tensor2D): tf.Scalar {
  return tf.div(tf.sum(tf.square(tf.matMul(w, u, false, true))), tf.sum(tf.square(w))) as tf.Scalar;
}

/** Top singular values and right singular vectors of W, via WᵀW on the host. */

export async function topSingular(
  w: tf.Tensor2D,
  k: number,
): Promise<{ values: number[]; vectors: Float64Array }> {
  const d = w.shape[1];
  const g = Float64Array.from(await hostValues(tf.matMul(w, w, true, false)));
  const count = Math.min(k, d);
  const vectors = topEigenvectors(g, d, count);
  const values = Array.from({ length: count }, (_, j) => {
    let q = 0;
    for (let i = 0; i < d; i++) {
      let gi = 0;
      for (let l = 0; l < d; l++) gi += g[i * d + l]! * vectors[j * d + l]!;
      q += vectors[j * d + i]! * gi;
    }
    return Math.sqrt(Math.max(0, q));
  });
  return { values, vectors };
}

/** ‖U v‖² for each row v of `vectors` (count×d): how much of it lies in span U. */
export function overlaps(
  u: Float64Array,
  rank: number,
  vectors: Float64Array,
  count: number,
  d: number,
): number[] {
  return Array.from(
    { length: count },
    (_, j) => principalCosines(u, rank, vectors.subarray(j * d, (j + 1) * d), 1, d)[0]! ** 2,
  );
}

/**
 * `alignment` of a predictor's first-layer weights W (N×d) with the target's subspace U (r×d,
 * orthonormal rows): the energy fraction ‖WUᵀ‖²_F / ‖W‖²_F (r/d in expectation for isotropic
 * random W, 1 when every row of W lies in span U), and the cosines of the principal angles
 * between span U and the span of W's top-r right singular vectors: `cos-min` the smallest of the
 * r, `cos2-mean` the mean of their squares. A W of fewer than r rows (N < r) spans N directions
 * at most, and U's other r − N have cosine 0: cos-min 0 (it had been the smallest of the N, 1 for
 * W made of rows of U), as cos2-mean already counted them. Nothing is reported when the predictor
 * has no first layer or the target no subspace.
 */
import { defineMetricKind, options } from '@regimes/core';
import { principalCosines, topEigenvectors } from '@regimes/numerics';
import tf from '@regimes/numerics/tfjs';

export const alignment = defineMetricKind({
  kind: 'alignment',
  description:
    "first layer W vs the target's subspace U: ‖WUᵀ‖²/‖W‖² and principal-angle cosines of W's top-r right singular space",
  options: options({}),
  create: () => ({
    async compute(predictor, _test, target): Promise<Record<string, number>> {
      const weights = predictor.features;
      const { subspace, subspaceRank } = target.structure;
      if (!weights || !subspace) return {};
      const d = weights.shape[1];
      const r = subspaceRank ?? subspace.length / d;
      const [projected, total, gram] = tf.tidy(() => {
        const u = tf.tensor2d(Float32Array.from(subspace), [r, d]);
        // every quantity is scale-free: W/max|W| keeps the squares within float32 for a W of 1e30
        // (one-step with a huge η₀), whose ‖W‖² would overflow
        const w = tf.div(weights, tf.maximum(tf.max(tf.abs(weights)), 1e-30)) as tf.Tensor2D;
        return [
          tf.sum(tf.square(tf.matMul(w, u, false, true))),
          tf.sum(tf.square(w)),
          tf.matMul(w, w, true, false),
        ];
      });
      let p: number, t: number, g: Float64Array;
      try {
        [p] = (await projected!.data()) as unknown as [number];
        [t] = (await total!.data()) as unknown as [number];
        g = Float64Array.from(await gram!.data());
      } finally {
        tf.dispose([projected!, total!, gram!]);
      }
      const k = Math.min(r, weights.shape[0], d);
      const top = topEigenvectors(g, d, k);
      const cosines = principalCosines(subspace, r, top, k, d);
      return {
        alignment: p! / t!,
        // fewer than r cosines (N < r or d < r): U's uncovered directions have cosine 0
        'alignment.cos-min': k < r ? 0 : cosines[cosines.length - 1]!,
        'alignment.cos2-mean': cosines.reduce((s, c) => s + c * c, 0) / r,
      };
    },
  }),
});

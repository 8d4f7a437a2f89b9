/**
 * `hermite-spectrum`: the predictor's energy per Hermite degree, ‖P_k f‖², estimated on fresh
 * samples x ~ N(0, I_d), beside the target's exact ‖P_k f*‖² — what the kernel staircase speaks
 * about. With a target subspace U (r ≤ 4) the basis is h_α(Ux), |α| ≤ maxDegree (the energy of f
 * along span U); without one, degrees 0, 1 and (d ≤ 128) 2 over all of x. Each energy Σ_α c_α² is
 * estimated without bias as Σ_α ĉ_α^A ĉ_α^B from two independent halves of the samples, so a
 * predictor with no energy in a degree scores 0 up to Monte-Carlo noise (it can be slightly
 * negative). `hermite.total` is E[f²].
 */
import { defineMetricKind, options, randomNormal, z } from '@regimes/core';
import { hermiteValues, multiIndices } from '@regimes/numerics';
import tf from '@regimes/numerics/tfjs';

const subspaceDegrees = (alphas: number[][], c1: Float64Array, c2: Float64Array, top: number) => {
  const energy = new Array(top + 1).fill(0);
  alphas.forEach((a, j) => {
    energy[a.reduce((s, v) => s + v, 0)] += c1[j]! * c2[j]!;
  });
  return energy;
};

export const hermiteSpectrum = defineMetricKind({
  kind: 'hermite-spectrum',
  description:
    "the predictor's energy per Hermite degree (unbiased split-sample Monte Carlo) beside the target's exact energies",
  options: options({
    samples: z.number().int().min(100).default(20000).describe('fresh Gaussian samples for the estimate'),
    maxDegree: z
      .number()
      .int()
      .min(0)
      .max(8)
      .optional()
      .describe('highest degree along U (default: the target’s, at most 6)'),
  }),
  create: ({ samples, maxDegree }) => ({
    async compute(predictor, _test, target, { rng }): Promise<Record<string, number>> {
      const d = target.dim;
      const m = samples - (samples % 2);
      const x = randomNormal(rng.child('x'), m, d);
      let out: tf.Tensor | undefined;
      let f: Awaited<ReturnType<tf.Tensor['data']>>;
      let xs: Awaited<ReturnType<tf.Tensor['data']>>;
      try {
        out = tf.tidy(() => tf.slice(predictor.predict(x), [0, 0], [m, 1]));
        f = await out.data();
        xs = await x.data();
      } finally {
        // also when the predictor fails on the fresh samples
        tf.dispose(out ? [x, out] : [x]);
      }
      const { subspace, subspaceRank, hermiteEnergy } = target.structure;
      const result: Record<string, number> = {};
      let energy: number[];
      const halves = [new Float64Array(0), new Float64Array(0)];
      if (subspace && (subspaceRank ?? subspace.length / d) <= 4) {
        const r = subspaceRank ?? subspace.length / d;
        const top = maxDegree ?? Math.min(6, Math.max(2, (hermiteEnergy?.length ?? 3) - 1));
        const alphas = multiIndices(r, top);
        const zi = new Float64Array(r);
        for (let half = 0; half < 2; half++) {
          const c = new Float64Array(alphas.length);
          for (let s = half * (m / 2); s < (half + 1) * (m / 2); s++) {
            for (let a = 0; a < r; a++) {
              let dot = 0;
              for (let j = 0; j < d; j++) dot += subspace[a * d + j]! * xs[s * d + j]!;
              zi[a] = dot;
            }
            const h = Array.from(zi, (v) => hermiteValues(v, top));
            alphas.forEach((alpha, j) => {
              let basis = f[s]!;
              for (let a = 0; a < r; a++) basis *= h[a]![alpha[a]!]!;
              c[j]! += basis / (m / 2);
            });
          }
          halves[half] = c;
        }
        energy = subspaceDegrees(alphas, halves[0]!, halves[1]!, top);
      } else {
        // degrees 0, 1 and (d ≤ 128) 2 over all coordinates: h_0, h_1(x_i), h_2(x_i), h_1(x_i)h_1(x_j)
        const withTwo = d <= 128;
        const size = 1 + d + (withTwo ? (d * (d + 1)) / 2 : 0);
        for (let half = 0; half < 2; half++) {
          const c = new Float64Array(size);
          for (let s = half * (m / 2); s < (half + 1) * (m / 2); s++) {
            const fs = f[s]! / (m / 2);
            c[0]! += fs;
            let idx = 1 + d;
            for (let i = 0; i < d; i++) {
              const xi = xs[s * d + i]!;
              c[1 + i]! += fs * xi;
              if (!withTwo) continue;
              c[idx++]! += (fs * (xi * xi - 1)) / Math.SQRT2;
              for (let j = i + 1; j < d; j++) c[idx++]! += fs * xi * xs[s * d + j]!;
            }
          }
          halves[half] = c;
        }
        const [a, b] = halves as [Float64Array, Float64Array];
        energy = [a[0]! * b[0]!, 0];
        for (let i = 1; i <= d; i++) energy[1]! += a[i]! * b[i]!;
        if (withTwo) {
          energy.push(0);
          for (let i = 1 + d; i < size; i++) energy[2]! += a[i]! * b[i]!;
        }
      }
      energy.forEach((e, k) => {
        result[`hermite.${k}`] = e;
      });
      let total = 0;
      for (let s = 0; s < m; s++) total += f[s]! ** 2;
      result['hermite.total'] = total / m;
      hermiteEnergy?.forEach((e, k) => {
        result[`target-hermite.${k}`] = e;
      });
      return result;
    },
  }),
});

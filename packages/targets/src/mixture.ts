/**
 * `mixture`: two centred Gaussian classes that differ in covariance (the classification task of
 * Ghorbani et al. 2019). y = ±1 with probability 1/2; x | y ~ N(0, I + yΔ·P_S), P_S the projection
 * on a seeded s-dimensional subspace S (s = d: the classes are N(0, (1 ± Δ) I)). This
 * parametrization is ours; the paper's abstract confirms only "two centred Gaussians".
 *
 * With q = ‖P_S x‖², the log-likelihood ratio is LLR = qΔ/(1−Δ²) − (s/2)·log((1+Δ)/(1−Δ)); the
 * regression function f*(x) = E[y|x] = tanh(LLR/2); the Bayes rule is sign(LLR), and since
 * q | y ~ (1 + yΔ)·χ²_s its error is ½F_s(t/(1+Δ)) + ½(1 − F_s(t/(1−Δ))), t the root of LLR in q.
 */
import {
  type Dataset,
  defineTargetKind,
  normalsAt,
  options,
  randomOrthonormalRows,
  type Rng,
  type Target,
  z,
} from '@regimes/core';
import { chiSquareCdf, chiSquareSf, logGamma, mapRowChunks } from '@regimes/numerics';
import tf from '@regimes/numerics/tfjs';

export const mixtureOptions = options({
  d: z.number().int().min(1).describe('input dimension'),
  s: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe('dimension of the subspace where the covariances differ (default d)'),
  delta: z.number().gt(0).lt(1).default(0.5).describe('Δ: class variances along S are 1 + Δ and 1 − Δ'),
}).superRefine((o, ctx) => {
  if (o.s !== undefined && o.s > o.d)
    ctx.addIssue({ code: 'custom', path: ['s'], message: `s (${o.s}) must be at most d (${o.d})` });
});

/** The Bayes threshold q* on ‖P_S x‖² and the Bayes error, in closed form (chi-square CDF). */
export function mixtureBayes(s: number, delta: number): { threshold: number; error: number } {
  const threshold = ((s / 2) * Math.log((1 + delta) / (1 - delta)) * (1 - delta * delta)) / delta;
  const error =
    0.5 * chiSquareCdf(threshold / (1 + delta), s) + 0.5 * chiSquareSf(threshold / (1 - delta), s);
  return { threshold, error };
}

/**
 * E[f*²] = E[tanh²(LLR/2)] by composite Simpson integration over q | y ~ (1 ± Δ)χ²_s, in u = √q
 * so that the integrand (∝ u^{s−1} near 0) has no singularity for any s ≥ 1.
 */
function meanSquaredRegression(s: number, delta: number): number {
  const slope = delta / (1 - delta * delta);
  const offset = (s / 2) * Math.log((1 + delta) / (1 - delta));
  const logNorm = (s / 2) * Math.LN2 + logGamma(s / 2);
  let total = 0;
  for (const scale of [1 + delta, 1 - delta]) {
    const top = Math.sqrt(scale * (s + 40 * Math.sqrt(2 * s) + 40));
    const steps = 20000;
    const h = top / steps;
    let acc = 0;
    for (let i = 1; i <= steps; i++) {
      const u = i * h;
      const t = (u * u) / scale; // t ~ χ²_s
      // density of q = u² at q, times dq/du = 2u
      const density = (Math.exp((s / 2 - 1) * Math.log(t) - t / 2 - logNorm) / scale) * 2 * u;
      const w = i === steps ? 1 : i % 2 ? 4 : 2;
      acc += w * density * Math.tanh((slope * u * u - offset) / 2) ** 2;
    }
    // the u = 0 end: density × 2u vanishes for s > 1; for s = 1 it is 2/√(2π·scale)
    const atZero = s === 1 ? (2 / Math.sqrt(2 * Math.PI * scale)) * Math.tanh(-offset / 2) ** 2 : 0;
    total += (0.5 * (acc + atZero) * h) / 3;
  }
  return total;
}

export const mixture = defineTargetKind({
  kind: 'mixture',
  tasks: [], // no related tasks (structure.tasks)
  description: 'two-class Gaussian mixture, classes differing in covariance along a subspace; labels ±1',
  options: mixtureOptions,
  dims: (o) => ({ d: o.d, k: 1 }),
  /**
   * The Bayes error under the `error` metric, over any x: flat (it depends on s and Δ only),
   * or per x when x is d (with s = d by default), s or Δ.
   */
  theory(o, context) {
    if (context.metric !== 'error' || context.xs.length === 0) return [];
    const last = context.xKey.split('.').pop();
    const at = (x: number) => {
      if (last === 's' || (last === 'd' && o.s === undefined)) return mixtureBayes(x, o.delta).error;
      if (last === 'delta') return mixtureBayes(o.s ?? o.d, x).error;
      return mixtureBayes(o.s ?? o.d, o.delta).error;
    };
    const valid = (x: number) =>
      last === 'delta' ? x > 0 && x < 1 : last === 's' || last === 'd' ? Number.isInteger(x) && x >= 1 : true;
    const points = context.xs.filter(valid).map((x) => ({ x, y: at(x) }));
    return points.length ? [{ label: 'Bayes error', metric: 'error', points }] : [];
  },
  create(o, { rng }): Target {
    const { d, delta } = o;
    const s = o.s ?? d;
    const full = s === d;
    const v = full ? undefined : randomOrthonormalRows(rng.child('S'), s, d);
    const v32 = v ? Float32Array.from(v) : undefined;
    const slope = delta / (1 - delta * delta);
    const offset = (s / 2) * Math.log((1 + delta) / (1 - delta));
    const projectedSquares = (x: tf.Tensor2D) =>
      full
        ? tf.sum(tf.square(x), 1, true)
        : tf.sum(tf.square(tf.matMul(x, tf.tensor2d(v32!, [s, d]), false, true)), 1, true);
    const evaluate = (x: tf.Tensor2D) =>
      tf.tidy(() => tf.tanh(tf.div(tf.sub(tf.mul(projectedSquares(x), slope), offset), 2)) as tf.Tensor2D);
    const bayes = mixtureBayes(s, delta);
    const meanSquare = meanSquaredRegression(s, delta);
    return {
      dim: d,
      outputDim: 1,
      structure: {
        ...(v ? { subspace: v, subspaceRank: s } : {}),
        bayesError: bayes.error,
        noiseVariance: 1 - meanSquare, // E[Var(y|x)] = E[y²] − E[f*²]
        details: { threshold: bayes.threshold, meanSquaredRegression: meanSquare },
      },
      evaluate: (x) => mapRowChunks(x, evaluate),
      sample(n, sampleRng): Dataset {
        return sampleRows(0, n, sampleRng);
      },
      sampleRows,
    };
    /** Rows [start, start + n) of one draw: labels and normals sit at fixed stream positions. */
    function sampleRows(start: number, n: number, sampleRng: Rng): Dataset {
      const labels = Float32Array.from(sampleRng.child('y').seek(start).uniform(n), (u) =>
        u < 0.5 ? 1 : -1,
      );
      const g = normalsAt(sampleRng.child('x'), start * d, n * d);
      // x = g + (√(1 + yΔ) − 1)·P_S g
      if (full) {
        for (let i = 0; i < n; i++) {
          const c = Math.sqrt(1 + labels[i]! * delta);
          for (let j = 0; j < d; j++) g[i * d + j]! *= c;
        }
      } else {
        const coords = new Float64Array(s);
        for (let i = 0; i < n; i++) {
          const c = Math.sqrt(1 + labels[i]! * delta) - 1;
          for (let a = 0; a < s; a++) {
            let dot = 0;
            for (let j = 0; j < d; j++) dot += v![a * d + j]! * g[i * d + j]!;
            coords[a] = dot;
          }
          for (let a = 0; a < s; a++)
            for (let j = 0; j < d; j++) g[i * d + j]! += c * coords[a]! * v![a * d + j]!;
        }
      }
      return { x: tf.tensor2d(g, [n, d]), y: tf.tensor2d(labels, [n, 1]) };
    }
  },
});

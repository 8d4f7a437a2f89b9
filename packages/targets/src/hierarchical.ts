/**
 * `hierarchical`: compositions of quadratics over L levels, after Allen-Zhu & Li's backward
 * feature correction targets. With z = Ux (U k×d, orthonormal rows) and G_0 = z:
 *   G_ℓ = normalize(σ(W_ℓ G_{ℓ−1}) [+ σ(W'_ℓ G_{ℓ−2}) with skip]),  σ(t) = t²,
 * each W a seeded k×k rotation, each feature of G_ℓ centred and scaled to variance 1 exactly;
 *   f*(x) = Σ_ℓ α_ℓ · Σ_j G_{ℓ,j}(x)/√k,
 * a polynomial of degree 2^L in z. α_ℓ (weights, or decay^{ℓ−1}) sets how much of the variance each
 * level explains, so "the lower levels explain most of the variance" is decay < 1. The exact
 * expansion gives the Hermite energies. The paper's precise parametrization (widths, which lower
 * levels feed each level) was not available to check; this is our reading of it.
 */
import {
  defineTargetKind,
  options,
  randomOrthonormalRows,
  type Rng,
  SpecError,
  type Target,
  z,
} from '@regimes/core';
import tf from '@regimes/numerics/tfjs';
import { hermiteEnergies } from './hermite-basis.js';
import { multiIndexTarget } from './hermite.js';
import { degreeOf, hermiteExpansion, Polynomial } from './polynomial.js';

const MAX_COEFFICIENTS = 5000;
const binomial = (n: number, k: number): number => (k === 0 ? 1 : (binomial(n - 1, k - 1) * n) / k);

export const hierarchicalOptions = options({
  d: z.number().int().min(1).describe('input dimension'),
  k: z.number().int().min(1).default(4).describe('width of every level (and rank of U)'),
  levels: z
    .number()
    .int()
    .min(1)
    .max(5)
    .default(3)
    .describe('L, the number of quadratic levels (degree 2^L)'),
  weights: z.array(z.number()).min(1).optional().describe('α_1..α_L (default decay^{ℓ−1})'),
  decay: z.number().min(0).default(0.5).describe('α_ℓ = decay^{ℓ−1} when weights are not given'),
  skip: z.boolean().default(false).describe('level ℓ also takes σ(W′ G_{ℓ−2}) (DenseNet-like)'),
  normalize: z.boolean().default(true).describe('rescale f* to mean 0 and variance 1'),
  noise: z.number().min(0).default(0).describe('standard deviation of Gaussian label noise'),
}).superRefine((o, ctx) => {
  if (o.k > o.d)
    ctx.addIssue({ code: 'custom', path: ['k'], message: `k (${o.k}) must be at most d (${o.d})` });
  if (o.weights && o.weights.length !== o.levels)
    ctx.addIssue({
      code: 'custom',
      path: ['weights'],
      message: `has ${o.weights.length} entries; levels is ${o.levels}`,
    });
  if (o.weights?.every((w) => w === 0))
    ctx.addIssue({
      code: 'custom',
      path: ['weights'],
      message: 'every level weight is 0, so f* would be constant',
    });
  const coefficients = binomial(2 ** o.levels + o.k, o.k);
  if (coefficients > MAX_COEFFICIENTS)
    ctx.addIssue({
      code: 'custom',
      path: ['levels'],
      message: `levels ${o.levels} with k ${o.k} gives polynomials of degree ${2 ** o.levels} in ${o.k} variables (${Math.round(coefficients)} coefficients, at most ${MAX_COEFFICIENTS}): lower levels or k`,
    });
});

type HierarchicalOptions = z.output<typeof hierarchicalOptions>;

const rotation = (rng: Rng, k: number) => randomOrthonormalRows(rng, k, k);

/** Mean and variance of a polynomial in z ~ N(0, I), exactly, from its Hermite expansion. */
function moments(p: Polynomial): { mean: number; variance: number } {
  const terms = hermiteExpansion(p);
  const mean = terms.find((t) => degreeOf(t.alpha) === 0)?.coef ?? 0;
  return { mean, variance: terms.reduce((s, t) => s + t.coef ** 2, 0) - mean * mean };
}

type Constants = { mean: number; sd: number }[][];

/**
 * The symbolic pass: each level's features G_ℓ as exact polynomials in z = Ux (centred and scaled
 * by their exact mean and standard deviation), f* = Σ_ℓ α_ℓ Σ_j G_ℓj/√k, and each level's variance.
 */
function symbolicLevels(
  o: HierarchicalOptions,
  mix: Float64Array[],
  skipMix: Float64Array[],
  alpha: number[],
) {
  const { k, levels } = o;
  const linear = (w: Float64Array, inputs: Polynomial[], j: number) =>
    inputs.reduce((acc, p, i) => acc.add(p, w[j * k + i]!), Polynomial.constant(k, 0));
  const levelsPoly: Polynomial[][] = [Array.from({ length: k }, (_, i) => Polynomial.variable(k, i))];
  const constants: Constants = [];
  let f = Polynomial.constant(k, 0);
  const levelVariance: number[] = [];
  for (let l = 1; l <= levels; l++) {
    const features: Polynomial[] = [];
    const consts: { mean: number; sd: number }[] = [];
    for (let j = 0; j < k; j++) {
      let raw = linear(mix[l - 1]!, levelsPoly[l - 1]!, j).pow(2);
      if (o.skip && l >= 2) raw = raw.add(linear(skipMix[l - 1]!, levelsPoly[l - 2]!, j).pow(2));
      const { mean, variance } = moments(raw);
      const sd = Math.sqrt(variance);
      consts.push({ mean, sd });
      features.push(raw.add(Polynomial.constant(k, mean), -1).scale(1 / sd));
    }
    levelsPoly.push(features);
    constants.push(consts);
    const levelSum = features
      .reduce((acc, p) => acc.add(p), Polynomial.constant(k, 0))
      .scale(alpha[l - 1]! / Math.sqrt(k));
    levelVariance.push(moments(levelSum).variance);
    f = f.add(levelSum);
  }
  return { f, constants, levelVariance };
}

/** The numeric pass: G_1..G_L at z (each n×k) on tensors, with the symbolic pass's constants. Inside tidy. */
function levelsOnTensors(
  o: HierarchicalOptions,
  mix: Float64Array[],
  skipMix: Float64Array[],
  constants: Constants,
) {
  const { k, levels } = o;
  const mix32 = mix.map((w) => Float32Array.from(w));
  const skip32 = skipMix.map((w) => Float32Array.from(w));
  const mixed = (g: tf.Tensor2D, w: Float32Array) =>
    tf.square(tf.matMul(g, tf.tensor2d(w, [k, k]), false, true));
  return (zz: tf.Tensor2D) => {
    const history: tf.Tensor2D[] = [zz];
    for (let l = 1; l <= levels; l++) {
      let raw: tf.Tensor = mixed(history[l - 1]!, mix32[l - 1]!);
      if (o.skip && l >= 2) raw = tf.add(raw, mixed(history[l - 2]!, skip32[l - 1]!));
      const c = constants[l - 1]!;
      const mean = tf.tensor2d(
        c.map((x) => x.mean),
        [1, k],
      );
      const sd = tf.tensor2d(
        c.map((x) => x.sd),
        [1, k],
      );
      history.push(tf.div(tf.sub(raw, mean), sd) as tf.Tensor2D);
    }
    return history.slice(1);
  };
}

export const hierarchical = defineTargetKind({
  kind: 'hierarchical',
  tasks: [], // no related tasks (structure.tasks)
  description:
    'compositions of quadratics over L levels (Allen-Zhu & Li), weights α_ℓ per level; exact Hermite energies',
  options: hierarchicalOptions,
  dims: (o) => ({ d: o.d, k: 1 }),
  create(o, { rng }): Target {
    const { d, k, levels } = o;
    const alpha = o.weights ?? Array.from({ length: levels }, (_, l) => o.decay ** l);
    const u = randomOrthonormalRows(rng.child('U'), k, d);
    const mix = Array.from({ length: levels }, (_, l) => rotation(rng.child('W', l + 1), k));
    const skipMix = Array.from({ length: levels }, (_, l) => rotation(rng.child('W-skip', l + 1), k));
    const { f, constants, levelVariance } = symbolicLevels(o, mix, skipMix, alpha);
    const terms = hermiteExpansion(f);
    const energy = hermiteEnergies(terms);
    const mean = terms.find((t) => degreeOf(t.alpha) === 0)?.coef ?? 0;
    const variance = energy.reduce((a, b) => a + b, 0) - mean * mean;
    if (!(variance > 0)) throw new SpecError(['target.weights: every level weight is 0, so f* is constant']);
    const levelsAt = levelsOnTensors(o, mix, skipMix, constants);
    const link = {
      evaluate: (zz: tf.Tensor2D) =>
        tf.tidy(() => {
          let out: tf.Tensor = tf.zeros([zz.shape[0], 1]);
          levelsAt(zz).forEach((g, l) => {
            out = tf.add(out, tf.mul(tf.sum(g, 1, true), alpha[l]! / Math.sqrt(k)));
          });
          return out as tf.Tensor2D;
        }),
      terms,
      energy,
      tail: 0,
      method: 'exact' as const,
      mean,
      variance,
    };
    const u32 = Float32Array.from(u);
    return multiIndexTarget(d, u, k, link, o.normalize, o.noise, {
      levelFeatures: (x) =>
        tf.tidy(() => levelsAt(tf.matMul(x, tf.tensor2d(u32, [k, d]), false, true) as tf.Tensor2D)),
      details: {
        weights: alpha,
        degree: 2 ** levels,
        // Var(α_ℓ Σ_j G_ℓj/√k) / Var f*: how much each level alone explains (levels may correlate)
        levelVarianceFraction: levelVariance.map((v) => v / variance),
      },
    });
  },
});

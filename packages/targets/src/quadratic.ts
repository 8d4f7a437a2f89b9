/**
 * `quadratic`: f*(x) = xᵀBx − tr B (+ ⟨β, x⟩), x ~ N(0, I_d) — the target of Ghorbani, Mei,
 * Misiakiewicz & Montanari 2019. With B = Vᵀ diag(λ) V (V with orthonormal rows) and z = Vx,
 * xᵀBx − tr B = Σ_j λ_j (z_j² − 1) = Σ_j √2 λ_j h_2(z_j), so ‖P_2 f*‖² = 2‖B‖²_F and
 * ‖P_1 f*‖² = ‖β‖²; E[(xᵀAx − tr A)(xᵀBx − tr B)] = 2 tr(AB).
 */
import {
  defineTargetKind,
  options,
  randomOrthonormalRows,
  type Rng,
  SpecError,
  type Target,
  z,
  noisySample,
  noisySampleRows,
} from '@regimes/core';
import { orthonormalizeRows } from '@regimes/numerics';
import tf from '@regimes/numerics/tfjs';

export const quadraticSpectra = ['ghorbani', 'identity', 'rank', 'decay'] as const;

export const quadraticOptions = options({
  d: z.number().int().min(1).describe('input dimension'),
  spectrum: z
    .enum(quadraticSpectra)
    .default('ghorbani')
    .describe(
      'B: ghorbani = diag(γ)/√d with γ_i ~ Exp(1) (the authors’ experiments); identity; rank = rank-k; decay = eigenvalues j^-power',
    ),
  rank: z.number().int().min(1).default(1).describe('k for spectrum rank'),
  eigenvalues: z
    .array(z.number())
    .min(1)
    .optional()
    .describe('eigenvalues for spectrum rank (default all 1)'),
  power: z.number().min(0).default(1).describe('decay exponent for spectrum decay'),
  linear: z.number().min(0).default(0).describe('‖β‖ of an added linear part along a seeded direction'),
  normalize: z.boolean().default(false).describe('rescale to variance 1'),
  noise: z.number().min(0).default(0).describe('standard deviation of Gaussian label noise'),
}).superRefine((o, ctx) => {
  if (o.spectrum === 'rank' && o.rank > o.d)
    ctx.addIssue({ code: 'custom', path: ['rank'], message: `rank (${o.rank}) must be at most d (${o.d})` });
  if (o.eigenvalues && o.spectrum !== 'rank')
    ctx.addIssue({ code: 'custom', path: ['eigenvalues'], message: 'eigenvalues go with spectrum: rank' });
  if (o.eigenvalues && o.eigenvalues.length !== o.rank)
    ctx.addIssue({
      code: 'custom',
      path: ['eigenvalues'],
      message: `has ${o.eigenvalues.length} entries; rank is ${o.rank}`,
    });
});

type QuadraticOptions = z.output<typeof quadraticOptions>;

/** B = Vᵀ diag(λ) V: the eigen-directions V (m×d, orthonormal rows) and eigenvalues λ (nonzero). */
export function quadraticForm(
  o: QuadraticOptions,
  rng: Rng,
): { v: Float64Array; lambda: Float64Array; m: number; diagonal: boolean } {
  const { d } = o;
  const identityRows = () => {
    const v = new Float64Array(d * d);
    for (let i = 0; i < d; i++) v[i * d + i] = 1;
    return v;
  };
  switch (o.spectrum) {
    case 'ghorbani': {
      const u = rng.child('gamma').uniform(d);
      return {
        v: identityRows(),
        lambda: Float64Array.from(u, (x) => -Math.log(x) / Math.sqrt(d)),
        m: d,
        diagonal: true,
      };
    }
    case 'identity':
      return { v: identityRows(), lambda: new Float64Array(d).fill(1), m: d, diagonal: true };
    case 'rank': {
      const v = randomOrthonormalRows(rng.child('V'), o.rank, d);
      return {
        v,
        lambda: Float64Array.from(o.eigenvalues ?? new Array(o.rank).fill(1)),
        m: o.rank,
        diagonal: false,
      };
    }
    case 'decay': {
      const v = randomOrthonormalRows(rng.child('V'), d, d);
      return {
        v,
        lambda: Float64Array.from({ length: d }, (_, j) => (j + 1) ** -o.power),
        m: d,
        diagonal: false,
      };
    }
  }
}

export const quadratic = defineTargetKind({
  kind: 'quadratic',
  tasks: [], // no related tasks (structure.tasks)
  description: 'f*(x) = xᵀBx − tr B (+ ⟨β,x⟩) with B from a spectrum preset (Ghorbani et al. 2019)',
  options: quadraticOptions,
  dims: (o) => ({ d: o.d, k: 1 }),
  create(o, { rng }): Target {
    const { d } = o;
    const { v, lambda, m, diagonal } = quadraticForm(o, rng);
    const beta = new Float64Array(d);
    if (o.linear > 0) {
      const dir = rng.child('beta').normal(d, new Float64Array(d));
      const norm = Math.hypot(...dir);
      for (let i = 0; i < d; i++) beta[i] = (o.linear * dir[i]!) / norm;
    }
    const squares = 2 * lambda.reduce((s, l) => s + l * l, 0);
    const variance = squares + o.linear ** 2;
    if (o.normalize && !(variance > 0))
      throw new SpecError([
        'target.normalize: f* is 0 (every eigenvalue 0 and no linear part) and cannot be normalized: give a nonzero eigenvalue or linear > 0',
      ]);
    const scale = o.normalize ? 1 / Math.sqrt(variance) : 1;
    const lambda32 = Float32Array.from(lambda, (l) => l * scale);
    const v32 = Float32Array.from(v);
    const beta32 = Float32Array.from(beta, (b) => b * scale);
    const evaluate = (x: tf.Tensor2D) =>
      tf.tidy(() => {
        const n = x.shape[0];
        // Σ_j λ_j (z_j² − 1) with z = Vx (V = I for diagonal B: no product needed)
        const zz = diagonal ? x : tf.matMul(x, tf.tensor2d(v32, [m, d]), false, true);
        let f = tf.sum(tf.mul(tf.sub(tf.square(zz), 1), tf.tensor2d(lambda32, [1, m])), 1, true);
        if (o.linear > 0) f = tf.add(f, tf.matMul(x, tf.tensor2d(beta32, [d, 1])));
        return tf.reshape(f, [n, 1]) as tf.Tensor2D;
      });
    // A relevant subspace exists when B has rank below d: the rows of V with a nonzero eigenvalue,
    // and β if any (f* depends on x through these directions only).
    const kept = Array.from(lambda.keys()).filter((j) => lambda[j] !== 0);
    const rank = kept.length + (o.linear > 0 ? 1 : 0);
    let subspace: Float64Array | undefined;
    if (kept.length < d && rank > 0) {
      const rows = new Float64Array(rank * d);
      kept.forEach((j, i) => rows.set(v.subarray(j * d, (j + 1) * d), i * d));
      if (o.linear > 0) rows.set(beta, kept.length * d);
      subspace = orthonormalizeRows(rows, rank, d);
    }
    return {
      dim: d,
      outputDim: 1,
      structure: {
        ...(subspace ? { subspace, subspaceRank: rank } : {}),
        hermiteEnergy: [0, o.linear ** 2 * scale * scale, squares * scale * scale],
        hermiteTail: 0,
        hermiteMethod: 'exact',
        noiseVariance: o.noise ** 2,
        details: {
          eigenvalues: Array.from(lambda, (l) => l * scale),
          frobeniusSquared: (squares / 2) * scale * scale,
        },
      },
      evaluate,
      sample: (n, sampleRng) => noisySample(n, d, evaluate, o.noise, sampleRng),
      sampleRows: (start, count, sampleRng) => noisySampleRows(start, count, d, evaluate, o.noise, sampleRng),
    };
  },
});

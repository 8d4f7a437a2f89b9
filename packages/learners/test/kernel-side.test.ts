import { disposeDataset, Rng } from '@regimes/core';
import {
  createTarget,
  describeLearnerConformance,
  expectNoLeak,
  makeFitContext,
} from '@regimes/core/testing';
import { hermite } from '@regimes/targets';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { kernelRidge, neuralTangent, neuralTangentKernel, ntkKernel, randomFeatures } from '../src/index.js';
import { rbfKernel } from '../src/kernels.js';

const target = { factory: hermite, options: { d: 5, degree: 2, noise: 0.1 } };
describeLearnerConformance('nt (primal, N·d ≤ n)', {
  factory: neuralTangent,
  options: { width: 8 },
  target,
  n: 128,
});
describeLearnerConformance('nt (dual, both layers)', {
  factory: neuralTangent,
  options: { width: 64, train: 'both', activation: 'tanh' },
  target,
  n: 96,
});
describeLearnerConformance('ntk (relu)', { factory: neuralTangentKernel, target, n: 96 });
describeLearnerConformance('ntk (erf, first layer, gcv)', {
  factory: neuralTangentKernel,
  options: { activation: 'erf', train: 'first', ridge: 'gcv' },
  target,
  n: 64,
});
describeLearnerConformance('kernel (Hermite coefficients, loo)', {
  factory: kernelRidge,
  options: { hermite: [0.4, 0.5, 0.28], ridge: 'loo', ridgeGrid: [1e-3, 1e-1] },
  target,
  n: 64,
});
describeLearnerConformance('kernel (rbf)', {
  factory: kernelRidge,
  options: { type: 'rbf', bandwidth: 2 },
  target,
  n: 64,
});
describeLearnerConformance('rf (He_3 with biases, list of ridges)', {
  factory: randomFeatures,
  options: { width: 48, activation: { he: 3 }, bias: 1, ridge: [1e-3, 1e-1] },
  target,
  n: 64,
});

const d = 5;
const points = Rng.fromSeed(3).normal(4 * d, new Float64Array(4 * d));
const row = (i: number) => points.subarray(i * d, (i + 1) * d);

/**
 * Monte-Carlo average of the finite-width empirical NTK in float64: with w ~ N(0, I_d),
 * a ~ N(0, 1), f(x) = Σ_j a_j σ(⟨w_j,x⟩/√d)/√N has ∂f/∂a_j = σ(u_j)/√N, ∂f/∂w_j = a_j σ'(u_j) x/√(Nd).
 */
function empiricalNtk(
  sigma: (u: number) => number,
  slope: (u: number) => number,
  x: Float64Array,
  y: Float64Array,
  width: number,
) {
  const rng = Rng.fromSeed(11);
  const w = rng.child('w').normal(width * d, new Float64Array(width * d));
  const a = rng.child('a').normal(width, new Float64Array(width));
  const dot = x.reduce((s, v, i) => s + v * y[i]!, 0) / d;
  const readout: number[] = [];
  const first: number[] = [];
  for (let j = 0; j < width; j++) {
    let u = 0;
    let v = 0;
    for (let i = 0; i < d; i++) {
      u += (w[j * d + i]! * x[i]!) / Math.sqrt(d);
      v += (w[j * d + i]! * y[i]!) / Math.sqrt(d);
    }
    readout.push(sigma(u) * sigma(v));
    first.push(a[j]! ** 2 * slope(u) * slope(v) * dot);
  }
  const stats = (t: number[]) => {
    const mean = t.reduce((s, v) => s + v, 0) / width;
    const sd = Math.sqrt(t.reduce((s, v) => s + (v - mean) ** 2, 0) / width);
    return { mean, se: sd / Math.sqrt(width) };
  };
  return { readout: stats(readout), first: stats(first) };
}

describe('analytic NTK', () => {
  const cases = {
    relu: [(u: number) => Math.max(u, 0), (u: number) => (u > 0 ? 1 : 0)],
    erf: [(u: number) => erf64(u), (u: number) => (2 / Math.sqrt(Math.PI)) * Math.exp(-u * u)],
    quadratic: [(u: number) => u * u, (u: number) => 2 * u],
  } as const;

  it.each(Object.keys(cases) as (keyof typeof cases)[])(
    'matches the Monte-Carlo average of 200 000 finite-width empirical NTKs for %s (5 s.e.)',
    (name) => {
      const [sigma, slope] = cases[name];
      const x = tf.tensor2d(Float32Array.from(points), [4, d]);
      const readout = tf.tidy(() => ntkKernel(name, 'readout')(x, x).arraySync());
      const first = tf.tidy(() => ntkKernel(name, 'first')(x, x).arraySync());
      const both = tf.tidy(() => ntkKernel(name, 'both')(x, x).arraySync());
      x.dispose();
      for (const [i, j] of [
        [0, 0],
        [0, 1],
        [2, 3],
      ] as const) {
        const mc = empiricalNtk(sigma, slope, row(i), row(j), 200_000);
        expect(Math.abs(readout[i]![j]! - mc.readout.mean)).toBeLessThan(5 * mc.readout.se + 1e-5);
        expect(Math.abs(first[i]![j]! - mc.first.mean)).toBeLessThan(5 * mc.first.se + 1e-5);
        expect(both[i]![j]!).toBeCloseTo(readout[i]![j]! + first[i]![j]!, 5);
      }
    },
  );
});

function erf64(x: number): number {
  // Abramowitz–Stegun 7.1.26 is too coarse for a 5 s.e. test; integrate exp(−t²) by Simpson instead.
  const steps = 2000;
  const h = x / steps;
  let s = 0;
  for (let i = 0; i <= steps; i++)
    s += (i === 0 || i === steps ? 1 : i % 2 ? 4 : 2) * Math.exp(-((i * h) ** 2));
  return ((2 / Math.sqrt(Math.PI)) * s * h) / 3;
}

describe('kernel-side learners against independent references', () => {
  it('rf with a huge width approaches kernel ridge with its limit kernel (ntk, readout only): within 3%', async () => {
    const t = createTarget(target);
    const train = t.sample(150, Rng.fromSeed(1));
    const test = t.sample(50, Rng.fromSeed(2));
    const fit = async (factory: typeof randomFeatures, o: Record<string, unknown>) => {
      const p = await factory.create(factory.options.parse(o)).fit(train, makeFitContext(Rng.fromSeed(4)));
      const out = p.predict(test.x);
      const values = Array.from(await out.data());
      tf.dispose(out);
      p.dispose();
      return values;
    };
    const rf = await fit(randomFeatures, { width: 40000, weights: 'gaussian', ridge: 1e-2 });
    const limit = await fit(neuralTangentKernel, { train: 'readout', ridge: 1e-2 });
    const scale = Math.sqrt(limit.reduce((s, v) => s + v * v, 0) / limit.length);
    const gap = Math.sqrt(rf.reduce((s, v, i) => s + (v - limit[i]!) ** 2, 0) / rf.length);
    expect(gap / scale).toBeLessThan(0.03);
    disposeDataset(train);
    disposeDataset(test);
  });

  it('learns exactly the degree-≤2 part with a degree-2 dot-product kernel: risk = ‖P_3 f*‖² + ‖f − P_≤2 f*‖², the last → 0', async () => {
    // f*(x) = h_1(z) + h_2(z) + h_3(z), z = ⟨u, x⟩; kernel 1 + ρ + ρ², ρ = ⟨x,x'⟩/d spans polynomials of degree ≤ 2
    const staircase = createTarget({
      factory: hermite,
      options: {
        d: 6,
        terms: [
          { coef: 1, alpha: [1] },
          { coef: 1, alpha: [2] },
          { coef: 1, alpha: [3] },
        ],
      },
    });
    const train = staircase.sample(2000, Rng.fromSeed(5));
    const test = staircase.sample(4000, Rng.fromSeed(6));
    await expectNoLeak(async () => {
      const p = await kernelRidge
        .create(kernelRidge.options.parse({ taylor: [1, 1, 1], sphere: false, ridge: 1e-5 }))
        .fit(train, makeFitContext(Rng.fromSeed(7)));
      // P_≤2 f* = h_1(z) + h_2(z): the predictor converges to it (28 degree-≤2 features, n = 2000: error ≈ 28/2000).
      const u = tf.tensor2d(Float32Array.from(staircase.structure.subspace!), [6, 1]);
      const gap = tf.tidy(() => {
        const z = tf.matMul(test.x, u);
        const projection = tf.add(z, tf.div(tf.sub(tf.square(z), 1), Math.SQRT2));
        return tf.mean(tf.squaredDifference(p.predict(test.x), projection));
      });
      expect((await gap.data())[0]!).toBeLessThan(0.05);
      tf.dispose([gap, u]);
      p.dispose();
    });
    disposeDataset(train);
    disposeDataset(test);
  });

  it.each(['cholesky', 'eigen'] as const)(
    'computes the LOO score in closed form like brute-force leave-one-out refits in float64 (%s)',
    async (ridgeSolver) => {
      const n = 30;
      const t = createTarget(target);
      const train = t.sample(n, Rng.fromSeed(8));
      const bandwidth = 1.5;
      const grid = [1e-3, 1e-1];
      const p = await kernelRidge
        .create(
          kernelRidge.options.parse({
            type: 'rbf',
            bandwidth,
            ridge: 'loo',
            ridgeGrid: grid,
            ridgeSolver,
            intercept: false, // the reference below refits without intercept (intercept.test.ts: with)
          }),
        )
        .fit(train, makeFitContext(Rng.fromSeed(9)));
      const x = Float64Array.from(await train.x.data());
      const y = Float64Array.from(await train.y.data());
      const k = (i: number, j: number) => {
        let s = 0;
        for (let c = 0; c < d; c++) s += (x[i * d + c]! - x[j * d + c]!) ** 2;
        return Math.exp(-s / d / (2 * bandwidth * bandwidth));
      };
      const bruteForce = (lambda: number) => {
        let sum = 0;
        for (let out = 0; out < n; out++) {
          const idx = Array.from({ length: n }, (_, i) => i).filter((i) => i !== out);
          const m = idx.length;
          const a = idx.map((i, r) => idx.map((j, c) => k(i, j) + (r === c ? n * lambda : 0)));
          const b = idx.map((i) => y[i]!);
          // Gaussian elimination
          for (let c = 0; c < m; c++)
            for (let r = c + 1; r < m; r++) {
              const f = a[r]![c]! / a[c]![c]!;
              for (let q = c; q < m; q++) a[r]![q]! -= f * a[c]![q]!;
              b[r]! -= f * b[c]!;
            }
          for (let r = m - 1; r >= 0; r--) {
            for (let q = r + 1; q < m; q++) b[r]! -= a[r]![q]! * b[q]!;
            b[r]! /= a[r]![r]!;
          }
          const prediction = idx.reduce((s, i, r) => s + k(out, i) * b[r]!, 0);
          sum += (y[out]! - prediction) ** 2;
        }
        return sum / n;
      };
      const scores = grid.map(bruteForce);
      const best = Math.min(...scores);
      // closed form uses the full-data solve: H_ii = 1 − nλ(A⁻¹)_ii (the LOO shift nλ keeps n, as here)
      expect(p.diagnostics!.lambda).toBe(grid[scores.indexOf(best)]);
      expect(p.diagnostics!.loo).toBeCloseTo(best, 3);
      expect(p.diagnostics!.eigen).toBe(ridgeSolver === 'eigen' ? 1 : 0);
      p.dispose();
      disposeDataset(train);
    },
  );
});

describe('the rbf kernel at a small bandwidth', () => {
  it('keeps K(x, x) = 1 through the cancellation of q + q − 2ρ, and K(x, y) = 0 apart', async () => {
    const x = tf.randomNormal([64, 3], 0, 1, 'float32', 7) as tf.Tensor2D;
    const k = rbfKernel(1e-6)(x, x);
    const values = await k.array();
    tf.dispose([x, k]);
    values.forEach((row, i) => row.forEach((v, j) => expect(v).toBe(i === j ? 1 : 0)));
  });
});

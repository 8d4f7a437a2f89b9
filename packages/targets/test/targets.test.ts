import { defineTarget, disposeDataset, parseOptions, randomNormal, Rng, type Target } from '@regimes/core';
import { createTarget, describeTargetConformance } from '@regimes/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { hermiteValues } from '@regimes/numerics';
import { describe, expect, it } from 'vitest';
import { transfer } from '../src/hermite.js';
import { evaluateHermiteTerms } from '../src/hermite-basis.js';
import { hierarchical } from '../src/hierarchical.js';
import { mixture, mixtureBayes } from '../src/mixture.js';
import { quadratic } from '../src/quadratic.js';

describeTargetConformance('quadratic (ghorbani)', { factory: quadratic, options: { d: 20 } });
describeTargetConformance('quadratic (rank 3 + linear, normalized)', {
  factory: quadratic,
  options: { d: 12, spectrum: 'rank', rank: 3, eigenvalues: [2, -1, 0.5], linear: 0.7, normalize: true },
});
describeTargetConformance('quadratic (decay, noisy)', {
  factory: quadratic,
  options: { d: 10, spectrum: 'decay', power: 1.5, noise: 0.2 },
});
describeTargetConformance('mixture (s = d)', { factory: mixture, options: { d: 8, delta: 0.4 } });
describeTargetConformance('mixture (s = 3 < d)', { factory: mixture, options: { d: 10, s: 3, delta: 0.8 } });
describeTargetConformance('hierarchical (L = 3)', {
  factory: hierarchical,
  options: { d: 16, k: 3, levels: 3 },
});
describeTargetConformance('hierarchical (L = 3, skip, weights)', {
  factory: hierarchical,
  options: { d: 10, k: 2, levels: 3, skip: true, weights: [1, 0.5, 0.25], normalize: false },
});
describeTargetConformance('transfer', {
  factory: transfer,
  options: { d: 10, r: 2, source: { preset: 'sum', degree: 2 }, destination: { expression: 'z1*z2 + z1^3' } },
});

const moments = (v: Float32Array) => {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length;
  return { mean, variance };
};

function valuesOf(t: Target, m: number, seed = 5) {
  const data = t.sample(m, Rng.fromSeed(seed));
  const f = t.evaluate(data.x);
  const out = {
    x: data.x.dataSync() as Float32Array,
    y: data.y.dataSync() as Float32Array,
    f: f.dataSync() as Float32Array,
  };
  f.dispose();
  disposeDataset(data);
  return out;
}

describe('quadratic', () => {
  it('has Var f* = 2‖B‖²_F + ‖β‖² (Monte Carlo, 5 s.e. of a variance estimate)', () => {
    const t = createTarget({
      factory: quadratic,
      options: { d: 15, spectrum: 'rank', rank: 2, eigenvalues: [1, -2], linear: 1 },
    });
    expect(t.structure.hermiteEnergy).toEqual([0, expect.closeTo(1, 12), 2 * (1 + 4)]);
    const { f } = valuesOf(t, 100000);
    const { mean, variance } = moments(f);
    expect(Math.abs(mean)).toBeLessThan(5 * Math.sqrt(11 / 100000));
    // Var of the sample variance ≈ (E f⁴ − σ⁴)/m; bound it with the empirical fourth moment.
    const fourth = f.reduce((a, b) => a + (b - mean) ** 4, 0) / f.length;
    expect(Math.abs(variance - 11)).toBeLessThan(5 * Math.sqrt((fourth - variance ** 2) / f.length));
    expect(t.structure.subspaceRank).toBe(3); // span V and β
  });

  it('exposes the directions of the nonzero eigenvalues only, and refuses to normalize f* = 0', () => {
    const options = { d: 3, spectrum: 'rank', rank: 2, eigenvalues: [1, 0] };
    const t = createTarget({ factory: quadratic, options });
    expect(t.structure.subspaceRank).toBe(1); // B has rank 1 (was 2: the zero eigenvalue's row)
    // f* depends on x through that direction alone: x + w with w ⟂ u has the same value
    const u = Array.from(t.structure.subspace!);
    const x = [0.3, -1.2, 0.8];
    const w = [1, 2, -1].map((v, i, all) => v - all.reduce((a, b, j) => a + b * u[j]!, 0) * u[i]!);
    expect(Math.hypot(...w)).toBeGreaterThan(0.5);
    const f = tf.tidy(() => t.evaluate(tf.tensor2d([x, x.map((v, i) => v + w[i]!)])).dataSync());
    expect(Math.abs(f[0]!)).toBeGreaterThan(1e-3);
    expect(f[1]).toBeCloseTo(f[0]!, 5);
    // eigenvalues [1, −1, 0] in d = 3: rank 2 < d, so a subspace of rank 2 is exposed (was none)
    const two = createTarget({
      factory: quadratic,
      options: { ...options, rank: 3, eigenvalues: [1, -1, 0] },
    });
    expect(two.structure.subspaceRank).toBe(2);
    expect(() =>
      createTarget({
        factory: quadratic,
        options: { d: 3, spectrum: 'rank', rank: 1, eigenvalues: [0], normalize: true },
      }),
    ).toThrow(/f\* is 0/);
  });

  it('draws the Ghorbani et al. spectrum γ_i ~ Exp(1) scaled by 1/√d', () => {
    const d = 400;
    const t = createTarget({ factory: quadratic, options: { d } });
    const eig = t.structure.details!.eigenvalues as number[];
    const scaled = eig.map((l) => l * Math.sqrt(d));
    const mean = scaled.reduce((a, b) => a + b, 0) / d;
    expect(Math.abs(mean - 1)).toBeLessThan(5 / Math.sqrt(d)); // Exp(1): mean 1, sd 1
    expect(Math.min(...scaled)).toBeGreaterThan(0);
    expect(t.structure.subspace).toBeUndefined(); // full rank: no relevant subspace
  });
});

describe('mixture', () => {
  it.each([
    [8, 8, 0.4],
    [10, 3, 0.8],
    [6, 1, 0.6],
  ])(
    'has the closed-form Bayes error (d %i, s %i, Δ %d) of its Bayes rule sign f*, within 5 s.e. of Monte Carlo',
    (d, s, delta) => {
      const t = createTarget({ factory: mixture, options: { d, s, delta } });
      const m = 100000;
      const { y, f } = valuesOf(t, m);
      let wrong = 0;
      let residual = 0;
      for (let i = 0; i < m; i++) {
        if (Math.sign(f[i]!) !== y[i]) wrong++;
        residual += (y[i]! - f[i]!) ** 2;
      }
      const p = t.structure.bayesError!;
      expect(p).toBeCloseTo(mixtureBayes(s, delta).error, 12);
      expect(Math.abs(wrong / m - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / m));
      // E[(y − f*)²] = 1 − E[f*²], computed by quadrature; (y − f*)² ≤ 4 bounds its sd by 2.
      expect(Math.abs(residual / m - t.structure.noiseVariance!)).toBeLessThan(5 * (2 / Math.sqrt(m)));
      const balance = y.reduce((a, b) => a + b, 0) / m;
      expect(Math.abs(balance)).toBeLessThan(5 / Math.sqrt(m));
    },
  );

  it('gives each class its covariance along S: Var⟨v, x⟩ = 1 ± Δ', () => {
    const t = createTarget({ factory: mixture, options: { d: 6, s: 2, delta: 0.5 } });
    const { x, y } = valuesOf(t, 40000);
    const v = t.structure.subspace!;
    for (const label of [1, -1]) {
      const proj: number[] = [];
      for (let i = 0; i < y.length; i++)
        if (y[i] === label) proj.push(v.slice(0, 6).reduce((s, vj, j) => s + vj * x[i * 6 + j]!, 0));
      const variance = proj.reduce((a, b) => a + b * b, 0) / proj.length;
      const expected = 1 + label * 0.5;
      expect(Math.abs(variance - expected)).toBeLessThan(5 * expected * Math.sqrt(2 / proj.length));
    }
  });
});

describe('evaluateHermiteTerms', () => {
  it('sums c_α h_α(z) as a float64 reference does: a constant first, products, a repeated α, no terms', () => {
    const n = 40;
    const z = Float32Array.from({ length: n * 2 }, (_, i) => 2 * Math.sin(1.3 * i + 0.2));
    const cases = [
      [
        { coef: 0.5, alpha: [0, 0] },
        { coef: -1.25, alpha: [2, 1] },
        { coef: 0.75, alpha: [0, 3] },
        { coef: 0.25, alpha: [2, 1] },
      ],
      [{ coef: 2, alpha: [1, 0] }],
      [],
    ];
    for (const terms of cases) {
      const got = tf.tidy(() => evaluateHermiteTerms(terms, tf.tensor2d(z, [n, 2])).dataSync());
      expect(got.length).toBe(n);
      for (let p = 0; p < n; p++) {
        const h = [0, 1].map((i) => hermiteValues(z[2 * p + i]!, 3));
        const want = terms.reduce((acc, t) => acc + t.coef * h[0]![t.alpha[0]!]! * h[1]![t.alpha[1]!]!, 0);
        expect(got[p]).toBeCloseTo(want, 4);
      }
    }
  });
});

describe('hierarchical', () => {
  it('evaluates the composition exactly as its symbolic Hermite expansion', () => {
    for (const options of [
      { d: 12, k: 3, levels: 3 },
      { d: 8, k: 2, levels: 3, skip: true, normalize: false },
    ]) {
      const t = createTarget({ factory: hierarchical, options });
      const x = randomNormal(Rng.fromSeed(3), 300, options.d);
      const k = options.k;
      const numeric = t.evaluate(x).dataSync();
      const symbolic = tf.tidy(() => {
        const zz = tf.matMul(
          x,
          tf.tensor2d(Float32Array.from(t.structure.subspace!), [k, options.d]),
          false,
          true,
        );
        return evaluateHermiteTerms(t.structure.hermiteTerms!, zz as tf.Tensor2D).dataSync();
      });
      x.dispose();
      numeric.forEach((v, i) => {
        expect(v).toBeCloseTo(symbolic[i]!, 2);
      });
      expect(t.structure.hermiteEnergy!.length - 1).toBe(8);
    }
  });

  it('lets the lower levels explain most of the variance when decay < 1', () => {
    const t = createTarget({ factory: hierarchical, options: { d: 10, k: 3, levels: 3, decay: 0.3 } });
    const fractions = t.structure.details!.levelVarianceFraction as number[];
    expect(fractions[0]).toBeGreaterThan(fractions[1]!);
    expect(fractions[1]).toBeGreaterThan(fractions[2]!);
    const { f } = valuesOf(t, 50000);
    const { mean, variance } = moments(f);
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(50000));
    expect(Math.abs(variance - 1)).toBeLessThan(0.1); // heavy-tailed degree-8 polynomial: loose but fixed-seed
  });

  it('refuses sizes whose exact expansion would be too large, saying what to lower', () => {
    const parsed = parseOptions(hierarchical.options, { d: 20, k: 8, levels: 4 }, 'target');
    expect(parsed.ok).toBe(false);
    if (!parsed.ok)
      expect(parsed.problems[0]).toMatch(
        /target\.levels: levels 4 with k 8 gives polynomials of degree 16 .*lower levels or k/,
      );
  });
});

describe('transfer', () => {
  it('shares U between its source and destination tasks, with different g', () => {
    const t = createTarget({
      factory: transfer,
      options: {
        d: 9,
        r: 2,
        source: { preset: 'sum', degree: 2 },
        destination: { preset: 'product', degree: 1 },
      },
    });
    const { source, destination } = t.structure.tasks!;
    expect(source!.structure.subspace).toEqual(destination!.structure.subspace);
    expect(t.structure.subspace).toEqual(source!.structure.subspace);
    expect(source!.structure.hermiteEnergy).toEqual([0, 0, 2]);
    expect(destination!.structure.hermiteEnergy).toEqual([0, 0, 1]);
  });
});

describe('defineTarget (a target from a TypeScript function)', () => {
  const cubic = defineTarget({
    name: 'cubic-first-coordinate',
    d: 4,
    f: (x) => tf.tidy(() => tf.pow(tf.slice(x, [0, 0], [-1, 1]), 3) as tf.Tensor2D),
    structure: { hermiteEnergy: [0, 9, 0, 6] }, // x³ = 3h_1 + √6 h_3
  });
  describeTargetConformance('defineTarget', { factory: cubic, options: { noise: 0 } });
});

describe('sampling at scale', () => {
  it('draws 10⁶ samples in d = 100 and evaluates f* in row chunks, freeing everything', () => {
    const before = tf.memory().numTensors;
    const t = createTarget({ factory: quadratic, options: { d: 100, spectrum: 'rank', rank: 4 } });
    const data = t.sample(1_000_000, Rng.fromSeed(1));
    expect(data.x.shape).toEqual([1_000_000, 100]);
    expect(data.y.shape).toEqual([1_000_000, 1]);
    disposeDataset(data);
    expect(tf.memory().numTensors).toBe(before);
  });
});

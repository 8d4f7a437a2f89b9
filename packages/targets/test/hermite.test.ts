import { parseOptions, Rng, randomNormal } from '@regimes/core';
import { createTarget, describeTargetConformance } from '@regimes/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { hermite, normalizedHermite } from '../src/hermite.js';

describeTargetConformance('hermite (degree 2)', { factory: hermite, options: { d: 8, degree: 2 } });
describeTargetConformance('hermite (degree 3, noisy)', {
  factory: hermite,
  options: { d: 5, degree: 3, noise: 0.3 },
});

// Explicit probabilists' Hermite polynomials, in float64.
const explicit: ((z: number) => number)[] = [
  () => 1,
  (z) => z,
  (z) => z * z - 1,
  (z) => z ** 3 - 3 * z,
  (z) => z ** 4 - 6 * z * z + 3,
  (z) => z ** 5 - 10 * z ** 3 + 15 * z,
];
const factorial = (k: number): number => (k <= 1 ? 1 : k * factorial(k - 1));

describe('hermite target', () => {
  it.each([0, 1, 2, 3, 4, 5])('evaluates He_%i/√k! like the explicit polynomial', (k) => {
    const z = [-2.5, -1, -0.3, 0, 0.7, 1.9, 3];
    const got = tf.tidy(() => normalizedHermite(tf.tensor1d(z), k).dataSync());
    z.forEach((v, i) => {
      expect(got[i]).toBeCloseTo(explicit[k]!(v) / Math.sqrt(factorial(k)), 4);
    });
  });

  it('puts all its energy in degree k: Monte-Carlo projections on h_j(⟨u,x⟩) (fixed seed, 5 s.e.)', () => {
    const target = createTarget({ factory: hermite, options: { d: 10, degree: 3 } });
    const u = target.structure.subspace!;
    const m = 40000;
    const x = randomNormal(Rng.fromSeed(11), m, 10);
    const f = target.evaluate(x).dataSync();
    const xs = x.dataSync();
    x.dispose();
    for (let j = 0; j <= 5; j++) {
      // ĝ_j = E[f(x) h_j(⟨u,x⟩)]; its MC standard error is at most sd(f·h_j)/√m.
      const terms = Array.from({ length: m }, (_, i) => {
        let z = 0;
        for (let c = 0; c < 10; c++) z += u[c]! * xs[i * 10 + c]!;
        return f[i]! * (explicit[j]!(z) / Math.sqrt(factorial(j)));
      });
      const mean = terms.reduce((a, b) => a + b, 0) / m;
      const sd = Math.sqrt(terms.reduce((a, b) => a + (b - mean) ** 2, 0) / m);
      expect(Math.abs(mean - (j === 3 ? 1 : 0))).toBeLessThan((5 * sd) / Math.sqrt(m));
    }
    expect(target.structure.hermiteEnergy).toEqual([0, 0, 0, 1]);
  });

  it('adds label noise of the stated variance', () => {
    const target = createTarget({ factory: hermite, options: { d: 4, degree: 2, noise: 0.5 } });
    const data = target.sample(20000, Rng.fromSeed(3));
    const residual = tf.tidy(() => tf.sub(data.y, target.evaluate(data.x)).dataSync());
    tf.dispose([data.x, data.y]);
    const variance = residual.reduce((a, b) => a + b * b, 0) / residual.length;
    // Var of a sample variance of N(0, σ²): 2σ⁴/m; σ² = 0.25.
    expect(Math.abs(variance - 0.25)).toBeLessThan(5 * Math.sqrt((2 * 0.25 ** 2) / 20000));
    expect(target.structure.noiseVariance).toBe(0.25);
  });

  it('draws u from the seed: the same direction for the same seed, another for another', () => {
    const a = createTarget({ factory: hermite, options: { d: 6 } }, 1).structure.subspace;
    expect(createTarget({ factory: hermite, options: { d: 6 } }, 1).structure.subspace).toEqual(a);
    expect(createTarget({ factory: hermite, options: { d: 6 } }, 2).structure.subspace).not.toEqual(a);
  });

  it('rejects bad options with the allowed values', () => {
    const result = parseOptions(hermite.options, { d: 0, degree: 20, dim: 3 }, 'target');
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.problems).toEqual([
        'target.d: Too small: expected number to be >=1, got 0',
        'target.degree: Too big: expected number to be <=12, got 20',
        "target: unknown field 'dim' (did you mean 'd'?); allowed: d, degree, noise",
      ]);
  });
});

import { execFile, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Rng, type TheoryContext } from '@regimes/core';
import { hermite } from '@regimes/targets';
import { describe, expect, it } from 'vitest';
import { kernelRiskAt, onsetExponents } from '../src/kernel-staircase.js';
import {
  eigenlearningRisk,
  harmonicMultiplicity,
  kernelRidge,
  kernelTaylor,
  sphereDegrees,
  sphereEigenvalues,
  sphereTargetEnergies,
} from '../src/index.js';

const reference = fileURLToPath(new URL('./reference/eigenlearning.py', import.meta.url));
const noNumpy = (() => {
  try {
    execFileSync('python3', ['-c', 'import numpy, scipy'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'python3 with numpy and scipy is not available';
  }
})();

interface Case {
  d: number;
  taylor: number[];
  terms: [number, number][];
  noise: number;
  intercept: boolean;
  n: number;
  ridge: number;
  top: number;
}
interface Answer {
  eigenvalues: number[];
  energy: number[];
  unlearnable: number;
  kappa: number;
  risk: number;
}

const third = 1 / Math.sqrt(3);
/** (h₁ + h₂ + h₃)(⟨u, x⟩)/√3 as [coef, degree] terms, and as the hermite target's options. */
const staircaseTerms: [number, number][] = [
  [third, 1],
  [third, 2],
  [third, 3],
];
const targetOf = (d: number, terms: [number, number][], noise = 0) => {
  const options = hermite.options.parse({
    d,
    r: 1,
    noise,
    terms: terms.map(([coef, k]) => ({ coef, alpha: [k] })),
  });
  return hermite.create(options, { rng: Rng.fromSeed(0).child('target') });
};

/** Our prediction for a case, through the same functions `kernel`'s theory calls. */
function ours(c: Case) {
  const structure = targetOf(c.d, c.terms, Math.sqrt(c.noise)).structure;
  const energies = sphereTargetEnergies(structure, c.d)!;
  const degrees = sphereDegrees(c.taylor, c.d, energies, c.intercept);
  return {
    eigenvalues: sphereEigenvalues(c.taylor, c.d, c.top),
    energies,
    ...eigenlearningRisk(degrees, c.n, c.ridge, structure.noiseVariance ?? 0, energies.unlearnable),
  };
}

const relu = kernelTaylor.hermite([0.3989422804014327, 0.5, 0.28209479177387814, 0, -0.08143375196677227], 0);
const cases: Case[] = [
  {
    d: 8,
    taylor: [1, 1, 1, 1],
    terms: staircaseTerms,
    noise: 0,
    intercept: true,
    n: 512,
    ridge: 1e-3,
    top: 3,
  },
  {
    d: 8,
    taylor: [1, 1, 1, 1],
    terms: staircaseTerms,
    noise: 0.25,
    intercept: true,
    n: 100,
    ridge: 0.1,
    top: 3,
  },
  { d: 12, taylor: relu, terms: [[1, 2]], noise: 0, intercept: false, n: 300, ridge: 1e-4, top: 4 },
  {
    d: 5,
    taylor: [0.3, 0.5, 0, 0.2, 0.1, 0.05],
    terms: [
      [0.8, 1],
      [0.6, 4],
    ],
    noise: 0.1,
    intercept: true,
    n: 2000,
    ridge: 0,
    top: 5,
  },
  {
    d: 16,
    taylor: [0.2, 1, 0.5, 0.25],
    terms: staircaseTerms,
    noise: 0,
    intercept: true,
    n: 64,
    ridge: 0,
    top: 3,
  },
];

describe('eigenlearning against an independent float64 numpy reference', () => {
  it.skipIf(noNumpy)(
    'eigenvalues, spherical energies, κ and the predicted risk agree',
    async () => {
      const { stdout } = await promisify(execFile)('python3', [reference, JSON.stringify({ cases })]);
      const answers = JSON.parse(stdout) as Answer[];
      cases.forEach((c, i) => {
        const a = answers[i]!;
        const o = ours(c);
        a.eigenvalues.forEach((mu, l) => expect(o.eigenvalues[l]!).toBeCloseTo(mu, 12));
        a.energy.forEach((e, l) => expect(o.energies.energy[l] ?? 0).toBeCloseTo(e, 9));
        expect(o.energies.unlearnable).toBeCloseTo(a.unlearnable, 9);
        expect(o.kappa / a.kappa - 1 || o.kappa - a.kappa).toBeCloseTo(0, 8);
        expect(o.risk).toBeCloseTo(a.risk, 9);
      });
    },
    120_000,
  );
});

describe('sphere eigenvalues and target energies in closed form', () => {
  it('multiplicities and Funk–Hecke eigenvalues of the monomials', () => {
    [0, 1, 2, 5].forEach((l) => expect(harmonicMultiplicity(3, l)).toBe(2 * l + 1));
    [4, 8, 100].forEach((d) => {
      expect(harmonicMultiplicity(d, 1)).toBe(d);
      expect(harmonicMultiplicity(d, 2)).toBe(((d + 2) * (d - 1)) / 2);
      // h(t) = t²: E[t²] = 1/d on degree 0, and (1 − 1/d)/N(d, 2) on degree 2
      const [m0, m1, m2] = sphereEigenvalues([0, 0, 1], d);
      expect(m0).toBeCloseTo(1 / d, 14);
      expect(m1).toBe(0);
      expect(m2! * harmonicMultiplicity(d, 2)).toBeCloseTo(1 - 1 / d, 14);
      // trace: Σ_l N(d, l) μ_l = h(1)
      const mu = sphereEigenvalues([0.2, 0.5, 0.1, 0.7, 0.3], d);
      expect(mu.reduce((s, m, l) => s + harmonicMultiplicity(d, l) * m, 0)).toBeCloseTo(1.8, 12);
    });
  });

  it('n no more than the unpenalised directions: E₀ is infinite, and the solve ends', () => {
    const degrees = [
      { eigenvalue: Number.POSITIVE_INFINITY, multiplicity: 1, energy: 0 },
      { eigenvalue: 0.1, multiplicity: 4, energy: 1 },
    ];
    expect(eigenlearningRisk(degrees, 1, 1e-3).e0).toBe(Number.POSITIVE_INFINITY);
    // λ = 0 above the rank: κ = 0, every mode learned, E₀ = n/(n − rank)
    const interpolating = eigenlearningRisk(degrees, 10, 0, 0.5);
    expect(interpolating.kappa).toBe(0);
    expect(interpolating.e0).toBeCloseTo(2, 14);
    expect(interpolating.risk).toBeCloseTo(2 * 0.5 - 0.5, 14);
    // λ = 0 at n = rank: E₀ infinite; a noiseless target in the span gives the limit λ → 0⁺, 0 (not
    // ∞·0 = NaN), which small ridges approach; with noise, ∞
    const inSpan = [{ eigenvalue: 0.1, multiplicity: 4, energy: 1 }];
    expect(eigenlearningRisk(inSpan, 4, 0).e0).toBe(Number.POSITIVE_INFINITY);
    expect(eigenlearningRisk(inSpan, 4, 0).risk).toBe(0);
    const near = [1e-6, 1e-8, 1e-10].map((ridge) => eigenlearningRisk(inSpan, 4, ridge).risk);
    // κ ∝ √λ here, and the risk with it: 1.6e-3, 1.6e-4, 1.6e-5
    expect(near[2]).toBeGreaterThan(0);
    expect(near[2]).toBeLessThan(2e-5);
    expect(near[0]! / near[1]!).toBeCloseTo(10, 0);
    expect(eigenlearningRisk(inSpan, 4, 0, 0.1).risk).toBe(Number.POSITIVE_INFINITY);
  });

  it('a multi-index target falls back on its Hermite energies (exact as d → ∞)', () => {
    const t = hermite.create(hermite.options.parse({ d: 8, r: 2, preset: 'sum', degree: 2 }), {
      rng: Rng.fromSeed(0).child('target'),
    });
    const e = sphereTargetEnergies(t.structure, 8)!;
    expect(e.method).toBe('hermite');
    expect(e.energy).toEqual([...t.structure.hermiteEnergy!]);
    expect(e.unlearnable).toBe(0);
  });

  it('h₂(⟨u, x⟩) keeps (d − 1)/(d + 2) on degree 2; the rest is radial', () => {
    [4, 8, 32].forEach((d) => {
      const e = sphereTargetEnergies(targetOf(d, [[1, 2]]).structure, d)!;
      expect(e.method).toBe('exact');
      expect(e.energy[2]!).toBeCloseTo((d - 1) / (d + 2), 12);
      expect(e.unlearnable).toBeCloseTo(3 / (d + 2), 12);
    });
  });
});

describe('the staircase is the limit', () => {
  /** |eigenlearning − staircase| at n = d^level with λ → 0, for (h₁ + h₂ + h₃)/√3 and taylor [1, 1, 1, 1]. */
  const gap = (d: number, level: number) => {
    const structure = targetOf(d, staircaseTerms).structure;
    const energies = sphereTargetEnergies(structure, d)!;
    const n = Math.round(d ** level);
    const predicted = eigenlearningRisk(
      sphereDegrees([1, 1, 1, 1], d, energies, true),
      n,
      1e-12,
      0,
      energies.unlearnable,
    ).risk;
    const staircase = kernelRiskAt(structure, onsetExponents([1, 1, 1, 1], 3), Math.floor(level));
    return Math.abs(predicted - staircase);
  };

  it('λ → 0, n = d^{1/2} and d^{3/2}: the gap shrinks as d grows, below 0.02 at d = 10⁵', () => {
    for (const level of [0.5, 1.5]) {
      const gaps = [100, 1000, 100_000].map((d) => gap(d, level));
      expect(gaps[1]!).toBeLessThan(gaps[0]!);
      expect(gaps[2]!).toBeLessThan(gaps[1]!);
      expect(gaps[2]!).toBeLessThan(0.02);
    }
    // between the steps the prediction sits on the plateau the staircase draws: at d = 10⁵, n = d^{1.5}
    // degree 1 is learned (L₁ > 0.99) and degree 2 barely (L₂ < 0.02)
    const d = 100_000;
    const energies = sphereTargetEnergies(targetOf(d, staircaseTerms).structure, d)!;
    const { learnability } = eigenlearningRisk(
      sphereDegrees([1, 1, 1, 1], d, energies, true),
      d ** 1.5,
      1e-12,
      0,
      energies.unlearnable,
    );
    expect(learnability[1]!).toBeGreaterThan(0.99);
    expect(learnability[2]!).toBeLessThan(0.02);
  });
});

describe("the kernel learner's theory", () => {
  const context = (metric = 'risk', noise = 0): TheoryContext => {
    const options = hermite.options.parse({
      d: 8,
      r: 1,
      noise,
      terms: staircaseTerms.map(([coef, k]) => ({ coef, alpha: [k] })),
    });
    const rng = Rng.fromSeed(0).child('target');
    return {
      xKey: 'n',
      xs: [64, 2048],
      metric,
      target: { kind: 'hermite', ...options },
      rng,
      targetStructure: () => {
        const t = hermite.create(options, { rng });
        return { dim: t.dim, structure: t.structure };
      },
    };
  };
  const theory = (o: Record<string, unknown>, c = context()) =>
    kernelRidge.theory!(kernelRidge.options.parse(o), c);

  it('draws the eigenlearning curve beside the staircase, one per λ (the best of the grid for gcv), none off the sphere', () => {
    const curves = theory({ taylor: [1, 1, 1, 1], ridge: 1e-3 });
    expect(curves.map((c) => c.label)).toEqual([
      'its kernel’s staircase, radial part never learned',
      'eigenlearning, λ=0.001',
    ]);
    const curve = curves[1]!;
    const at = (x: number) => curve.points.find((p) => p.x === x)!.y;
    const energies = sphereTargetEnergies(targetOf(8, staircaseTerms).structure, 8)!;
    expect(at(2048)).toBe(
      eigenlearningRisk(sphereDegrees([1, 1, 1, 1], 8, energies, true), 2048, 1e-3, 0, energies.unlearnable)
        .risk,
    );
    expect(curve.points.length).toBeGreaterThan(40);
    expect(curve.points.every((p, i) => i === 0 || p.x > curve.points[i - 1]!.x)).toBe(true);
    expect(
      theory({ taylor: [1, 1], ridge: [1e-3, 1e-1] })
        .filter((c) => c.label.startsWith('eigen'))
        .map((c) => c.label),
    ).toEqual(['eigenlearning, λ=0.001', 'eigenlearning, λ=0.1']);
    expect(theory({ taylor: [1, 1], sphere: false }).length).toBe(1);
    // gcv / loo: the curve at the best λ of the grid, at each n; the grid holds 1e-3, so it is never above λ = 1e-3's
    const tuned = theory({ taylor: [1, 1, 1, 1], ridge: 'gcv' })[1]!;
    expect(tuned.label).toBe('eigenlearning, best λ of the gcv grid');
    tuned.points.forEach((p, i) => expect(p.y).toBeLessThanOrEqual(curve.points[i]!.y + 1e-12));
    expect(tuned.points.some((p, i) => p.y < curve.points[i]!.y - 1e-3)).toBe(true);
    // normalized by Var f* = 1 here; label noise raises the risk of a fit
    expect(theory({ taylor: [1, 1, 1, 1] }, context('normalized-risk'))[1]!.label).toContain('/ Var f*');
    const noisy = theory({ taylor: [1, 1, 1, 1], ridge: 1e-3 }, context('risk', 0.5))[1]!.points.at(-1)!.y;
    expect(noisy).toBeGreaterThan(curve.points.at(-1)!.y + 0.01);
  });
});

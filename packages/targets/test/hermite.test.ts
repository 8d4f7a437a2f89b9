import { parseOptions, randomNormal, Rng } from '@regimes/core';
import { createTarget, describeTargetConformance } from '@regimes/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { hermite, transfer } from '../src/hermite.js';
import { gaussHermite, normalizedHermite } from '../src/hermite-basis.js';

const conformance: [string, Record<string, unknown>][] = [
  ['single He_2', { d: 8, degree: 2 }],
  ['single He_3, noisy', { d: 5, degree: 3, noise: 0.3 }],
  ['sum, r = 3', { d: 10, r: 3, preset: 'sum', degree: 3 }],
  ['staircase, r = 3', { d: 10, r: 3, preset: 'staircase' }],
  ['product, r = 2', { d: 6, r: 2, preset: 'product', degree: 2 }],
  ['damian, r = 2, k = 4', { d: 12, r: 2, preset: 'damian', degree: 4, normalize: true }],
  [
    'terms',
    {
      d: 6,
      r: 2,
      terms: [
        { coef: 0.5, alpha: [0, 0] },
        { coef: 2, alpha: [2, 1] },
      ],
    },
  ],
  ['polynomial expression', { d: 7, r: 2, expression: 'z1^3 - 3*z1 + z1*z2' }],
  ['non-polynomial expression (quadrature)', { d: 7, r: 2, expression: 'tanh(z1 + z2/2)' }],
  ['non-polynomial expression (Monte Carlo)', { d: 9, r: 4, expression: 'sin(z1*z2) + z3*z4', maxDegree: 4 }],
];
for (const [name, options] of conformance)
  describeTargetConformance(`hermite: ${name}`, { factory: hermite, options });

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
const target = (options: Record<string, unknown>, seed = 0) =>
  createTarget({ factory: hermite, options }, seed);

function evaluateOn(t: ReturnType<typeof target>, m: number, seed = 11) {
  const x = randomNormal(Rng.fromSeed(seed), m, t.dim);
  const f = t.evaluate(x);
  const out = { x: x.dataSync() as Float32Array, f: f.dataSync() as Float32Array };
  tf.dispose([x, f]);
  return out;
}

describe('Hermite polynomials', () => {
  it.each([0, 1, 2, 3, 4, 5])('evaluates He_%i/√k! like the explicit polynomial', (k) => {
    const zs = [-2.5, -1, -0.3, 0, 0.7, 1.9, 3];
    const got = tf.tidy(() => normalizedHermite(tf.tensor1d(zs), k).dataSync());
    zs.forEach((v, i) => {
      expect(got[i]).toBeCloseTo(explicit[k]!(v) / Math.sqrt(factorial(k)), 4);
    });
  });

  it('has a Gauss–Hermite rule exact for E[Z^2k] = (2k−1)!! up to degree 2m−1', () => {
    const { nodes, weights } = gaussHermite(10);
    const moment = (p: number) => nodes.reduce((s, x, i) => s + weights[i]! * x ** p, 0);
    expect(moment(0)).toBeCloseTo(1, 12);
    expect(moment(2)).toBeCloseTo(1, 12);
    expect(moment(8)).toBeCloseTo(105, 9);
    expect(moment(18)).toBeCloseTo(34459425, 0);
  });
});

describe('hermite target: structure', () => {
  it('puts all the energy of the single-index preset in degree k (Monte-Carlo projection, 5 s.e.)', () => {
    const t = target({ d: 10, degree: 3 });
    const u = t.structure.subspace!;
    const m = 40000;
    const { x, f } = evaluateOn(t, m);
    for (let j = 0; j <= 5; j++) {
      const terms = Array.from({ length: m }, (_, i) => {
        let zi = 0;
        for (let c = 0; c < 10; c++) zi += u[c]! * x[i * 10 + c]!;
        return f[i]! * (explicit[j]!(zi) / Math.sqrt(factorial(j)));
      });
      const mean = terms.reduce((a, b) => a + b, 0) / m;
      const sd = Math.sqrt(terms.reduce((a, b) => a + (b - mean) ** 2, 0) / m);
      expect(Math.abs(mean - (j === 3 ? 1 : 0))).toBeLessThan((5 * sd) / Math.sqrt(m));
    }
    expect(t.structure.hermiteEnergy).toEqual([0, 0, 0, 1]);
    expect(t.structure.hermiteMethod).toBe('exact');
  });

  it('expands a polynomial expression exactly: the same terms and values as the terms form', () => {
    // z1³ − 3z1 = He_3(z1) = √6·h_3(z1);  z1·z2 = h_1(z1)h_1(z2)
    const fromExpression = target({ d: 6, r: 2, expression: 'z1^3 - 3*z1 + z1*z2' });
    const fromTerms = target({
      d: 6,
      r: 2,
      terms: [
        { coef: Math.sqrt(6), alpha: [3, 0] },
        { coef: 1, alpha: [1, 1] },
      ],
    });
    expect(fromExpression.structure.hermiteEnergy).toEqual([0, 0, 1, expect.closeTo(6, 12)]);
    expect(fromExpression.structure.hermiteTerms).toEqual([
      { coef: 1, alpha: [1, 1] },
      { coef: expect.closeTo(Math.sqrt(6), 12), alpha: [3, 0] },
    ]);
    const a = evaluateOn(fromExpression, 500).f;
    const b = evaluateOn(fromTerms, 500).f;
    a.forEach((v, i) => {
      expect(v).toBeCloseTo(b[i]!, 3);
    });
  });

  it('projects relu(z1) by quadrature onto the known coefficients 1/√(2π), 1/2, 1/(2√π), 0, −0.0814', () => {
    const t = target({ d: 3, expression: 'relu(z1)', maxDegree: 4 });
    const e = t.structure.hermiteEnergy!;
    expect(t.structure.hermiteMethod).toBe('quadrature');
    expect(e[0]).toBeCloseTo(1 / (2 * Math.PI), 3);
    expect(e[1]).toBeCloseTo(0.25, 3);
    expect(e[2]).toBeCloseTo(1 / (4 * Math.PI), 3);
    expect(e[3]).toBeCloseTo(0, 3);
    expect(Math.sqrt(e[4]!)).toBeCloseTo(0.0814, 3);
    // E relu(Z)² = 1/2: the tail is what the first five degrees miss.
    expect(e.reduce((a, b) => a + b, 0) + t.structure.hermiteTail!).toBeCloseTo(0.5, 6);
  });

  it('keeps a target at any scale: 1e-15·z1 by its exact expansion, 1e-13·tanh(z1) by quadrature', () => {
    // the terms' cut-offs were absolute (1e-14, 1e-12): the first came out f* ≡ 0, the second with
    // every term dropped and its energy in the tail
    const small = target({ d: 3, expression: '1e-15*z1' });
    const terms = small.structure.hermiteTerms!;
    expect(terms.map((t) => t.alpha)).toEqual([[1]]);
    expect(terms[0]!.coef / 1e-15).toBeCloseTo(1, 12);
    const f = evaluateOn(small, 200).f;
    const largest = Math.max(...Array.from(f, Math.abs));
    expect(largest).toBeGreaterThan(1e-16);
    expect(largest).toBeLessThan(1e-14);
    const tiny = target({ d: 2, expression: '1e-13*tanh(z1)', maxDegree: 5 });
    expect(Math.sqrt(tiny.structure.hermiteEnergy![1]!) / 1e-13).toBeCloseTo(0.6057, 3);
    const energy = tiny.structure.hermiteEnergy!.reduce((x, y) => x + y, 0);
    // tanh above degree 5 holds 0.3% of its energy (0.0012 of 0.394)
    expect(tiny.structure.hermiteTail!).toBeLessThan(1e-2 * energy);
  });

  it('projects exp(2·z1) to its closed form and refuses a g whose square lives past the quadrature’s ±10', () => {
    // E[e^{4Z}] = e^8 and c_k = e^2·2^k/√k!: the energies and the tail add up to it
    const t = target({ d: 3, expression: 'exp(2*z1)', maxDegree: 5 });
    const e = t.structure.hermiteEnergy!;
    e.forEach((energy, k) => {
      const c = (Math.exp(2) * 2 ** k) / Math.sqrt([1, 1, 2, 6, 24, 120][k]!);
      expect(Math.abs(energy / (c * c) - 1), `degree ${k}`).toBeLessThan(1e-8);
    });
    expect(
      Math.abs((e.reduce((a, b) => a + b, 0) + t.structure.hermiteTail!) / Math.exp(8) - 1),
    ).toBeLessThan(1e-8);
    // exp(4·z1): g²φ peaks at z = 8, and the ±10 rule had given its variance 2.3% low, exp(6·z1)'s 98%
    for (const expression of ['exp(4*z1)', 'exp(6*z1)', 'z1^30'])
      expect(() => target({ d: 3, expression, maxDegree: 5 }), expression).toThrow(/grows too fast/);
  });

  // bad-input: 6
  it('refuses a g whose square is not integrable (a pole), which quadrature gave a grid-dependent E g², and keeps integrable singularities', () => {
    // 1/z1 had reported E g² = 1.157e4 and Var 1 after normalize, where samples give ~1e6
    for (const expression of ['1/z1', 'tan(z1)', '1/abs(z1)^0.6', '1/(z1 + z2 + z3)'])
      expect(() => target({ d: 3, r: expression.includes('z3') ? 3 : 1, expression }), expression).toThrow(
        /has no finite E g² that quadrature can settle: .* \(\d+(\.\d+)?% apart\)/,
      );
    // log|z1| = ½ log χ²₁: E g² = (π²/2 + (ψ(½) + ln 2)²)/4 = 1.63716, which the grid gives within 0.2%
    const log = target({ d: 2, expression: 'log(abs(z1))' }).structure;
    expect(log.hermiteMethod).toBe('quadrature');
    const total = log.hermiteEnergy!.reduce((a, b) => a + b, 0) + log.hermiteTail!;
    expect(Math.abs(total / 1.637156 - 1)).toBeLessThan(2e-3);
    for (const expression of ['1/abs(z1)^0.4', 'sign(z1)*min(abs(1/z1), 10)', 'relu(z1 + z2 + z3)'])
      expect(
        () => target({ d: 3, r: expression.includes('z3') ? 3 : 1, expression }),
        expression,
      ).not.toThrow();
  });

  it('projects tanh onto its odd coefficients 0.6057, −0.1484, 0.0625 (quadrature)', () => {
    const e = target({ d: 2, expression: 'tanh(z1)', maxDegree: 5 }).structure.hermiteEnergy!;
    expect(Math.sqrt(e[1]!)).toBeCloseTo(0.6057, 3);
    expect(Math.sqrt(e[3]!)).toBeCloseTo(0.1484, 3);
    expect(Math.sqrt(e[5]!)).toBeCloseTo(0.0625, 3);
    expect(e[0]! + e[2]! + e[4]!).toBeLessThan(1e-12);
  });

  it('projects by Monte Carlo without the upward bias of c_α² at high degrees (odd energies of an even g)', () => {
    // g = |z1 + z2 + z3 + z4| is even: its odd energies are 0. Each c_α² alone carries Var(g h_α)/m,
    // which over degree 7's 120 α summed to 0.031 (degree 5: 0.010); the split-sample products have
    // sd ≈ √120 · E[g²h²]/(m/2) ≈ 1.7e-3 there (5 s.e. ≈ 0.009)
    const e = target({ d: 5, r: 4, expression: 'abs(z1 + z2 + z3 + z4)' }).structure.hermiteEnergy!;
    for (const k of [1, 3, 5, 7]) expect(e[k]!).toBeLessThan(0.009);
    expect(e[2]!).toBeGreaterThan(1);
  });

  it('normalizes g to mean 0 and variance 1 (Monte Carlo, 5 s.e.)', () => {
    for (const options of [
      { d: 5, r: 2, expression: 'z1^2 + 3*z1*z2 + 2', normalize: true },
      { d: 5, expression: 'exp(z1)', normalize: true },
    ]) {
      const t = target(options);
      expect(t.structure.hermiteEnergy![0]).toBeCloseTo(0, 10);
      const { f } = evaluateOn(t, 100000);
      const mean = f.reduce((a, b) => a + b, 0) / f.length;
      const second = f.reduce((a, b) => a + b * b, 0) / f.length;
      const sd = Math.sqrt(f.reduce((a, b) => a + (b * b - second) ** 2, 0) / f.length);
      expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(f.length));
      expect(Math.abs(second - 1)).toBeLessThan((5 * sd) / Math.sqrt(f.length));
    }
  });

  it('counts a repeated α once: energies, mean and normalize of the summed term (Monte Carlo, 5 s.e.)', () => {
    // two terms on α = (2): g = 2h_2, energy 4 at degree 2 (was 1 + 1)
    const twice = target({
      d: 4,
      terms: [
        { coef: 1, alpha: [2] },
        { coef: 1, alpha: [2] },
      ],
    }).structure;
    expect(twice.hermiteEnergy).toEqual([0, 0, 4]);
    expect(twice.hermiteTerms).toEqual([{ coef: 2, alpha: [2] }]);
    // `sum` at degree 0 is the constant r: energy r² at degree 0, and nothing to normalize
    expect(target({ d: 5, r: 3, preset: 'sum', degree: 0 }).structure.hermiteEnergy).toEqual([9]);
    expect(() => target({ d: 5, r: 3, preset: 'sum', degree: 0, normalize: true })).toThrow(/g is constant/);
    // `damian` at degree 0: Σ_i h_2(z_i)/√3 + √3, normalized to Σ_i h_2(z_i)/√3 (mean 0, variance 1)
    const damian = target({ d: 6, r: 3, preset: 'damian', degree: 0, normalize: true });
    expect(damian.structure.hermiteEnergy).toEqual([0, 0, expect.closeTo(1, 12)]);
    const { f } = evaluateOn(damian, 100000);
    const mean = f.reduce((a, b) => a + b, 0) / f.length;
    const second = f.reduce((a, b) => a + b * b, 0) / f.length;
    const sd = Math.sqrt(f.reduce((a, b) => a + (b * b - second) ** 2, 0) / f.length);
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(f.length)); // was 0.894
    expect(Math.abs(second - 1)).toBeLessThan((5 * sd) / Math.sqrt(f.length)); // was 0.6 + 0.8
  });

  it('uses a given orthonormal U, and draws U from the seed otherwise', () => {
    const s = Math.SQRT1_2;
    const given = target({
      d: 3,
      r: 2,
      subspace: [
        [s, s, 0],
        [0, 0, 1],
      ],
      preset: 'sum',
      degree: 1,
    });
    expect(Array.from(given.structure.subspace!)).toEqual([s, s, 0, 0, 0, 1]);
    const a = target({ d: 6 }, 1).structure.subspace;
    expect(target({ d: 6 }, 1).structure.subspace).toEqual(a);
    expect(target({ d: 6 }, 2).structure.subspace).not.toEqual(a);
  });

  it('sums the staircase and the product presets as written', () => {
    const stair = target({ d: 4, r: 3, preset: 'staircase' }).structure;
    expect(stair.hermiteEnergy).toEqual([0, 1, 1, 1]);
    expect(target({ d: 4, r: 2, preset: 'product', degree: 3 }).structure.hermiteEnergy).toEqual([
      0, 0, 0, 0, 0, 0, 1,
    ]);
    expect(target({ d: 4, r: 2, preset: 'damian', degree: 3 }).structure.hermiteEnergy).toEqual([
      0,
      0,
      expect.closeTo(1, 12),
      expect.closeTo(1, 12),
    ]);
  });
});

describe('hermite target: bad input', () => {
  const problems = (o: Record<string, unknown>) => {
    const parsed = parseOptions(hermite.options, o, 'target');
    return parsed.ok ? [] : parsed.problems;
  };

  it.each([
    ['import', "import('fs')", "the function 'import'"],
    ['evaluate', 'evaluate("1+1")', "the function 'evaluate'"],
    ['createUnit', 'createUnit("foo")', "the function 'createUnit'"],
    ['parse', 'parse("z1")', "the function 'parse'"],
    ['assignment', 'z1 = 3', 'a assignment expression'],
    ['function definition', 'f(x) = x', 'a functionassignment expression'],
    ['property access', 'z1.constructor', 'a accessor expression'],
    ['a matrix', '[z1, z1]', 'a array expression'],
    ['an unknown variable', 'z1 + x3', "the symbol 'x3'"],
    ['a variable beyond r', 'z1 + z2', "the symbol 'z2'"],
    ['a string', '"abc"', 'the constant "abc"'],
    ['a comparison', 'z1 > 0', "the operator '>'"],
  ])('rejects %s in an expression, naming it', (_label, expression, what) => {
    const p = problems({ d: 3, expression });
    expect(p).toEqual([expect.stringContaining(`target.expression: ${what} is not allowed`)]);
    expect(p[0]).toContain('allowed: numbers, z1, pi, e, + - * / ^, and sin, cos');
  });

  it.each([
    ['r > d', { d: 2, r: 3 }, 'target.r: r (3) must be at most d (2)'],
    ['an unknown preset', { d: 3, preset: 'stair' }, "did you mean 'staircase'?"],
    [
      'two forms of g',
      { d: 3, preset: 'sum', expression: 'z1' },
      'give g one way: preset and expression were both given',
    ],
    [
      'a term of the wrong length',
      { d: 3, r: 2, terms: [{ coef: 1, alpha: [1] }] },
      'target.terms[0].alpha: has 1 entries; r is 2',
    ],
    [
      'a non-finite coefficient',
      { d: 3, terms: [{ coef: Infinity, alpha: [1] }] },
      'target.terms[0].coef: Infinity is not a finite number; give a finite value',
    ],
    [
      'a non-orthonormal U',
      {
        d: 2,
        r: 2,
        subspace: [
          [1, 0],
          [1, 1],
        ],
      },
      'target.subspace: rows must be orthonormal',
    ],
    ['a U of the wrong shape', { d: 3, r: 1, subspace: [[1, 0]] }, 'target.subspace: must be r×d = 1×3'],
    ['a misspelt option', { d: 3, degre: 2 }, "unknown field 'degre' (did you mean 'degree'?)"],
    [
      'a staircase of one step (r = 1 is z1)',
      { d: 3, preset: 'staircase' },
      'target.preset: staircase with r = 1 is z1 alone',
    ],
  ])('rejects %s with a message that says what is allowed', (_label, options, message) => {
    expect(problems(options)).toEqual([expect.stringContaining(message)]);
  });

  it('names the options that have no effect for the way g is given (refused by the plan when written)', () => {
    const unused = (o: Record<string, unknown>) => {
      const parsed = parseOptions(hermite.options, o, 'target');
      if (!parsed.ok) throw new Error(parsed.problems.join('; '));
      return Object.keys(hermite.unused!(parsed.value));
    };
    expect(unused({ d: 4, r: 3, preset: 'staircase' })).toEqual(['degree', 'maxDegree']);
    expect(unused({ d: 4, preset: 'single', degree: 3 })).toEqual(['maxDegree']);
    // a polynomial expression is expanded exactly: maxDegree changes nothing (it had been accepted
    // and ignored); one that is not is projected on degrees ≤ maxDegree
    expect(unused({ d: 4, expression: 'z1^2' })).toEqual(['degree', 'maxDegree']);
    expect(unused({ d: 4, expression: 'tanh(z1)' })).toEqual(['degree']);
    expect(unused({ d: 4, terms: [{ coef: 1, alpha: [2] }] })).toEqual(['degree', 'maxDegree']);
  });

  it("names transfer's source and destination options that have no effect by their path", () => {
    const parsed = parseOptions(
      transfer.options,
      { d: 4, r: 2, source: { preset: 'sum', degree: 3 }, destination: { expression: 'z1 * z2' } },
      'target',
    );
    if (!parsed.ok) throw new Error(parsed.problems.join('; '));
    expect(Object.keys(transfer.unused!(parsed.value))).toEqual([
      'source.maxDegree',
      'destination.degree',
      'destination.maxDegree',
    ]);
  });
});

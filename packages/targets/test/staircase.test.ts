import { Rng, type TheoryContext } from '@regimes/core';
import { describe, expect, it } from 'vitest';
import { hermite, staircaseLevel, staircasePoints } from '../src/index.js';

function context(xs: number[], metric = 'risk', xKey = 'n'): TheoryContext {
  return { xKey, xs, metric, target: { kind: 'hermite' }, rng: Rng.fromSeed(0).child('target') };
}

const theory = (options: Record<string, unknown>, ctx: TheoryContext) =>
  hermite.theory!(hermite.options.parse(options), ctx);

describe('kernel staircase', () => {
  it('ℓ(n) is the largest ℓ with d^ℓ ≤ n', () => {
    expect([1, 3, 4, 15, 16, 63, 64].map((n) => staircaseLevel(n, 4))).toEqual([0, 0, 1, 1, 2, 2, 3]);
    expect(staircaseLevel(575, 24)).toBe(1);
    expect(staircaseLevel(576, 24)).toBe(2);
  });

  it('steps down by each degree’s energy at n = d^ℓ (hand-computed terms)', () => {
    // g = 0.5 + 2 h1(z) + h3(z): energies ‖P_k‖² = [0.25, 4, 0, 1], Var f* = 5
    const o = {
      d: 4,
      terms: [
        { coef: 0.5, alpha: [0] },
        { coef: 2, alpha: [1] },
        { coef: 1, alpha: [3] },
      ],
    };
    const [curve, ...rest] = theory(o, context([2, 10, 100]));
    expect(rest).toEqual([]);
    expect(curve!.metric).toBe('risk');
    // n < 4: only the constant is learnt (5); 4 ≤ n < 16: degree 1 too (1); degree 2 is empty; n ≥ 64: 0
    expect(curve!.points).toEqual([
      { x: 2, y: 5 },
      { x: 4, y: 5 },
      { x: 4, y: 1 },
      { x: 16, y: 1 },
      { x: 16, y: 1 },
      { x: 64, y: 1 },
      { x: 64, y: 0 },
      { x: 100, y: 0 },
    ]);
    const [normalized] = theory(o, context([2, 10, 100], 'normalized-risk'));
    expect(normalized!.points.map((p) => p.y)).toEqual([1, 1, 0.2, 0.2, 0.2, 0.2, 0, 0]);
  });

  it('damian preset, d = 24, normalized: 1 below n = 576 = 24², then the degree-3 half', () => {
    // Σ_i h2(z_i)/√2 + Σ_i h3(z_i)/√2 with r = 2: energies 1 and 1, normalized to 1/2 and 1/2
    const o = { d: 24, r: 2, preset: 'damian', degree: 3, normalize: true };
    const [curve] = theory(o, context([512, 1024, 2048, 4096]));
    expect(curve!.points).toHaveLength(4);
    const expected = [
      [512, 1],
      [576, 1],
      [576, 0.5],
      [4096, 0.5],
    ];
    curve!.points.forEach((p, i) => {
      expect(p.x).toBe(expected[i]![0]);
      expect(p.y).toBeCloseTo(expected[i]![1]!, 12);
    });
  });

  it('an expression uses its exact expansion: z1² = h0 + √2 h2', () => {
    const [curve] = theory({ d: 8, expression: 'z1^2' }, context([4, 100]));
    expect(curve!.points.map((p) => p.x)).toEqual([4, 8, 8, 64, 64, 100]);
    [2, 2, 2, 2, 0, 0].forEach((y, i) => expect(curve!.points[i]!.y).toBeCloseTo(y, 12));
  });

  it('gives no curve for an axis or a metric it has no theory for', () => {
    expect(theory({ d: 8 }, context([4, 100], 'risk', 'target.d'))).toEqual([]);
    expect(theory({ d: 8 }, context([4, 100], 'alignment'))).toEqual([]);
  });

  it('a scale multiplies every value; an empty x range gives no points', () => {
    const structure = { hermiteEnergy: [0, 3], hermiteTail: 1 };
    expect(staircasePoints(structure, 2, [1, 3], 0.5)).toEqual([
      { x: 1, y: 2 },
      { x: 2, y: 2 },
      { x: 2, y: 0.5 },
      { x: 3, y: 0.5 },
    ]);
    expect(staircasePoints(structure, 2, [])).toEqual([]);
  });
});

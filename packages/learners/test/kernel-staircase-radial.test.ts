import { execFileSync } from 'node:child_process';
import { Rng, type TheoryContext } from '@regimes/core';
import { numpyMissing } from '@regimes/core/testing';
import { hermite } from '@regimes/targets';
import { describe, expect, it } from 'vitest';
import { kernelStaircaseTheory } from '../src/index.js';

/**
 * The staircase of a direction-only kernel (h of the cosine) on Gaussian x keeps the radial part of
 * f* as a floor (examples/papers/eigenlearning.yaml, docs/papers/eigenlearning.md: u = 0.378 at
 * d = 8, 0.225 at d = 16), checked against an independent float64 numpy computation: F(t) = E_ρ f*(ρt)
 * by a midpoint rule over ρ ~ χ_d, then u = 1 − E_t F² and the degree energies N(d, l)·E_t[F P_l]²
 * (Gegenbauer P_l by their recurrence) by a midpoint rule over t ~ (1 − t²)^((d−3)/2) — no monomial
 * moments, no Gegenbauer expansion of powers as the code uses — and a Monte Carlo of E(f* − F)² over
 * 200 000 Gaussian x (seed 0).
 */
const reference = String.raw`
import json, sys, math
import numpy as np
# f*(x) = (h1 + h2 + h3)(<u,x>)/sqrt(3) on x ~ N(0, I_d); a direction-only kernel sees F(xhat) = E_rho f*(rho xhat)
def g(z):
    return (z + (z * z - 1) / math.sqrt(2) + (z ** 3 - 3 * z) / math.sqrt(6)) / math.sqrt(3)
out = {}
for d in json.loads(sys.argv[1]):
    # rho ~ chi_d and t = <u, xhat> (density ∝ (1 - t^2)^((d-3)/2)) by fine midpoint grids
    rho = (np.arange(4000) + 0.5) * (20.0 / 4000)
    prho = np.exp((d - 1) * np.log(rho) - rho ** 2 / 2 - (d / 2 - 1) * math.log(2) - math.lgamma(d / 2)) * (20.0 / 4000)
    t = -1 + (np.arange(2000) + 0.5) * (2.0 / 2000)
    pt = (1 - t * t) ** ((d - 3) / 2)
    pt /= pt.sum()
    F = g(np.outer(t, rho)) @ prho
    u = 1.0 - np.dot(pt, F * F)
    # Gegenbauer P_l(t), P_l(1) = 1, by the recurrence; E_l = N(d, l) E_t[F P_l]^2
    P = [np.ones_like(t), t.copy()]
    for l in range(1, 3):
        P.append(((2 * l + d - 2) * t * P[l] - l * P[l - 1]) / (l + d - 2))
    N = lambda l: 1 if l == 0 else round((2 * l + d - 2) / l * math.comb(l + d - 3, l - 1))
    E = [N(l) * float(np.dot(pt, F * P[l])) ** 2 for l in range(4)]
    # Monte Carlo: E[(f* - F)^2] with F from the quadrature in rho, x ~ N(0, I_d), seed 0
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200000, d))
    r = np.linalg.norm(x, axis=1)
    tt = x[:, 0] / r
    Fx = np.interp(tt, t, F)
    sq = (g(x[:, 0]) - Fx) ** 2
    out[d] = {"u": u, "energy": E, "mc": float(sq.mean()), "mcSe": float(sq.std() / math.sqrt(len(sq)))}
print(json.dumps(out))
`;

const noNumpy = numpyMissing();

interface Answer {
  u: number;
  energy: number[];
  mc: number;
  mcSe: number;
}

const third = 1 / Math.sqrt(3);
function context(d: number, metric = 'risk'): TheoryContext {
  const options = hermite.options.parse({
    d,
    r: 1,
    terms: [1, 2, 3].map((k) => ({ coef: third, alpha: [k] })),
  });
  const target = hermite.create(options, { rng: Rng.fromSeed(0).child('target') });
  return {
    xKey: 'n',
    xs: [32, 64, 128, 256, 512, 1024, 2048, 4096],
    metric,
    target: { kind: 'hermite', ...options },
    rng: Rng.fromSeed(0),
    targetStructure: () => ({ dim: target.dim, structure: target.structure }),
  };
}
/** The curve's value at n (the last point at n: after a step). */
const at = (points: { x: number; y: number }[], x: number) => points.filter((p) => p.x <= x).at(-1)!.y;
const cubic = () => [1, 1, 1, 1];

describe.skipIf(noNumpy)('the staircase of a direction-only kernel keeps the radial part as a floor', () => {
  const answers = noNumpy
    ? {}
    : (JSON.parse(execFileSync('python3', ['-c', reference, '[8, 16]'], { encoding: 'utf8' })) as Record<
        string,
        Answer
      >);

  it.each([8, 16])('d = %i: the floor is u, the steps add the spherical energies not yet learned', (d) => {
    const ref = answers[String(d)]!;
    // the values the spec's docs state, and the Monte Carlo within 4 standard errors
    expect(ref.u).toBeCloseTo(d === 8 ? 0.378 : 0.225, 3);
    expect(Math.abs(ref.mc - ref.u)).toBeLessThan(4 * ref.mcSe);
    const [curve] = kernelStaircaseTheory(cubic, context(d), true, true);
    expect(curve!.label).toContain('radial part never learned');
    const [e0, e1, e2, e3] = ref.energy;
    expect(e0).toBeLessThan(1e-12);
    expect(e1! + e2! + e3! + ref.u).toBeCloseTo(1, 6); // Var f* = 1
    // h(t) = 1 + t + t² + t³: degree l from n = d^l, degree 0 by the intercept
    const tol = 1e-6;
    expect(Math.abs(at(curve!.points, 32) - (ref.u + e2! + e3!))).toBeLessThan(tol);
    expect(Math.abs(at(curve!.points, d * d) - (ref.u + e3!))).toBeLessThan(tol);
    expect(Math.abs(at(curve!.points, 4096) - (d ** 3 <= 4096 ? ref.u : ref.u + e3!))).toBeLessThan(tol);
    // never below u, however large n
    expect(Math.min(...curve!.points.map((p) => p.y))).toBeGreaterThan(ref.u - tol);
  });

  it('is the Hermite staircase without the flag (the kernel sees x), which reaches 0 at d = 8', () => {
    const [plain] = kernelStaircaseTheory(cubic, context(8), true);
    expect(plain!.label).not.toContain('radial');
    expect(at(plain!.points, 512)).toBeCloseTo(0, 12);
    expect(at(plain!.points, 64)).toBeCloseTo(1 / 3, 12);
  });

  it('normalized-risk divides by Var f* = 1; a kernel without t³ never learns degree 3 (floor u + E₃)', () => {
    const ref = answers['8']!;
    const [normalized] = kernelStaircaseTheory(cubic, context(8, 'normalized-risk'), true, true);
    expect(Math.abs(at(normalized!.points, 4096) - ref.u)).toBeLessThan(1e-6);
    const [quadratic] = kernelStaircaseTheory(() => [1, 1, 1], context(8), true, true);
    expect(quadratic!.label).toContain('degree 3 never learned');
    expect(Math.abs(at(quadratic!.points, 4096) - (ref.u + ref.energy[3]!))).toBeLessThan(1e-6);
  });
});

// A learner's theory curve weighs the run's target, which the plotter builds on demand
// (TheoryContext.targetStructure): ntk's own staircase beside the target's.
import type { ResultRow } from '@regimes/core';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../src/defaults.js';
import { plotData } from '../src/plot/data.js';

// g = h_3(z) on d = 4 (the `single` preset): energy 1 in degree 3, reached from n = 64.
const target = { kind: 'hermite', d: 4, degree: 3 };

const row = (n: number, id: string, bias: number): ResultRow => ({
  spec: 'synthetic',
  specHash: '0123456789abcdef',
  key: `n=${n},seed=0|${id}`,
  cellKey: `n=${n},seed=0`,
  cell: { n, seed: 0 },
  learner: { id, kind: 'ntk', bias },
  target,
  metrics: { risk: 1 / n },
  diagnostics: {},
  timing: { fit_s: 0.1, eval_s: 0.1 },
  backend: 'cpu',
  status: 'ok',
  seed: 0,
  versions: { '@regimes/core': '0.1.0', '@tensorflow/tfjs-core': '4.22.0' },
  finishedAt: '2026-01-01T00:00:00.000Z',
});

describe('learner theory curves', () => {
  it("draw each ntk's own staircase: bias-free relu keeps the degree-3 energy, a bias drops it at d³", () => {
    const rows = [2, 8, 64].flatMap((n) => [row(n, 'plain', 0), row(n, 'biased', 1)]);
    const data = plotData(
      rows,
      { x: 'n', by: 'learner', theory: true, curves: false, band: 'std', points: false, linear: true },
      createRegistry(),
    );
    // the biased kernel's staircase is the target's (every degree learned at d^k): drawn once, named twice
    expect(data.theorySeries.filter((s) => !data.referenceSeries.includes(s))).toHaveLength(2);
    expect(data.theorySeries).toContain(
      'its kernel’s staircase [biased] = kernel staircase ‖P>ℓ f*‖², ℓ = ⌊log_d n⌋',
    );
    const last = (tag: string) => {
      const series = data.theorySeries.find((s) => s.includes(tag))!;
      return data.theory
        .filter((t) => t.series === series)
        .sort((a, b) => a.order - b.order)
        .at(-1)!;
    };
    expect(data.theorySeries.find((s) => s.includes('[plain]'))).toContain('degree 3 never learned');
    expect([last('[plain]').x, last('[plain]').y]).toEqual([64, 1]);
    expect([last('[biased]').x, last('[biased]').y]).toEqual([64, 0]);
  });
});

describe('the variants of a λ list', () => {
  it('each draw their own eigenlearning curve; the staircase they share is drawn once', () => {
    const rows = [64, 256, 1024].flatMap((n) =>
      [1e-3, 1e-1].map((ridge) => ({
        ...row(n, 'kernel#0', 0),
        key: `n=${n},seed=0|kernel#0:ridge=${ridge}`,
        variant: `ridge=${ridge}`,
        learner: { id: 'kernel#0', kind: 'kernel', taylor: [0, 1, 1, 1], sphere: true, ridge },
      })),
    );
    const data = plotData(
      rows,
      { x: 'n', by: 'learner', theory: true, curves: false, band: 'std', points: false, linear: true },
      createRegistry(),
    );
    const own = data.theorySeries.filter((s) => s.endsWith('[kernel]'));
    expect(own.filter((s) => s.startsWith('eigenlearning'))).toEqual([
      'eigenlearning, λ=0.001 [kernel]',
      'eigenlearning, λ=0.1 [kernel]',
    ]);
    expect(own.filter((s) => s.includes('staircase'))).toHaveLength(1);
  });
});

// The Target contract, and the parity's values and moments checked against plain JS arithmetic.
import { disposeDataset, Rng } from '@regimes/core';
import { describePluginConformance, describeTargetConformance } from '@regimes/core/testing';
import { describe, expect, it } from 'vitest';
import plugin, { drawSupport, sparseParity } from '../src/index.js';

describePluginConformance(plugin.name, plugin);
describeTargetConformance('sparse-parity', { factory: sparseParity, options: { d: 10, k: 3 } });
describeTargetConformance('sparse-parity (noisy)', {
  factory: sparseParity,
  options: { d: 10, k: 2, noise: 0.5 },
});

describe('sparse-parity values', () => {
  const create = (o: Record<string, unknown>) =>
    sparseParity.create(sparseParity.options.parse(o), { rng: Rng.fromSeed(3).child('target') });

  it('labels are the product of the support coordinates of ±1 inputs (recomputed in JS)', async () => {
    const target = create({ d: 12, k: 3 });
    const support = (target.structure.details as { support: number[] }).support;
    expect(support).toEqual(drawSupport(12, 3, Rng.fromSeed(3).child('target').child('support')));
    const n = 4000;
    const data = target.sample(n, Rng.fromSeed(1));
    const [x, y] = [await data.x.data(), await data.y.data()];
    disposeDataset(data);
    let mean = 0;
    let ones = 0;
    for (let i = 0; i < n; i++) {
      let product = 1;
      for (const s of support) product *= x[i * 12 + s]!;
      expect(y[i]).toBe(product);
      mean += product / n;
      for (let j = 0; j < 12; j++) if (x[i * 12 + j] === 1) ones++;
    }
    // E f* = 0 (sd 1/√n) and P(x_j = 1) = 1/2 (sd 1/(2√(nd))): within 4 standard errors
    expect(Math.abs(mean)).toBeLessThan(4 / Math.sqrt(n));
    expect(Math.abs(ones / (n * 12) - 0.5)).toBeLessThan(4 / (2 * Math.sqrt(n * 12)));
  });

  it('takes a given support and refuses a wrong one', () => {
    expect(
      (create({ d: 5, k: 2, support: [0, 4] }).structure.details as { support: number[] }).support,
    ).toEqual([0, 4]);
    expect(() => create({ d: 5, k: 2, support: [0, 5] })).toThrow(/distinct coordinates below d = 5/);
    expect(() => create({ d: 3, k: 4 })).toThrow(/k \(4\) exceeds d \(3\)/);
  });
});

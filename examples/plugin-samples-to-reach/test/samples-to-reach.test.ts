// The metric's contract, its value against a hand computation, and samplesToReach against the
// closed form n* = (C/ε)^(1/α) of a power-law risk curve.
import { disposeDataset, Rng } from '@regimes/core';
import { describeMetricConformance, describePluginConformance } from '@regimes/core/testing';
import { hermite } from '@regimes/targets';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import plugin, { riskReached, samplesToReach } from '../src/index.js';

describePluginConformance(plugin.name, plugin);
describeMetricConformance('risk-reached', {
  factory: riskReached,
  target: { factory: hermite, options: { d: 5, degree: 2 } },
});

describe('risk-reached', () => {
  it('says whether the mean squared error against f* is at most eps', async () => {
    const target = hermite.create(hermite.options.parse({ d: 5, degree: 2 }), { rng: Rng.fromSeed(0) });
    const test = target.sample(500, Rng.fromSeed(1));
    const f = await target.evaluate(test.x).data();
    // the predictor 0.7·f*: risk = 0.09·mean(f*²), computed here in float64
    const expected = Array.from(f).reduce((s, v) => s + (0.3 * v) ** 2, 0) / 500;
    const predictor = {
      predict: (x: tf.Tensor2D) => tf.tidy(() => tf.mul(target.evaluate(x), 0.7) as tf.Tensor2D),
      dispose() {},
    };
    // eps 1e-4 (relative) either side of the float64 risk: the float32 sum is well within that
    for (const eps of [expected * (1 - 1e-4), expected * (1 + 1e-4)]) {
      const value = await riskReached
        .create(riskReached.options.parse({ eps }))
        .compute(predictor, test, target, { rng: Rng.fromSeed(2) });
      expect(value).toBe(eps >= expected ? 1 : 0);
    }
    disposeDataset(test);
  });
});

describe('samplesToReach', () => {
  const row = (learner: string, n: number, risk: number, seed = 0) => ({
    cell: { n, seed },
    learner: { id: learner, kind: 'x' },
    metrics: { risk },
    status: 'ok' as const,
  });

  it('interpolates a power law exactly: risk = 4·n^(−1/2), eps = 0.1 → n* = 1600', () => {
    const rows = [100, 400, 3200, 12800].flatMap((n) => [
      row('a', n, 4 * n ** -0.5 * 0.9, 0),
      row('a', n, 4 * n ** -0.5 * 1.1, 1),
    ]);
    const [result] = samplesToReach(rows, { eps: 0.1 });
    expect(result!.n).toBeCloseTo(1600, 6);
    expect(result!.firstSwept).toBe(3200);
    expect(result!.curve.map((p) => p.seeds)).toEqual([2, 2, 2, 2]);
  });

  it('says when a learner never reaches eps, and skips failed rows', () => {
    const rows = [
      row('b', 100, 1),
      row('b', 1000, 0.5),
      { ...row('b', 10000, 0.01), status: 'error' as const },
    ];
    const [result] = samplesToReach(rows, { eps: 0.1 });
    expect(result!.n).toBeNull();
    expect(result!.curve).toHaveLength(2);
  });
});

import { Rng } from '@regimes/core';
import { createTarget, describeMetricConformance } from '@regimes/core/testing';
import { hermite } from '@regimes/targets';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { risk } from '../src/risks.js';

const target = { factory: hermite, options: { d: 6, degree: 2 } };
describeMetricConformance('risk', { factory: risk, target });

describe('risk', () => {
  const measure = async (
    predict: (t: ReturnType<typeof createTarget>, x: tf.Tensor2D) => tf.Tensor2D,
    n = 20000,
  ) => {
    const t = createTarget(target);
    const test = t.sample(n, Rng.fromSeed(1));
    const value = await risk.create({}).compute({ predict: (x) => predict(t, x), dispose() {} }, test, t);
    tf.dispose([test.x, test.y]);
    return (value as Record<string, number>).risk!;
  };

  it('is 0 for the target itself', async () => {
    expect(await measure((t, x) => t.evaluate(x))).toBe(0);
  });

  it('is E[f*²] = Σ‖P_k f*‖² = 1 for the zero predictor (Monte Carlo, 5 s.e.; Var h_2² = E h_2⁴ − 1 = 14)', async () => {
    const value = await measure((_t, x) => tf.zeros([x.shape[0], 1]));
    expect(Math.abs(value - 1)).toBeLessThan(5 * Math.sqrt(14 / 20000));
  });

  it('is E[(c f*)²]·(1 − c)²/c² for the predictor c·f* (here c = 1/2: risk 1/4, up to MC)', async () => {
    const value = await measure((t, x) => tf.tidy(() => tf.mul(t.evaluate(x), 0.5) as tf.Tensor2D));
    expect(Math.abs(value - 0.25)).toBeLessThan(5 * 0.25 * Math.sqrt(14 / 20000));
  });
});

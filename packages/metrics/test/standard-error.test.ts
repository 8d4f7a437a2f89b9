// Standard errors of the test-set metrics, and the test set read in chunks.
import {
  type Dataset,
  datasetChunks,
  defineTarget,
  disposeDataset,
  type Metric,
  type Predictor,
  Rng,
  type Target,
} from '@regimes/core';
import { createTarget } from '@regimes/core/testing';
import { hermite, mixture } from '@regimes/targets';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { alignment } from '../src/alignment.js';
import { classificationError } from '../src/error.js';
import { hermiteSpectrum } from '../src/hermite-spectrum.js';
import { Moments } from '../src/moments.js';
import { excessRisk, normalizedRisk, risk } from '../src/risks.js';

type Values = Record<string, number>;

/** A scalar target whose f* is `f` (no Hermite energies, so Var f* is estimated on the test set). */
const plainTarget = (f: (x: tf.Tensor2D) => tf.Tensor2D, noiseVariance?: number): Target => ({
  dim: 1,
  outputDim: 1,
  structure: noiseVariance === undefined ? {} : { noiseVariance },
  sample: () => {
    throw new Error('not used');
  },
  evaluate: (x) => tf.tidy(() => f(x)),
});
const identity: Predictor = { predict: (x) => tf.clone(x), dispose() {} };

async function compute(metric: Metric, p: Predictor, test: Dataset, t: Target, rows?: number) {
  const context = { rng: Rng.fromSeed(9), ...(rows ? { test: datasetChunks(test, rows) } : {}) };
  return (await metric.compute(p, test, t, context)) as Values;
}

/** Float64 mean and s/√m of per-point values. */
function reference(values: ArrayLike<number>): { mean: number; se: number } {
  const m = values.length;
  let mean = 0;
  for (let i = 0; i < m; i++) mean += values[i]!;
  mean /= m;
  let ss = 0;
  for (let i = 0; i < m; i++) ss += (values[i]! - mean) ** 2;
  return { mean, se: Math.sqrt(ss / (m - 1) / m) };
}

describe('Moments', () => {
  it('merged chunk by chunk equals the two-pass float64 mean and covariance', () => {
    const v = Rng.fromSeed(3).normal(3 * 1001, new Float64Array(3 * 1001));
    for (let i = 0; i < 1001; i++) v[3 * i + 1] = v[3 * i]! * 2 + v[3 * i + 1]! ** 3 + 100; // correlated, offset
    const m = new Moments(3);
    for (let start = 0; start < 1001; start += 97)
      m.add(v.subarray(3 * start, 3 * Math.min(start + 97, 1001)));
    for (let a = 0; a < 3; a++) {
      const col = Array.from({ length: 1001 }, (_, i) => v[3 * i + a]!);
      const r = reference(col);
      expect(m.mean[a]).toBeCloseTo(r.mean, 10);
      expect(Math.sqrt(m.covariance(a, a) / 1001)).toBeCloseTo(r.se, 12);
    }
    const [x, y] = [0, 1].map((a) => Array.from({ length: 1001 }, (_, i) => v[3 * i + a]!));
    const [mx, my] = [reference(x!).mean, reference(y!).mean];
    const cov = x!.reduce((s, xi, i) => s + (xi - mx) * (y![i]! - my), 0) / 1000;
    expect(m.covariance(0, 1)).toBeCloseTo(cov, 9);
  });
});

describe('standard errors against float64 on known per-point values', () => {
  // x: heavy-tailed per-point values (z³), known on the host; f* = 0 and f = x, so ℓ_i = x_i²
  const m = 20011;
  const x = Float32Array.from(Rng.fromSeed(5).normal(m), (z) => z ** 3);
  const y = Float32Array.from(Rng.fromSeed(6).normal(m), (z, i) => x[i]! + 0.5 * z);

  it.each([undefined, 4096])('risk, excess-risk and error: s/√m of ℓ_i (chunks of %s rows)', async (rows) => {
    const test = { x: tf.tensor2d(x, [m, 1]), y: tf.tensor2d(y, [m, 1]) };
    const zero = plainTarget((t) => tf.zerosLike(t), 0.25);
    try {
      const r = await compute(risk.create({}), identity, test, zero, rows);
      const ref = reference(Float64Array.from(x, (v) => v * v));
      expect(r.risk! / ref.mean - 1).toBeLessThan(1e-6);
      expect(Math.abs(r['risk-se']! / ref.se - 1)).toBeLessThan(1e-6);

      const e = await compute(excessRisk.create({}), identity, test, zero, rows);
      const refE = reference(Float64Array.from(x, (v, i) => (v - y[i]!) ** 2));
      expect(Math.abs(e['excess-risk']! - (refE.mean - 0.25))).toBeLessThan(1e-6 * refE.mean);
      expect(Math.abs(e['excess-risk-se']! / refE.se - 1)).toBeLessThan(1e-6);

      const c = await compute(classificationError.create({}), identity, test, zero, rows);
      const refC = reference(Float64Array.from(x, (v, i) => (Math.sign(v) !== Math.sign(y[i]!) ? 1 : 0)));
      expect(c.error).toBeCloseTo(refC.mean, 12);
      expect(c['error-se']).toBeCloseTo(refC.se, 12);
    } finally {
      disposeDataset(test);
    }
  });

  it.each([undefined, 4096])(
    'normalized-risk: SE/Var exactly, and the delta method when Var f* is estimated (chunks of %s rows)',
    async (rows) => {
      const test = { x: tf.tensor2d(x, [m, 1]), y: tf.tensor2d(y, [m, 1]) };
      try {
        const exact = { ...plainTarget((t) => tf.zerosLike(t)), structure: { hermiteEnergy: [0, 2, 3] } };
        const n1 = await compute(normalizedRisk.create({}), identity, test, exact, rows);
        const ref = reference(Float64Array.from(x, (v) => v * v));
        expect(Math.abs(n1['normalized-risk']! / (ref.mean / 5) - 1)).toBeLessThan(1e-6);
        expect(Math.abs(n1['normalized-risk-se']! / (ref.se / 5) - 1)).toBeLessThan(1e-6);

        // f* = x² − 1 on the test set, f = x: R = mean ℓ / V̂ with V̂ = mean (g − ḡ)²; the SE from
        // the influence function φ_i = (ℓ_i − A)/V − A((g_i − ḡ)² − V)/V², in float64 from x
        const estimated = plainTarget((t) => tf.sub(tf.square(t), 1) as tf.Tensor2D);
        const n2 = await compute(normalizedRisk.create({}), identity, test, estimated, rows);
        const g = Float64Array.from(x, (v) => Math.fround(Math.fround(v * v) - 1));
        const l = Float64Array.from(x, (v, i) => Math.fround(v - g[i]!) ** 2);
        const a = reference(l).mean;
        const gbar = reference(g).mean;
        const v = reference(Float64Array.from(g, (gi) => (gi - gbar) ** 2)).mean;
        const phi = Float64Array.from(l, (li, i) => (li - a) / v - (a * ((g[i]! - gbar) ** 2 - v)) / (v * v));
        expect(Math.abs(n2['normalized-risk']! / (a / v) - 1)).toBeLessThan(1e-5);
        expect(Math.abs(n2['normalized-risk-se']! / reference(phi).se - 1)).toBeLessThan(1e-4);
        // energies from Monte Carlo are not taken as exact: the same estimate as without them
        const sampled = {
          ...estimated,
          structure: { hermiteEnergy: [0, 2, 3], hermiteMethod: 'monte-carlo' as const },
        };
        expect(await compute(normalizedRisk.create({}), identity, test, sampled, rows)).toEqual(n2);
      } finally {
        disposeDataset(test);
      }
    },
  );
});

/**
 * The reported SE against the spread of the value over R independent test sets of m points
 * (fixed seeds). The sample sd of R values has relative standard error ≈ √((κ − 1)/(4R)), κ the
 * kurtosis of the value (≈ 3 for a mean of m points): ≈ 3.5% at R = 400; the tolerance is 15%.
 */
async function spread(metric: Metric, name: string, t: Target, p: Predictor, sets = 400, m = 1000) {
  const values: number[] = [];
  const ses: number[] = [];
  for (let i = 0; i < sets; i++) {
    const test = t.sample(m, Rng.fromSeed(1000 + i).child('data', 'test'));
    try {
      const v = await compute(metric, p, test, t);
      values.push(v[name]!);
      ses.push(v[`${name}-se`]!);
    } finally {
      disposeDataset(test);
    }
  }
  const { se } = reference(values);
  const sd = se * Math.sqrt(sets);
  const meanSe = reference(ses).mean;
  return { sd, meanSe, ratio: meanSe / sd };
}

describe('standard errors against the spread over independent test sets (400 sets of 1000 points)', () => {
  it('risk of f*/2 for h_2 (per-point ℓ = h_2²/4, heavy-tailed)', async () => {
    const t = createTarget({ factory: hermite, options: { d: 4, degree: 2 } });
    const half: Predictor = { predict: (x) => tf.tidy(() => tf.mul(t.evaluate(x), 0.5)), dispose() {} };
    const s = await spread(risk.create({}), 'risk', t, half);
    // sd of the mean of 1000 points: √(Var(h_2²)/16/1000) = √(14/16/1000) ≈ 0.030
    expect(Math.abs(s.ratio - 1), JSON.stringify(s)).toBeLessThan(0.15);
  });

  it('normalized-risk with Var f* estimated on the test set (delta method)', async () => {
    const f = defineTarget({
      name: 'quadratic-plus-linear',
      d: 2,
      f: (x) => tf.tidy(() => tf.add(tf.square(tf.slice(x, [0, 0], [-1, 1])), tf.slice(x, [0, 1], [-1, 1]))),
    });
    const t = f.create({ noise: 0 }, { rng: Rng.fromSeed(0) });
    const linear: Predictor = { predict: (x) => tf.slice(x, [0, 1], [-1, 1]), dispose() {} };
    const s = await spread(normalizedRisk.create({}), 'normalized-risk', t, linear);
    expect(Math.abs(s.ratio - 1), JSON.stringify(s)).toBeLessThan(0.15);
  });

  it('error of a linear rule on the mixture', async () => {
    const t = createTarget({ factory: mixture, options: { d: 4, delta: 0.6 } });
    const first: Predictor = { predict: (x) => tf.slice(x, [0, 0], [-1, 1]), dispose() {} };
    const s = await spread(classificationError.create({}), 'error', t, first);
    expect(Math.abs(s.ratio - 1), JSON.stringify(s)).toBeLessThan(0.15);
  });
});

describe('chunked evaluation equals one chunk, for every metric', () => {
  const cases = [
    { metric: risk, target: { factory: hermite, options: { d: 6, degree: 4, noise: 0.3 } } },
    { metric: normalizedRisk, target: { factory: hermite, options: { d: 6, degree: 4 } } },
    { metric: excessRisk, target: { factory: hermite, options: { d: 6, degree: 4, noise: 0.3 } } },
    { metric: classificationError, target: { factory: mixture, options: { d: 5 } } },
    { metric: alignment, target: { factory: hermite, options: { d: 6, r: 2, preset: 'sum', degree: 2 } } },
    {
      metric: hermiteSpectrum,
      target: { factory: hermite, options: { d: 6, r: 2, preset: 'sum', degree: 2 } },
      options: { samples: 2000 },
    },
  ];
  it.each(cases)(
    '$metric.kind: chunks of 1000 rows vs one (5123 points), to float32 round-off',
    async (c) => {
      const t = createTarget(c.target as never);
      const test = t.sample(5123, Rng.fromSeed(2).child('data', 'test'));
      const w = tf.tensor2d(Rng.fromSeed(8).normal(3 * t.dim), [3, t.dim]);
      const p: Predictor = {
        predict: (x) => tf.tidy(() => tf.add(tf.mul(t.evaluate(x), 0.7), tf.slice(x, [0, 0], [-1, 1]))),
        features: w,
        dispose: () => w.dispose(),
      };
      try {
        const metric = c.metric.create(c.metric.options.parse(c.options ?? {}));
        const whole = await compute(metric, p, test, t, 1e9);
        const chunked = await compute(metric, p, test, t, 1000);
        expect(Object.keys(chunked)).toEqual(Object.keys(whole));
        expect(Object.keys(whole).length).toBeGreaterThan(0);
        for (const [k, v] of Object.entries(whole))
          expect(Math.abs(chunked[k]! - v), k).toBeLessThanOrEqual(1e-6 * Math.abs(v) + 1e-12);
      } finally {
        p.dispose();
        disposeDataset(test);
      }
    },
  );
});

import { disposeDataset, type Predictor, Rng, type Target } from '@regimes/core';
import { createTarget, describeMetricConformance, injectKernelFailures } from '@regimes/core/testing';
import { hermite, mixture, quadratic } from '@regimes/targets';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { alignment } from '../src/alignment.js';
import { classificationError } from '../src/error.js';
import { hermiteSpectrum } from '../src/hermite-spectrum.js';
import { excessRisk, normalizedRisk, risk } from '../src/risks.js';

const single = { factory: hermite, options: { d: 6, degree: 2, noise: 0.5 } };
const twoDim = { factory: hermite, options: { d: 8, r: 2, preset: 'sum', degree: 3 } };

/** A predictor f = c·f* with first-layer weights `w` (rows × d), for metrics that read them. */
const scaled =
  (c: number, w?: (t: Target) => tf.Tensor2D) =>
  (t: Target): Predictor => {
    const features = w?.(t);
    return {
      predict: (x) => tf.tidy(() => tf.mul(t.evaluate(x), c) as tf.Tensor2D),
      ...(features ? { features } : {}),
      dispose: () => features?.dispose(),
    };
  };
const inSubspace = (t: Target) => {
  const { subspace, subspaceRank } = t.structure;
  // rows: combinations of U's rows, so every row lies in span U
  return tf.tidy(
    () =>
      tf.matMul(
        tf.tensor2d([
          [1, 2],
          [3, -1],
          [0.5, 0.5],
        ]),
        tf.tensor2d(Float32Array.from(subspace!), [subspaceRank!, t.dim]),
      ) as tf.Tensor2D,
  );
};

describeMetricConformance('normalized-risk', { factory: normalizedRisk, target: single });
describeMetricConformance('excess-risk', { factory: excessRisk, target: single });
describeMetricConformance('error', {
  factory: classificationError,
  target: { factory: mixture, options: { d: 5 } },
});
describeMetricConformance('alignment', {
  factory: alignment,
  target: twoDim,
  predictor: scaled(1, inSubspace),
});
describeMetricConformance('hermite-spectrum', {
  factory: hermiteSpectrum,
  options: { samples: 2000 },
  target: twoDim,
});

async function measure(
  metric: { create(o: never): { compute: (...a: never[]) => unknown } },
  options: Record<string, unknown>,
  targetCase: { factory: typeof hermite; options: Record<string, unknown> },
  predictor: (t: Target) => Predictor,
  n = 20000,
) {
  const t = createTarget(targetCase as never);
  const test = t.sample(n, Rng.fromSeed(4));
  const p = predictor(t);
  const factory = metric as unknown as typeof normalizedRisk;
  try {
    return (await factory
      .create(factory.options.parse(options))
      .compute(p, test, t, { rng: Rng.fromSeed(9) })) as number | Record<string, number>;
  } finally {
    p.dispose();
    disposeDataset(test);
  }
}

describe('risks', () => {
  it('a predicted variance (the prediction a mean over a random init) is added point by point: expected risks', async () => {
    // f*/2 with Var f(x) = 0.25 + 0.5·x₁²: each risk grows by the variance's mean over the same test
    // set, computed here directly (no Monte-Carlo error between the two)
    const withVariance = (t: Target): Predictor => ({
      ...scaled(0.5)(t),
      predictVariance: (x) =>
        tf.tidy(() => tf.add(0.25, tf.mul(0.5, tf.square(tf.slice(x, [0, 0], [-1, 1])))) as tf.Tensor2D),
    });
    const t = createTarget(single as never);
    const test = t.sample(20000, Rng.fromSeed(4));
    const x1 = tf.tidy(() => tf.slice(test.x, [0, 0], [-1, 1]).dataSync());
    disposeDataset(test);
    const meanVariance = x1.reduce((a, v) => a + 0.25 + 0.5 * v * v, 0) / x1.length;
    expect(meanVariance).toBeCloseTo(0.75, 1);
    for (const [metric, name] of [
      [risk, 'risk'],
      [normalizedRisk, 'normalized-risk'], // Var f* = 1 exactly
      [excessRisk, 'excess-risk'],
    ] as const) {
      const mean = ((await measure(metric, {}, single, scaled(0.5))) as Record<string, number>)[name]!;
      const expected = ((await measure(metric, {}, single, withVariance)) as Record<string, number>)[name]!;
      expect(expected - mean, name).toBeCloseTo(meanVariance, 5);
    }
  });

  it('normalized-risk is 1 for the zero predictor and 1/4 for f*/2 (Var f* = 1 exactly; MC 5 s.e., Var h_2² = 14)', async () => {
    const zero = await measure(normalizedRisk, {}, single, () => ({
      predict: (x) => tf.zeros([x.shape[0], 1]),
      dispose() {},
    }));
    expect(Math.abs((zero as Record<string, number>)['normalized-risk']! - 1)).toBeLessThan(
      5 * Math.sqrt(14 / 20000),
    );
    const half = await measure(normalizedRisk, {}, single, scaled(0.5));
    expect(Math.abs((half as Record<string, number>)['normalized-risk']! - 0.25)).toBeLessThan(
      5 * 0.25 * Math.sqrt(14 / 20000),
    );
  });

  // bad-input: 5
  it('normalized-risk of a constant target says so, by its exact energies or on the test set', async () => {
    const zero = () => ({
      predict: (x: tf.Tensor2D) => tf.zeros([x.shape[0], 1]) as tf.Tensor2D,
      dispose() {},
    });
    // degree 0: Var f* = 0 from the energies; g = 3 by quadrature: Var f* of round-off
    for (const [options, why] of [
      [{ d: 3, degree: 0 }, 'its Var f* is 0 of E f*² = 1'],
      [{ d: 3, r: 1, expression: '0*abs(z1) + 3', normalize: false }, 'its Var f* is 9.6e-14 of E f*² = 9'],
    ] as const)
      await expect(measure(normalizedRisk, {}, { factory: hermite, options }, zero, 256)).rejects.toThrow(
        `normalized-risk is undefined for this target: ${why}`,
      );
  });

  it('normalized-risk estimates Var f* on the test set where the energies are Monte Carlo (|z1|z2z3z4: V = 1)', async () => {
    const sampled = {
      factory: hermite,
      options: { d: 8, r: 4, expression: 'abs(z1)*z2*z3*z4', normalize: false },
    };
    const t = createTarget(sampled as never);
    expect(t.structure.hermiteMethod).toBe('monte-carlo');
    // the structure's Var f*, from 2¹⁶ draws, is 7% off the exact 1 for this seed
    const energies =
      t.structure.hermiteEnergy!.slice(1).reduce((a, b) => a + b, 0) + (t.structure.hermiteTail ?? 0);
    expect(Math.abs(energies - 1)).toBeGreaterThan(0.05);
    // g = (|z1| − √(2/π))·z2z3z4 leaves √(2/π)·z2z3z4: risk 2/π exactly, normalized 2/π as Var f* = 1;
    // with the structure's V taken as exact it read 2/π/0.93 = 0.68, 6 SE off at 2·10⁵ test points
    const c = Math.sqrt(2 / Math.PI);
    const u = tf.tensor2d(Float32Array.from(t.structure.subspace!), [4, 8]);
    const g = (x: tf.Tensor2D) =>
      tf.tidy(() => {
        const z = tf.matMul(x, u, false, true);
        const [z1, z2, z3, z4] = tf.split(z, 4, 1);
        return tf.mul(tf.mul(tf.sub(tf.abs(z1!), c), z2!), tf.mul(z3!, z4!)) as tf.Tensor2D;
      });
    const r = (await measure(
      normalizedRisk,
      {},
      sampled,
      () => ({ predict: g, dispose: () => u.dispose() }),
      200_000,
    )) as Record<string, number>;
    expect(Math.abs(r['normalized-risk']! - 2 / Math.PI)).toBeLessThan(3 * r['normalized-risk-se']!);
  });

  it('excess-risk of f* itself is 0 up to the noise estimate (σ = 0.5: sd of ε² is σ²√2)', async () => {
    const value = ((await measure(excessRisk, {}, single, scaled(1))) as Record<string, number>)[
      'excess-risk'
    ]!;
    expect(Math.abs(value)).toBeLessThan((5 * 0.25 * Math.SQRT2) / Math.sqrt(20000));
  });
});

describe('error', () => {
  it('of the Bayes rule sign f* on the mixture is the Bayes error (MC 5 s.e.)', async () => {
    const value = (await measure(
      classificationError,
      {},
      { factory: mixture, options: { d: 6, delta: 0.6 } } as never,
      scaled(1),
      50000,
    )) as Record<string, number>;
    const t = createTarget({ factory: mixture, options: { d: 6, delta: 0.6 } });
    const p = t.structure.bayesError!;
    expect(Math.abs(value['excess-error']!)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / 50000));
    expect(value.error).toBeCloseTo(p + value['excess-error']!, 12);
  });

  it('of the zero predictor is ½, a tie on every point (it had counted every 0 wrong: error 1)', async () => {
    const value = (await measure(
      classificationError,
      {},
      { factory: mixture, options: { d: 6, delta: 0.6 } } as never,
      scaled(0),
      2000,
    )) as Record<string, number>;
    expect(value.error).toBe(0.5);
    expect(value['error-se']).toBe(0);
  });

  it('counts a label of exactly 0 as ½ (relu(z1): half the labels), where it had been wrong for any guess', async () => {
    const relu = { factory: hermite, options: { d: 4, r: 1, expression: 'relu(z1)' } };
    const shifted = (t: Target): Predictor => ({
      predict: (x) => tf.tidy(() => tf.add(t.evaluate(x), 1) as tf.Tensor2D),
      dispose() {},
    });
    // f* + 1 > 0 everywhere: right where f* > 0, ½ where f* = 0 (half the points): ¼, not ½
    const value = (await measure(classificationError, {}, relu as never, shifted, 20000)) as Record<
      string,
      number
    >;
    expect(Math.abs(value.error! - 0.25)).toBeLessThan(5 * value['error-se']!);
    expect(value['error-se']).toBeGreaterThan(0);
  });
});

describe('alignment', () => {
  it('is 1 with all principal cosines 1 when W lies in span U', async () => {
    const value = (await measure(alignment, {}, twoDim, scaled(1, inSubspace), 16)) as Record<string, number>;
    expect(value.alignment).toBeCloseTo(1, 5);
    expect(value['alignment.cos-min']).toBeCloseTo(1, 5);
    expect(value['alignment.cos2-mean']).toBeCloseTo(1, 5);
  });

  it('is 0 when W is orthogonal to U', async () => {
    const orthogonal = (t: Target) => {
      const u = t.structure.subspace!;
      const d = t.dim;
      // e_j minus its projection on span U, for a few j: orthogonal to U
      const rows = [0, 1, 2].map((j) => {
        const e = Array.from({ length: d }, (_, i) => (i === j ? 1 : 0));
        for (let a = 0; a < 2; a++) {
          const dot = e.reduce((s, v, i) => s + v * u[a * d + i]!, 0);
          for (let i = 0; i < d; i++) e[i]! -= dot * u[a * d + i]!;
        }
        return e;
      });
      return tf.tensor2d(rows);
    };
    const value = (await measure(alignment, {}, twoDim, scaled(1, orthogonal), 16)) as Record<string, number>;
    expect(value.alignment).toBeLessThan(1e-10);
    expect(value['alignment.cos-min']).toBeLessThan(1e-3);
  });

  it('is r/d for isotropic random W (4096 Gaussian rows: within 5 s.e.)', async () => {
    const random = (t: Target) => tf.tensor2d(Rng.fromSeed(2).normal(4096 * t.dim), [4096, t.dim]);
    const value = (await measure(alignment, {}, twoDim, scaled(1, random), 16)) as Record<string, number>;
    // fraction of χ² mass: sd ≈ √(2·r/d·(1 − r/d)/(4096·d/... )) — bound loosely by 5/√(4096·2)
    expect(Math.abs(value.alignment! - 2 / 8)).toBeLessThan(5 / Math.sqrt(4096 * 2));
  });

  it('is the same for W and 1e30·W (scale-free: ‖W‖² of the large one overflows float32)', async () => {
    const random = (c: number) => (t: Target) =>
      tf.tidy(() => tf.mul(tf.tensor2d(Rng.fromSeed(3).normal(64 * t.dim), [64, t.dim]), c) as tf.Tensor2D);
    const [a, b] = [
      (await measure(alignment, {}, twoDim, scaled(1, random(1)), 16)) as Record<string, number>,
      (await measure(alignment, {}, twoDim, scaled(1, random(1e30)), 16)) as Record<string, number>,
    ];
    for (const key of ['alignment', 'alignment.cos-min', 'alignment.cos2-mean'])
      expect(b[key]).toBeCloseTo(a[key]!, 5);
  });

  it('with fewer rows than r: cos-min 0 (U is not covered), cos2-mean N/r, alignment 1', async () => {
    // one row of U at r = 2: every row of W in span U, but one of U's two directions has cosine 0
    const oneRow = (t: Target) =>
      tf.tensor2d(Float32Array.from(t.structure.subspace!.subarray(0, t.dim)), [1, t.dim]);
    const value = (await measure(alignment, {}, twoDim, scaled(1, oneRow), 16)) as Record<string, number>;
    expect(value.alignment).toBeCloseTo(1, 5);
    expect(value['alignment.cos-min']).toBe(0);
    expect(value['alignment.cos2-mean']).toBeCloseTo(0.5, 5);
  });

  it('reports nothing when the predictor has no first layer', async () => {
    expect(await measure(alignment, {}, twoDim, scaled(1), 16)).toEqual({});
  });
});

describe('hermite-spectrum', () => {
  it('frees its fresh samples when the predictor fails on them, and rejects with its error', async () => {
    const target = createTarget(twoDim);
    const test = target.sample(16, Rng.fromSeed(1));
    const before = tf.memory().numTensors;
    const failing: Predictor = {
      predict: () => {
        throw new Error('predictor failed');
      },
      dispose: () => {},
    };
    const metric = hermiteSpectrum.create(hermiteSpectrum.options.parse({ samples: 200 }));
    await expect(metric.compute(failing, test, target, { rng: Rng.fromSeed(2) })).rejects.toThrow(
      'predictor failed',
    );
    expect(tf.memory().numTensors).toBe(before);
    disposeDataset(test);
  });

  it('finds f*’s energies along U: Σ_i h_3(z_i) has energy 2 in degree 3, and (f*/2) a quarter of it', async () => {
    const full = (await measure(hermiteSpectrum, { samples: 40000 }, twoDim, scaled(1), 16)) as Record<
      string,
      number
    >;
    expect(full['target-hermite.3']).toBe(2);
    // split-sample estimates: sd of ĉ_α ≈ √(E[f²h_α²]/m); 0.15 is > 5 s.e. here (fixed seed)
    expect(Math.abs(full['hermite.3']! - 2)).toBeLessThan(0.15);
    for (const k of [0, 1, 2, 4, 5, 6]) expect(Math.abs(full[`hermite.${k}`] ?? 0)).toBeLessThan(0.05);
    const half = (await measure(hermiteSpectrum, { samples: 40000 }, twoDim, scaled(0.5), 16)) as Record<
      string,
      number
    >;
    expect(half['hermite.3']).toBeCloseTo(full['hermite.3']! / 4, 6);
  });

  it('finds a full-rank quadratic’s energy in degree 2 over all coordinates (no subspace)', async () => {
    const quad = { factory: quadratic, options: { d: 10, spectrum: 'decay', power: 0 } } as never; // B = I: 2‖B‖² = 20
    const value = (await measure(hermiteSpectrum, { samples: 40000 }, quad, scaled(1), 16)) as Record<
      string,
      number
    >;
    expect(value['target-hermite.2']).toBeCloseTo(20, 10);
    expect(Math.abs(value['hermite.2']! - 20) / 20).toBeLessThan(0.1);
    expect(Math.abs(value['hermite.0']!)).toBeLessThan(0.2);
    expect(Math.abs(value['hermite.1']!)).toBeLessThan(0.3);
  });
});

describe('every metric frees its tensors when a kernel call or a read fails', () => {
  const withVariance = (t: Target): Predictor => ({
    ...scaled(0.5)(t),
    predictVariance: (x) =>
      tf.tidy(() => tf.add(0.25, tf.square(tf.slice(x, [0, 0], [-1, 1]))) as tf.Tensor2D),
  });
  const cases = [
    ['risk (with a predicted variance)', risk, {}, single, withVariance],
    ['normalized-risk', normalizedRisk, {}, single, scaled(0.5)],
    ['excess-risk', excessRisk, {}, single, scaled(0.5)],
    ['error', classificationError, {}, { factory: mixture, options: { d: 5 } }, scaled(0.5)],
    ['alignment', alignment, {}, twoDim, scaled(1, inSubspace)],
    ['hermite-spectrum', hermiteSpectrum, { samples: 400 }, twoDim, scaled(1)],
  ] as const;

  it.each(cases)('%s', async (_label, metric, options, targetCase, predictor) => {
    const t = createTarget(targetCase as never);
    const test = t.sample(64, Rng.fromSeed(4));
    const p = predictor(t);
    const factory = metric as unknown as typeof normalizedRisk;
    const compute = () =>
      factory.create(factory.options.parse(options)).compute(p, test, t, { rng: Rng.fromSeed(9) });
    const failures = injectKernelFailures('cpu');
    try {
      await compute();
      const before = tf.memory().numTensors;
      failures.calls = 0;
      failures.reads = 0;
      await compute();
      const [calls, reads] = [failures.calls, failures.reads];
      expect(reads).toBeGreaterThan(0);
      for (let k = 1; k <= calls; k++) {
        failures.calls = 0;
        failures.failAt = k;
        await expect(compute()).rejects.toThrow(`injected at kernel call ${k}`);
        failures.failAt = 0;
        expect(tf.memory().numTensors, `kernel call ${k} of ${calls}`).toBe(before);
      }
      for (let k = 1; k <= reads; k++) {
        failures.reads = 0;
        failures.failReadAt = k;
        await expect(compute()).rejects.toThrow(`injected at read ${k}`);
        failures.failReadAt = 0;
        expect(tf.memory().numTensors, `read ${k} of ${reads}`).toBe(before);
      }
    } finally {
      failures.restore();
      p.dispose();
      disposeDataset(test);
    }
  });
});

/**
 * damian and one-step against independent numpy ports of the papers' protocols
 * (test/reference/*.py, run through python3), and the effects of the protocol choices.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { disposeDataset, type LearnerFactory, Rng, type Target, type TrainingMonitor } from '@regimes/core';
import { createTarget, makeFitContext, numpyMissing } from '@regimes/core/testing';
import { loadBlas, native } from '@regimes/backend-node';
import { hermite } from '@regimes/targets';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { damian, oneStep } from '../src/index.js';

const reference = (name: string) => fileURLToPath(new URL(`./reference/${name}.py`, import.meta.url));

const noNumpy = numpyMissing();

/** The numpy port's result for one configuration (a child process: it runs beside our fits). */
async function port(name: string, config: Record<string, unknown>): Promise<Record<string, number>> {
  const { stdout } = await promisify(execFile)('python3', [reference(name), JSON.stringify(config)]);
  return JSON.parse(stdout) as Record<string, number>;
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const sd = (v: number[]) => Math.sqrt(v.reduce((a, b) => a + (b - mean(v)) ** 2, 0) / (v.length - 1));

/** Test risk against the noiseless f* and the diagnostics of one fit of `factory` on a fresh draw. */
async function fitOnce(
  factory: LearnerFactory,
  options: Record<string, unknown>,
  target: Target,
  n: number,
  seed: number,
): Promise<{ risk: number; diagnostics: Record<string, number> }> {
  const train = target.sample(n, Rng.fromSeed(seed).child('train'));
  const test = target.sample(4096, Rng.fromSeed(seed).child('test'));
  const f = target.evaluate(test.x);
  const monitor: TrainingMonitor = {
    test: { x: test.x, f },
    subspace: { u: target.structure.subspace!, rank: target.structure.subspace!.length / test.x.shape[1] },
    record() {},
  };
  const p = await factory
    .create(factory.options.parse(options))
    .fit(train, { ...makeFitContext(Rng.fromSeed(seed).child('learner')), monitor });
  const r = tf.tidy(() => tf.mean(tf.squaredDifference(p.predict(test.x), f)));
  const risk = (await r.data())[0]!;
  const diagnostics = { ...p.diagnostics };
  tf.dispose([r, f]);
  p.dispose();
  disposeDataset(train);
  disposeDataset(test);
  return { risk, diagnostics };
}

// The native backend (OpenBLAS, LAPACK's eigen-decomposition for the λ grid) when it is built: a
// damian fit here takes ~2 s there against ~17 s on cpu, whose tests get a longer timeout.
const { blas } = loadBlas();
const timeout = blas ? 60_000 : 300_000;
beforeAll(async () => {
  if (blas) await native.create({}).activate();
});
afterAll(async () => {
  await tf.setBackend('cpu');
});

const seeds = [0, 1, 2];

/** 3 standard errors of the difference of two means over `seeds`, from their spreads. */
const tolerance = (a: number[], b: number[]) => 3 * Math.sqrt((sd(a) ** 2 + sd(b) ** 2) / seeds.length);

describe('damian against the authors’ protocol (He₂/√2, noise variance 1, d = 32, n = 2048, width 256)', () => {
  const d = 32;
  const n = 2048;
  const width = 256;
  const target = () => createTarget({ factory: hermite, options: { d, r: 1, degree: 2, noise: 1 } });
  // the defaults before the protocol was followed: a 50/50 split, λ = 1e-3, the linear part kept,
  // unit rows and re-drawn biases
  const old = { split: 0.5, ridge: 1e-3, linearPart: 'keep', normalize: 'rows', biases: 'redraw' };

  it.skipIf(noNumpy)(
    'defaults: test risk within the seed-to-seed spread of the numpy port’s',
    async () => {
      const pending = Promise.all(
        seeds.map((seed) => port('damian', { seed, d, n, width, noise: 1, test: 4096 })),
      );
      const t = target();
      const ours: number[] = [];
      for (const seed of seeds) ours.push((await fitOnce(damian, { width }, t, n, seed)).risk);
      const theirs = (await pending).map((r) => r.risk!);
      // measured (seeds 0–2): ours 0.097, 0.166, 0.085 (mean 0.116, sd 0.044); numpy 0.126, 0.101, 0.103
      // (0.110, sd 0.014). Seed 1's draw is hard at every λ (0.166 at LOO's λ, ≥ 0.166 on a list).
      expect(Math.abs(mean(ours) - mean(theirs))).toBeLessThan(Math.max(tolerance(ours, theirs), 0.02));
    },
    timeout,
  );

  it(
    'reuse + linear removal + tuned λ beat the old defaults; the step aligns with U',
    async () => {
      const t = target();
      const now: number[] = [];
      const before: number[] = [];
      for (const seed of seeds.slice(0, 2)) {
        const a = await fitOnce(damian, { width }, t, n, seed);
        const b = await fitOnce(damian, { width, ...old }, t, n, seed);
        now.push(a.risk);
        before.push(b.risk);
        // the linear part kept, W₁'s top direction is E[yx]'s noise: measured 0.04 against 0.93
        expect(a.diagnostics['first-stage-alignment']).toBeGreaterThan(0.8);
        expect(b.diagnostics['first-stage-alignment']).toBeLessThan(0.5);
      }
      // measured: 0.097, 0.166 against 0.310, 0.518
      expect(mean(now)).toBeLessThan(0.7 * mean(before));
    },
    timeout,
  );
});

describe('damian’s linear-part removal', () => {
  it('adds c₀ + xᵀc₁ back: a target with a linear part, h₁ + h₂ + 0.5 in d = 8, is still fitted', async () => {
    const t = createTarget({
      factory: hermite,
      options: {
        d: 8,
        r: 1,
        terms: [
          { coef: 0.5, alpha: [0] },
          { coef: 1, alpha: [1] },
          { coef: 1, alpha: [2] },
        ],
      },
    });
    const removed = await fitOnce(damian, { width: 64 }, t, 1024, 0);
    const kept = await fitOnce(damian, { width: 64, linearPart: 'keep' }, t, 1024, 0);
    // Var f* = 2; measured: 0.015 removed, 0.065 kept (relu features fit x less well than c₁ does)
    expect(removed.risk).toBeLessThan(0.05);
    expect(removed.risk).toBeLessThan(kept.risk);
  });
});

describe('one-step against Ba et al.’s protocol ((h₁ + h₃)/√2, d = 64, N = 512, tanh, 4096 samples per stage)', () => {
  const d = 64;
  const width = 512;
  const n = 8192; // split 0.5: 4096 for the step (η's n), 4096 fresh ones for the readout
  const eta0 = 20; // Ba et al.'s large step, η ≍ √N
  const target = () =>
    createTarget({
      factory: hermite,
      options: {
        d,
        r: 1,
        terms: [
          { coef: Math.SQRT1_2, alpha: [1] },
          { coef: Math.SQRT1_2, alpha: [3] },
        ],
      },
    });

  it.skipIf(noNumpy)(
    'readout a ~ N(0, 1/N): spike alignment and risk within the spread of the numpy port’s',
    async () => {
      const pending = Promise.all(
        seeds.map((seed) => port('one_step', { seed, d, N: width, n: n / 2, eta0, lam: 1e-3, test: 4096 })),
      );
      const t = target();
      const ours: { alignment: number; risk: number }[] = [];
      for (const seed of seeds) {
        const r = await fitOnce(oneStep, { width, eta0, ridge: 1e-3 }, t, n, seed);
        ours.push({ alignment: r.diagnostics['spike-alignment.1']!, risk: r.risk });
      }
      const theirs = await pending;
      // measured: alignment 0.968, 0.971, 0.972 (numpy 0.961, …); risk 0.39, 0.36, 0.34
      expect(mean(ours.map((o) => o.alignment))).toBeGreaterThan(0.9);
      expect(
        Math.abs(mean(ours.map((o) => o.alignment)) - mean(theirs.map((o) => o.alignment!))),
      ).toBeLessThan(0.03);
      const risks = [ours.map((o) => o.risk), theirs.map((o) => o.risk!)] as const;
      expect(Math.abs(mean(risks[0]) - mean(risks[1]))).toBeLessThan(tolerance(...risks));
    },
    timeout,
  );

  it(
    'f₀ ≈ 0 aligns the spike with u better than the old readout init a ~ N(0, 1)',
    async () => {
      const t = target();
      for (const seed of seeds.slice(0, 2)) {
        const small = await fitOnce(oneStep, { width, eta0, ridge: 1e-3 }, t, n, seed);
        const unit = await fitOnce(oneStep, { width, eta0, ridge: 1e-3, readoutScale: 'unit' }, t, n, seed);
        // measured: alignment 0.968, 0.971 against 0.576, 0.619; risk 0.46, 0.36 against 0.84, 0.71
        expect(small.diagnostics['spike-alignment.1']).toBeGreaterThan(
          unit.diagnostics['spike-alignment.1']! + 0.2,
        );
        expect(small.risk).toBeLessThan(unit.risk);
      }
    },
    timeout,
  );
});

// The programmatic API: an experiment composed in TypeScript, with kinds defined in code.
import { loadBlas } from '@regimes/backend-node';
import { defineTarget, type LearnerFactory, options } from '@regimes/core';
import { silentLogger } from '@regimes/core/testing';
import { learner, randomFeatures } from '@regimes/learners';
import { target } from '@regimes/targets';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { runExperiment } from '../src/index.js';

const cubic = defineTarget({
  name: 'cubic-first-coordinate',
  description: 'f*(x) = x_1³',
  d: 4,
  f: (x) => tf.tidy(() => tf.pow(tf.slice(x, [0, 0], [-1, 1]), 3) as tf.Tensor2D),
  structure: { hermiteEnergy: [0, 9, 0, 6] },
});

describe('runExperiment from @regimes/cli', () => {
  it('takes typed entries and a learner sweep; worker processes give the same rows', async () => {
    const spec = {
      target: target.hermite({ d: 6, degree: 2 }),
      learners: [learner.rf({ width: 64, bias: 0.5, sweep: { ridge: { logspace: [-4, -2, 2] } } })],
      sweep: { n: [64, 128] },
      test: { n: 256 },
    };
    const one = await runExperiment(spec, { log: silentLogger });
    const two = await runExperiment(spec, { log: silentLogger, jobs: 2 });
    expect(one.rows.map((r) => r.key)).toEqual([
      'n=64|rf#0(ridge=0.0001)',
      'n=64|rf#0(ridge=0.01)',
      'n=128|rf#0(ridge=0.0001)',
      'n=128|rf#0(ridge=0.01)',
    ]);
    expect(one.rows.map((r) => r.learner.ridge)).toEqual([1e-4, 1e-2, 1e-4, 1e-2]);
    expect(two.rows.map((r) => [r.key, r.metrics])).toEqual(one.rows.map((r) => [r.key, r.metrics]));
  }, 300_000);

  it('runs a spec object with the default plugins and a target defined in code', async () => {
    const { rows, backend } = await runExperiment(
      {
        target: cubic,
        learners: [{ kind: 'rf', width: 64, activation: 'tanh' }],
        metrics: ['risk', 'normalized-risk'],
        sweep: { n: [32, 1024] },
        test: { n: 512 },
      },
      { log: silentLogger },
    );
    expect(['native', 'wasm']).toContain(backend); // the fastest available by default
    expect(rows.map((r) => r.status)).toEqual(['ok', 'ok']);
    expect(rows[0]!.target).toEqual({ kind: 'cubic-first-coordinate', noise: 0, d: 4 });
    // Var f* = 15 from the given energies: normalized risk is risk/15
    expect(rows[1]!.metrics['normalized-risk']).toBeCloseTo(rows[1]!.metrics.risk! / 15, 6);
    expect(rows[1]!.metrics.risk).toBeLessThan(rows[0]!.metrics.risk!);
  });

  it('accepts a learner factory object in place of a { kind } entry', async () => {
    const halfRf: LearnerFactory = {
      ...randomFeatures,
      kind: 'rf-narrow',
      options: options({}),
      create: () => randomFeatures.create(randomFeatures.options.parse({ width: 8 })),
    };
    const { rows } = await runExperiment(
      { target: { kind: 'hermite', d: 3 }, learners: [halfRf], sweep: { n: [16] }, test: { n: 64 } },
      { log: silentLogger },
    );
    expect(rows[0]).toMatchObject({ status: 'ok', learner: { id: 'rf-narrow#0', kind: 'rf-narrow' } });
  });
});

describe('a list of ridges', () => {
  it('gives one row per λ from one fit, keyed <id>:ridge=λ, and resumes them', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const out = join(mkdtempSync(join(tmpdir(), 'regimes-ridge-')), 'results.jsonl');
    const spec = {
      target: { kind: 'hermite', d: 4, noise: 0.2 },
      learners: [{ kind: 'rf', width: 32, ridge: [1e-4, 1e-1, 10] }],
      sweep: { n: [64] },
      test: { n: 256 },
    };
    // onRow gets every row, its fit's count beside it; onStart counts fits
    const seen: [string, number, number, boolean][] = [];
    const started: number[] = [];
    const { rows } = await runExperiment(spec, {
      log: silentLogger,
      out,
      onStart: (total, resumed) => started.push(total, resumed),
      onRow: (row, done, total, skipped) => seen.push([row.key, done, total, skipped]),
    });
    expect(started).toEqual([1, 0]);
    // the folder gets the spec beside the rows, as from regimes run (report and merge read it)
    const { readFileSync } = await import('node:fs');
    const { dirname } = await import('node:path');
    const copy = JSON.parse(readFileSync(join(dirname(out), 'spec.json'), 'utf8'));
    expect([copy.test, copy.learners[0].ridge]).toEqual([{ n: 256 }, [1e-4, 1e-1, 10]]);
    expect(seen).toEqual(rows.map((r) => [r.key, 1, 1, false]));
    expect(rows.map((r) => r.key)).toEqual([
      'n=64|rf#0:ridge=0.0001',
      'n=64|rf#0:ridge=0.1',
      'n=64|rf#0:ridge=10',
    ]);
    expect(rows.map((r) => r.learner.ridge)).toEqual([1e-4, 0.1, 10]);
    // more ridge, fewer effective degrees of freedom and a larger train risk
    const df = rows.map((r) => r.diagnostics!.df!);
    const train = rows.map((r) => r.diagnostics!['train-risk']!);
    expect(df[0]).toBeGreaterThan(df[1]!);
    expect(df[1]).toBeGreaterThan(df[2]!);
    expect(train[2]).toBeGreaterThan(train[0]!);
    seen.length = 0;
    const again = await runExperiment(spec, {
      log: silentLogger,
      out,
      onRow: (row, done, total, skipped) => seen.push([row.key, done, total, skipped]),
    });
    expect(again.ran).toBe(0);
    expect(again.skipped).toBe(3);
    expect(seen).toEqual(rows.map((r) => [r.key, 1, 1, true]));
  });
});

describe('transfer with too small a source', () => {
  // bad-input: 6
  it("names sourceN, not the cell's n, when the base learner cannot fit the source", async () => {
    const { rows } = await runExperiment(
      {
        target: {
          kind: 'transfer',
          d: 3,
          source: { preset: 'single', degree: 2 },
          destination: { preset: 'single', degree: 3 },
        },
        learners: [{ kind: 'transfer', sourceN: 1, base: { kind: 'one-step', width: 2 } }],
        sweep: { n: [8] },
        test: { n: 64 },
      },
      { log: silentLogger },
    );
    expect(rows[0]!.error).toMatch(
      /^the base learner's fit on the source task \(n = sourceN = 1\): split 0\.5 shares n = 1 sample .*\(for the source fit: raise sourceN\)\)$/,
    );
  });
});

describe('one training sample', () => {
  it('gives the intercept-only fit at λ = 0 and at a huge λ alike (the centred system is 0: its jitter grows from 1e-6)', async () => {
    const { rows } = await runExperiment(
      {
        target: { kind: 'hermite', d: 3, degree: 2 },
        learners: [
          { kind: 'rf', width: 2, ridge: [0, 1e12] },
          { kind: 'ntk', ridge: 0 },
        ],
        sweep: { n: [1] },
        test: { n: 256 },
      },
      { log: silentLogger },
    );
    expect(rows.map((r) => r.status)).toEqual(['ok', 'ok', 'ok']);
    const risks = rows.map((r) => r.metrics.risk!);
    for (const r of risks) expect(r).toBeCloseTo(risks[1]!, 5);
  });
});

describe('training runs in a sweep', () => {
  it('records learning curves in the row, and a diverging run as diverged while the sweep goes on', async () => {
    const { rows, failed } = await runExperiment(
      {
        target: { kind: 'hermite', d: 6, r: 1, degree: 2 },
        learners: [
          { kind: 'nn', id: 'stable', width: 32, steps: 60, lr: 0.2, recordEvery: 20 },
          { kind: 'nn', id: 'wild', width: 32, steps: 60, lr: 1e5, recordEvery: 1, activation: 'quadratic' },
        ],
        metrics: ['risk', 'alignment'],
        sweep: { n: [128, 256] },
        test: { n: 256 },
      },
      { log: silentLogger },
    );
    expect(failed).toBe(2);
    const stable = rows.filter((r) => r.learner.id === 'stable');
    expect(stable.map((r) => r.status)).toEqual(['ok', 'ok']);
    expect(stable[0]!.trace!.map((e) => e.step)).toEqual([0, 20, 40, 60]);
    expect(Object.keys(stable[0]!.trace![0]!).sort()).toEqual([
      'alignment',
      'step',
      'test-risk',
      'train-risk',
    ]);
    const wild = rows.filter((r) => r.learner.id === 'wild');
    for (const row of wild) {
      expect(row.status).toBe('diverged');
      expect(row.error).toMatch(/training diverged at step \d+/);
      expect(row.diagnostics!.step).toBeGreaterThan(0);
      expect(Number.isFinite(row.diagnostics!.lastFiniteLoss)).toBe(true);
      expect(row.trace!.length).toBeGreaterThan(0);
    }
  });
});

describe('deep nets on hierarchical targets in a sweep', () => {
  it('records per-layer fits of the target’s levels in the trace', async () => {
    const { rows } = await runExperiment(
      {
        target: { kind: 'hierarchical', d: 8, k: 2, levels: 2 },
        learners: [{ kind: 'deep', layers: 2, width: 16, steps: 40, recordEvery: 20 }],
        sweep: { n: [128] },
        test: { n: 256 },
      },
      { log: silentLogger },
    );
    const last = rows[0]!.trace!.at(-1)!;
    expect(last.step).toBe(40);
    for (const key of ['level-fit.1', 'level-fit.2', 'alignment', 'test-risk'])
      expect(Number.isFinite(last[key])).toBe(true);
  });
});

describe('a target that is not finite', () => {
  it.each(['z1/0', 'exp(1000*z1)'])(
    '%s is refused as the target’s fault, naming the expression, before any fit',
    async (expression) => {
      const { rows } = await runExperiment(
        {
          target: { kind: 'hermite', d: 4, expression },
          learners: [{ kind: 'rf', width: 16 }],
          sweep: { n: [32] },
          test: { n: 64 },
        },
        { log: silentLogger },
      );
      expect(rows.map((r) => r.status)).toEqual(['error']);
      expect(rows[0]!.error).toMatch(
        new RegExp(`target\\.expression: g = ${expression.replace(/[()*/]/g, '\\$&')} is not finite`),
      );
      expect(rows[0]!.error).not.toMatch(/non-finite predictions/);
    },
  );

  it('a target of code whose labels are not finite is reported as the target’s fault, not the learner’s', async () => {
    const overflow = defineTarget({
      name: 'overflowing',
      description: 'f*(x) = exp(1000 x_1): infinite for most x',
      d: 4,
      f: (x) => tf.tidy(() => tf.exp(tf.mul(tf.slice(x, [0, 0], [-1, 1]), 1000)) as tf.Tensor2D),
    });
    const { rows } = await runExperiment(
      { target: overflow, learners: [{ kind: 'rf', width: 16 }], sweep: { n: [32] }, test: { n: 64 } },
      { log: silentLogger },
    );
    expect(rows.map((r) => r.status)).toEqual(['error']);
    expect(rows[0]!.error).toMatch(/^target overflowing .* gives a non-finite label/);
    expect(rows[0]!.error).not.toMatch(/non-finite predictions/);
  });

  // bad-input: 5
  it.each(['cpu', 'wasm', ...(loadBlas().blas ? ['native'] : [])])(
    '%s: labels of NaN, +∞ and −∞ are found on the backend and blamed on the target, naming the first',
    async (backend) => {
      for (const [value, label] of [
        [NaN, 'NaN'],
        [Infinity, 'Infinity'],
        [-Infinity, '-Infinity'],
      ] as const) {
        // f* = x_1 except at the samples with x_1 > 1, where it is `value`
        const bad = defineTarget({
          name: 'bad-above-one',
          description: `f*(x) = x_1, or ${label} where x_1 > 1`,
          d: 3,
          f: (x) =>
            tf.tidy(() => {
              const x1 = tf.slice(x, [0, 0], [-1, 1]);
              return tf.where(tf.greater(x1, 1), tf.fill(x1.shape, value), x1) as tf.Tensor2D;
            }),
        });
        const { rows } = await runExperiment(
          { target: bad, learners: [{ kind: 'rf', width: 8 }], sweep: { n: [32] }, test: { n: 16 } },
          { log: silentLogger, backend },
        );
        expect(rows.map((r) => r.status)).toEqual(['error']);
        expect(rows[0]!.error).toMatch(
          new RegExp(
            `^target bad-above-one .* gives a non-finite label \\(${label}\\) at training sample \\d+: `,
          ),
        );
      }
    },
  );

  it('a metric that is not finite names its cause: f* at a test point, or the predictions', async () => {
    // sqrt(x1 + 3) is NaN where x1 < −3: not at seed 0's 64 training points, at some of 4096 test points
    const root = defineTarget({
      name: 'root-of-first-coordinate',
      description: 'f*(x) = sqrt(x_1 + 3), undefined where x_1 < −3',
      d: 4,
      f: (x) => tf.tidy(() => tf.sqrt(tf.add(tf.slice(x, [0, 0], [-1, 1]), 3)) as tf.Tensor2D),
    });
    // a test set held whole (up to 8192 points) is read before the fits: the target's fault, at once
    const { rows } = await runExperiment(
      {
        target: root,
        learners: [{ kind: 'rf', width: 16 }],
        sweep: { n: [64] },
        test: { n: 4096 },
      },
      { log: silentLogger },
    );
    expect(rows[0]!.error).toMatch(
      /^target root-of-first-coordinate \{"noise":0,"d":4\} gives a non-finite label \(NaN\) at test sample \d+: /,
    );
    // one drawn by chunks as the metrics read it: found by the metric, and its cause named
    const chunked = await runExperiment(
      {
        target: root,
        learners: [{ kind: 'rf', width: 16 }],
        sweep: { n: [64] },
        test: { n: 8200 },
      },
      { log: silentLogger },
    );
    expect(chunked.rows[0]!.error).toMatch(
      /^metric 'risk' is not finite \(NaN\).*: the target's f\* is not finite at test point \d+ .*change the target$/,
    );
    const nanRf: LearnerFactory = {
      ...randomFeatures,
      kind: 'rf-nan',
      options: options({}),
      create: () => {
        const inner = randomFeatures.create(randomFeatures.options.parse({ width: 8 }));
        return {
          fit: async (train, ctx) => {
            const p = await inner.fit(train, ctx);
            return { ...p, predict: (x) => tf.tidy(() => tf.div(p.predict(x), 0) as tf.Tensor2D) };
          },
        };
      },
    };
    const nan = await runExperiment(
      { target: { kind: 'hermite', d: 3 }, learners: [nanRf], sweep: { n: [16] }, test: { n: 64 } },
      { log: silentLogger },
    );
    expect(nan.rows[0]!.error).toMatch(
      /: the fit produced non-finite predictions \(the first at test point \d+\)$/,
    );
  });
});

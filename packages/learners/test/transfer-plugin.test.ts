// `transfer` resolves its base learner through the registry: a learner published as a plugin outside
// the repository (test/fixtures/frozen-features, loaded from the spec's `plugins:` as a user would)
// serves as the base like a built-in one, its options parsed by its own schema.
import { fileURLToPath } from 'node:url';
import {
  type Dataset,
  defineTarget,
  options,
  planExperiment,
  registerInline,
  type Predictor,
  Registry,
  runExperiment,
  SpecError,
  type Target,
} from '@regimes/core';
import { silentLogger } from '@regimes/core/testing';
import { plugin as backends } from '@regimes/backend-node';
import { plugin as targets } from '@regimes/targets';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { plugin as learners } from '../src/index.js';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const registry = () => Registry.with(targets, learners, backends);

// the mean squared error of the predictor against f*, as a metric defined in code
const mse = {
  kind: 'test-mse',
  description: 'test mean squared error against the noiseless target',
  options: options({}),
  create: () => ({
    async compute(p: Predictor, test: Dataset, target: Target) {
      const v = tf.tidy(() => tf.mean(tf.squaredDifference(p.predict(test.x), target.evaluate(test.x))));
      const out = (await v.data())[0]!;
      v.dispose();
      return out;
    },
  }),
};

const spec = (base: Record<string, unknown>) => ({
  name: 'transfer-plugin-base',
  backend: 'cpu',
  plugins: ['./frozen-features'],
  // destination g(z) = z1 z2 on the source's U: linear in features of Ux, nothing for a constant
  target: {
    kind: 'transfer',
    d: 8,
    r: 2,
    source: { preset: 'sum' as const, degree: 2 },
    destination: { expression: 'z1*z2', normalize: true },
  },
  learners: [{ kind: 'transfer', base, sourceN: 256, ridge: 1e-3 }],
  metrics: [mse],
  sweep: { n: [512] },
  test: { n: 2048 },
});

describe('transfer with a base learner from a plugin', () => {
  it("fits the plugin's representation, with the base's options parsed and recorded", async () => {
    const run = (width: number) =>
      runExperiment(spec({ kind: 'frozen-features', width }), {
        registry: registry(),
        baseDir: fixtures,
        log: silentLogger,
      });
    const wide = await run(256);
    const row = wide.rows[0]!;
    expect(row.status, row.error).toBe('ok');
    expect(row.learner.base).toEqual({ kind: 'frozen-features', width: 256, steps: 50 });
    // one random feature cannot carry z1 z2 (variance 1); 256 of them, fitted by ridge, can
    const narrow = (await run(1)).rows[0]!;
    expect(narrow.status).toBe('ok');
    expect(narrow.metrics['test-mse']).toBeGreaterThan(0.8);
    expect(row.metrics['test-mse']).toBeLessThan(0.5 * narrow.metrics['test-mse']!);
  }, 300_000);

  it("reports a misspelt option of the plugin's kind, and an unknown base kind, at their paths", async () => {
    const problems = async (base: Record<string, unknown>) => {
      try {
        await runExperiment(spec(base), { registry: registry(), baseDir: fixtures, log: silentLogger });
      } catch (error) {
        if (error instanceof SpecError) return error.problems;
        throw error;
      }
      throw new Error('expected a SpecError');
    };
    expect(await problems({ kind: 'frozen-features', widht: 8 })).toEqual([
      expect.stringMatching(/^learners\[0\]\.base: unknown field 'widht' \(did you mean 'width'\?\)/),
    ]);
    // a kernel learner has no features to keep: refused at planning, not as an error row per cell
    expect(await problems({ kind: 'ntk' })).toEqual([
      expect.stringMatching(
        /^learners\[0\]\.base\.kind: learner kind 'ntk' exposes no representation to transfer \(its predictors have no features\); kinds that do: .*\brf\b/,
      ),
    ]);
    expect(await problems({ kind: 'frozen-feature' })).toEqual([
      expect.stringMatching(
        /^learners\[0\]\.base\.kind: unknown learner kind 'frozen-feature' \(did you mean 'frozen-features'\?\)/,
      ),
    ]);
  });

  it('refuses at planning a target kind that declares no source task, and takes one that declares nothing', () => {
    const plan = (target: Record<string, unknown>, reg = registry()) => {
      registerInline(reg, 'metric', mse);
      try {
        planExperiment(
          {
            ...spec({ kind: 'rf', width: 8 }),
            plugins: [],
            metrics: ['test-mse'],
            target: target as never,
          } as never,
          reg,
        );
        return [];
      } catch (error) {
        if (error instanceof SpecError) return error.problems;
        throw error;
      }
    };
    expect(plan({ kind: 'hermite', d: 8 })).toEqual([
      "learners[0].kind: learner kind 'transfer' needs a target with a 'source' task, and target kind 'hermite' gives none; target kinds that do: transfer",
    ]);
    // a target defined in code declares the tasks its structure gives
    const withSource = registry();
    const f = (x: tf.Tensor2D) => tf.sum(x, 1, true) as tf.Tensor2D;
    const source = defineTarget({ name: 'linear', d: 8, f }).create({ noise: 0 }, {} as never);
    registerInline(
      withSource,
      'target',
      defineTarget({ name: 'pair', d: 8, f, structure: { tasks: { source } } }),
    );
    registerInline(withSource, 'target', defineTarget({ name: 'single', d: 8, f }));
    expect(withSource.get('target', 'pair').tasks).toEqual(['source']);
    expect(plan({ kind: 'pair' }, withSource)).toEqual([]);
    expect(plan({ kind: 'single' }, withSource)[0]).toMatch(
      /target kind 'single' gives none; target kinds that do: (pair, transfer|transfer, pair)$/,
    );
    // a kind that declares nothing about its tasks is taken (its fits say what is missing)
    const silent = registry();
    const { tasks: _, ...undeclared } = defineTarget({ name: 'plugin-target', d: 8, f });
    registerInline(silent, 'target', undeclared);
    expect(plan({ kind: 'plugin-target' }, silent)).toEqual([]);
  });
});

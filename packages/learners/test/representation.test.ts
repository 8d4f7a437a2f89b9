// A learner kind's `representation` declaration (what the plan checks a transfer learner's base
// against) agrees with what its fitted predictors do: every built-in kind is fitted on a small
// problem and its predictor's representation() is present exactly where the kind says true.
import { parseOptions, Registry, Rng, type LearnerFactory } from '@regimes/core';
import { createTarget, makeFitContext } from '@regimes/core/testing';
import { transfer } from '@regimes/targets';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { plugin as learners } from '../src/index.js';

// options that keep each fit small (the defaults follow the papers' sizes)
const small: Record<string, Record<string, unknown>> = {
  rf: { width: 16 },
  damian: { width: 16 },
  'one-step': { width: 16 },
  nn: { width: 16, steps: 2 },
  deep: { width: 16, steps: 2 },
  transfer: { base: { kind: 'rf', width: 8 }, sourceN: 32 },
  kernel: { taylor: [0, 1, 0.5] },
  nt: { width: 8 },
  'empirical-ntk': { width: 8 },
  'ntk-dynamics': { steps: 2 },
};

describe('representation: declared as the predictors behave', () => {
  const registry = Registry.with(learners);
  const factories = registry.all('learner') as LearnerFactory[];

  it('every built-in learner kind declares it', () => {
    expect(factories.filter((f) => f.representation === undefined).map((f) => f.kind)).toEqual([]);
  });

  it.each(factories.map((f) => [f.kind, f] as const))(
    '%s',
    async (kind, factory) => {
      const parsed = parseOptions(factory.options, small[kind] ?? {}, kind);
      if (!parsed.ok) throw new Error(parsed.problems.join('; '));
      // a transfer target (a source and a destination task on one U) serves every kind, transfer included
      const target = createTarget(
        { factory: transfer, options: { d: 4, r: 1, source: { degree: 2 }, destination: { degree: 2 } } },
        1,
      );
      const x = tf.randomNormal([48, 4], 0, 1, 'float32', 5) as tf.Tensor2D;
      const train = { x, y: target.evaluate(x) };
      const tasks = target.structure.tasks;
      const ctx = makeFitContext(Rng.fromSeed(3), undefined, registry);
      const predictor = await factory.create(parsed.value).fit(train, tasks ? { ...ctx, tasks } : ctx);
      try {
        expect(typeof predictor.representation === 'function').toBe(factory.representation);
      } finally {
        predictor.dispose();
        tf.dispose([train.x, train.y]);
      }
    },
    120_000,
  );
});

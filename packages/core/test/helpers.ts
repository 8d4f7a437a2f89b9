// A tiny in-test plugin, so core's tests need no other package of ours. It takes ContainerModule and
// z from the inversify and zod packages themselves, as a plugin with its own copies of them would:
// core's own are other instances (the CommonJS bundles its deps/ load), so every test that uses
// this plugin checks that core takes modules and schemas from another copy.
import * as tf from '@tensorflow/tfjs-core';
import { ContainerModule } from 'inversify';
import { z } from 'zod';
import {
  BackendFactory,
  type FitContext,
  LearnerFactory,
  MetricFactory,
  TargetFactory,
} from '../src/contracts/contracts.js';
import { SpecError } from '../src/contracts/errors.js';
import { options } from '../src/contracts/options.js';
import { definePlugin } from '../src/registry/registry.js';
import type { Rng } from '../src/rng/rng.js';
import { randomNormal } from '../src/rng/sampling.js';

/** y = ⟨β, x⟩ with β = (1, 0, ..., 0): a linear target. */
const linearTarget = {
  kind: 'linear',
  description: 'y = x_1, x ~ N(0, I_d)',
  options: options({ d: z.number().int().min(1), noise: z.number().min(0).default(0) }),
  dims: ({ d }: { d: number }) => ({ d, k: 1 }),
  create({ d, noise }: { d: number; noise: number }) {
    const evaluate = (x: tf.Tensor2D) => tf.slice(x, [0, 0], [-1, 1]) as tf.Tensor2D;
    return {
      dim: d,
      outputDim: 1,
      structure: { hermiteEnergy: [0, 1], noiseVariance: noise ** 2 },
      evaluate,
      sample(n: number, rng: Rng) {
        // one tidy: a kernel that fails frees x (error-paths.test.ts)
        return tf.tidy(() => {
          const x = randomNormal(rng.child('x'), n, d);
          const y = tf.add(evaluate(x), randomNormal(rng.child('noise'), n, 1, noise)) as tf.Tensor2D;
          return { x, y };
        });
      },
    };
  },
};

/** Least squares with ridge by gradient-free normal equations on a d×d system. */
export const ridgeLearner = {
  kind: 'ridge',
  description: 'linear ridge regression with a random jitter on the answer, for determinism tests',
  options: options({ lambda: z.number().min(0).default(1e-3), jitter: z.number().default(0) }),
  create({ lambda, jitter }: { lambda: number; jitter: number }) {
    return {
      async fit(train: { x: tf.Tensor2D; y: tf.Tensor2D }, ctx: FitContext) {
        ctx.signal.throwIfAborted();
        const d = train.x.shape[1];
        const beta = tf.tidy(() => {
          const gram = tf.add(
            tf.matMul(train.x, train.x, true, false),
            tf.mul(tf.eye(d), lambda * train.x.shape[0]),
          );
          const rhs = tf.matMul(train.x, train.y, true, false);
          // A few Jacobi-preconditioned Richardson steps are plenty for a well-conditioned d×d system.
          let b = tf.div(rhs, tf.reshape(tf.sum(tf.mul(gram, tf.eye(d)), 1), [d, 1]));
          for (let i = 0; i < 200; i++)
            b = tf.add(
              b,
              tf.div(tf.sub(rhs, tf.matMul(gram, b)), tf.reshape(tf.sum(tf.mul(gram, tf.eye(d)), 1), [d, 1])),
            );
          return tf.add(b, tf.mul(randomNormal(ctx.rng.child('jitter'), d, 1), jitter)) as tf.Tensor2D;
        });
        let features: tf.Tensor2D;
        try {
          features = tf.transpose(beta) as tf.Tensor2D;
        } catch (error) {
          beta.dispose();
          throw error;
        }
        return {
          features,
          predict: (x: tf.Tensor2D) => tf.matMul(x, beta),
          dispose() {
            beta.dispose();
            this.features.dispose();
          },
        };
      },
    };
  },
};

const mseMetric = {
  kind: 'mse',
  description: 'test mean squared error against f*',
  options: options({}),
  create() {
    return {
      compute(
        p: { predict(x: tf.Tensor2D): tf.Tensor2D },
        test: { x: tf.Tensor2D },
        target: { evaluate(x: tf.Tensor2D): tf.Tensor2D },
      ) {
        const v = tf.tidy(() => tf.mean(tf.squaredDifference(p.predict(test.x), target.evaluate(test.x))));
        try {
          return v.dataSync()[0]!;
        } finally {
          v.dispose();
        }
      },
    };
  },
};

const cpuBackend = {
  kind: 'cpu',
  description: 'the tfjs cpu backend the test setup registered',
  priority: 0,
  options: options({}),
  create() {
    return {
      name: 'cpu',
      probe: async () => ({ available: true }),
      activate: async () => {
        await tf.setBackend('cpu');
      },
    };
  },
};

const absentBackend = {
  kind: 'quantum',
  description: 'a backend that is never available',
  priority: 100,
  options: options({}),
  create() {
    return {
      name: 'quantum',
      probe: async () => ({ available: false, reason: 'no quantum computer attached; install one' }),
      activate: async () => {
        throw new Error('unreachable');
      },
    };
  },
};

export const testPlugin = definePlugin({
  name: 'test-plugin',
  version: '0.1.0',
  core: '^0.1.0',
  module: new ContainerModule(({ bind }) => {
    bind(TargetFactory).toConstantValue(linearTarget as never);
    bind(LearnerFactory).toConstantValue(ridgeLearner as never);
    bind(MetricFactory).toConstantValue(mseMetric as never);
    bind(BackendFactory).toConstantValue(cpuBackend as never);
    bind(BackendFactory).toConstantValue(absentBackend as never);
  }),
});

/** The problems of the SpecError `fn` throws (and a failure if it throws none or another error). */
export function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof SpecError) return error.problems;
    throw error;
  }
  throw new Error('expected a SpecError');
}

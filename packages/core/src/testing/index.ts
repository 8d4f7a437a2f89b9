/**
 * @regimes/core/testing — conformance suites that any plugin, ours or a third party's, runs in
 * its own vitest tests. Each registers a `describe` block of checks that every implementation
 * of the contract must pass.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import type {
  BackendFactory,
  Dataset,
  FitContext,
  LearnerFactory,
  MetricFactory,
  Predictor,
  Target,
  TargetFactory,
} from '../contracts/contracts.js';
import { disposeDataset } from '../contracts/contracts.js';
import type { Registry } from '../registry/registry.js';
import { Rng } from '../rng/rng.js';
import { randomNormal } from '../rng/sampling.js';

export interface KindCase<F> {
  readonly factory: F;
  /** Raw options; the factory's schema fills defaults. */
  readonly options?: Record<string, unknown>;
}

export const silentLogger = { debug() {}, info() {}, warn() {} };

/** A fit context as the runner gives one; with a registry, `createLearner` reaches its kinds. */
export function makeFitContext(rng: Rng, signal?: FitContext['signal'], registry?: Registry): FitContext {
  return {
    rng,
    signal: signal ?? new AbortController().signal,
    progress: () => {},
    log: silentLogger,
    ...(registry ? { createLearner: (entry) => registry.createLearner(entry) } : {}),
  };
}

export function createTarget(c: KindCase<TargetFactory>, seed = 0): Target {
  return c.factory.create(c.factory.options.parse(c.options ?? {}), {
    rng: Rng.fromSeed(seed).child('target'),
  });
}

/** Run `fn` and assert that it left the number of live tensors where it found it. */
export async function expectNoLeak<T>(fn: () => T | Promise<T>): Promise<T> {
  const before = tf.memory().numTensors;
  const result = await fn();
  expect(tf.memory().numTensors - before, 'tensors leaked').toBe(0);
  return result;
}

/** A tensor's values, read asynchronously (GPU backends cannot read synchronously in Node). */
async function read(t: tf.Tensor): Promise<Float32Array> {
  return (await t.data()) as Float32Array;
}

export function describeTargetConformance(
  name: string,
  c: KindCase<TargetFactory>,
  settings: { n?: number } = {},
): void {
  const n = settings.n ?? 64;
  describe(`Target conformance: ${name}`, () => {
    it('has a kind, a description and options that parse with defaults', () => {
      expect(c.factory.kind).toMatch(/^[a-z][a-z0-9-]*$/);
      expect(c.factory.description.length).toBeGreaterThan(10);
      expect(() => c.factory.options.parse(c.options ?? {})).not.toThrow();
    });

    it('samples x (n×d) and y (n×k), finite, and frees them', async () => {
      await expectNoLeak(async () => {
        const target = createTarget(c);
        expect(Number.isInteger(target.dim) && target.dim > 0).toBe(true);
        expect(Number.isInteger(target.outputDim) && target.outputDim > 0).toBe(true);
        const data = target.sample(n, Rng.fromSeed(1).child('data'));
        expect(data.x.shape).toEqual([n, target.dim]);
        expect(data.y.shape).toEqual([n, target.outputDim]);
        expect((await read(data.x)).every(Number.isFinite)).toBe(true);
        expect((await read(data.y)).every(Number.isFinite)).toBe(true);
        disposeDataset(data);
      });
    });

    it('draws the same data from the same seed, and other data from another', async () => {
      const draw = async (seed: number) => {
        const data = createTarget(c, seed).sample(n, Rng.fromSeed(seed).child('data'));
        const out = { x: Array.from(await read(data.x)), y: Array.from(await read(data.y)) };
        disposeDataset(data);
        return out;
      };
      expect(await draw(3)).toEqual(await draw(3));
      expect((await draw(3)).x).not.toEqual((await draw(4)).x);
    });

    it('sampleRows, when it has one, gives the rows of one sample, bit for bit (chunks at odd offsets)', async (ctx) => {
      const target = createTarget(c);
      if (!target.sampleRows) return ctx.skip('no sampleRows: the runner draws its test set whole');
      const rng = Rng.fromSeed(5).child('data', 'test');
      await expectNoLeak(async () => {
        const whole = target.sample(n, rng);
        const expected = { x: Array.from(await read(whole.x)), y: Array.from(await read(whole.y)) };
        disposeDataset(whole);
        const got: { x: number[]; y: number[] } = { x: [], y: [] };
        const cuts = [0, 13, 33, n];
        for (let i = 0; i + 1 < cuts.length; i++) {
          const chunk = target.sampleRows!(cuts[i]!, cuts[i + 1]! - cuts[i]!, rng);
          got.x.push(...(await read(chunk.x)));
          got.y.push(...(await read(chunk.y)));
          disposeDataset(chunk);
        }
        expect(got).toEqual(expected);
      });
    });

    it('evaluates f* (n×k) without leaking; labels equal f* when there is no noise', async () => {
      await expectNoLeak(async () => {
        const target = createTarget(c);
        const data = target.sample(n, Rng.fromSeed(2));
        const f = target.evaluate(data.x);
        expect(f.shape).toEqual([n, target.outputDim]);
        if (!target.structure.noiseVariance) {
          const y = await read(data.y);
          (await read(f)).forEach((v, i) => {
            expect(v).toBeCloseTo(y[i]!, 4);
          });
        }
        f.dispose();
        disposeDataset(data);
      });
    });

    it('exposes a structure consistent with its samples (orthonormal U; E[f*²] = Σ‖P_k f*‖²)', async () => {
      const target = createTarget(c);
      const { subspace, subspaceRank, hermiteEnergy, hermiteTail } = target.structure;
      if (subspace) {
        const r = subspaceRank ?? subspace.length / target.dim;
        expect(subspace.length).toBe(r * target.dim);
        for (let i = 0; i < r; i++)
          for (let j = 0; j < r; j++) {
            let dot = 0;
            for (let k = 0; k < target.dim; k++)
              dot += subspace[i * target.dim + k]! * subspace[j * target.dim + k]!;
            expect(dot).toBeCloseTo(i === j ? 1 : 0, 5);
          }
      }
      if (hermiteEnergy) {
        // Monte Carlo with a fixed seed; tolerance 5 standard errors of the mean of f*².
        const m = 20000;
        const x = randomNormal(Rng.fromSeed(9).child('mc'), m, target.dim);
        const f = target.evaluate(x);
        const squares = Array.from(await read(f), (v) => v * v);
        x.dispose();
        f.dispose();
        const mean = squares.reduce((a, b) => a + b, 0) / m;
        const sd = Math.sqrt(squares.reduce((a, b) => a + (b - mean) ** 2, 0) / (m - 1));
        const energy = hermiteEnergy.reduce((a, b) => a + b, 0) + (hermiteTail ?? 0);
        expect(Math.abs(mean - energy)).toBeLessThanOrEqual(5 * (sd / Math.sqrt(m)) + 1e-6);
      }
    });
  });
}

export interface LearnerCase extends KindCase<LearnerFactory> {
  /** The data to fit on. */
  readonly target: KindCase<TargetFactory>;
  readonly n?: number;
  /** For a learner that wraps others (`FitContext.createLearner`): the registry holding their kinds. */
  readonly registry?: Registry;
}

export function describeLearnerConformance(name: string, c: LearnerCase): void {
  const n = c.n ?? 128;
  describe(`Learner conformance: ${name}`, () => {
    const fitOnce = async (seed: number, signal?: AbortSignal) => {
      const target = createTarget(c.target);
      const train = target.sample(n, Rng.fromSeed(0).child('data', 'train'));
      const test = target.sample(32, Rng.fromSeed(0).child('data', 'test'));
      try {
        const learner = c.factory.create(c.factory.options.parse(c.options ?? {}));
        const ctx = makeFitContext(Rng.fromSeed(seed).child('learner'), signal, c.registry);
        const tasks = target.structure.tasks;
        const predictor = await learner.fit(train, tasks ? { ...ctx, tasks } : ctx);
        const prediction = predictor.predict(test.x);
        const out = {
          shape: prediction.shape,
          values: Array.from(await read(prediction)),
          predictor,
          target,
        };
        prediction.dispose();
        return out;
      } finally {
        disposeDataset(train);
        disposeDataset(test);
      }
    };

    it('has a kind, a description and options that parse with defaults', () => {
      expect(c.factory.kind).toMatch(/^[a-z][a-z0-9-]*$/);
      expect(c.factory.description.length).toBeGreaterThan(10);
    });

    it('fits and predicts (n×k, finite), and fit + predict + dispose leaks no tensor', async () => {
      await expectNoLeak(async () => {
        const { shape, values, predictor, target } = await fitOnce(5);
        expect(shape).toEqual([32, target.outputDim]);
        expect(values.every(Number.isFinite)).toBe(true);
        if (predictor.features) expect(predictor.features.shape[1]).toBe(target.dim);
        for (const v of Object.values(predictor.diagnostics ?? {})) expect(typeof v).toBe('number');
        predictor.dispose();
      });
    });

    it('is deterministic given its rng', async () => {
      const a = await fitOnce(7);
      const b = await fitOnce(7);
      a.predictor.dispose();
      b.predictor.dispose();
      expect(a.values).toEqual(b.values);
    });

    it('rejects when its abort signal has fired', async () => {
      const controller = new AbortController();
      controller.abort();
      await expectNoLeak(() => expect(fitOnce(1, controller.signal)).rejects.toThrow());
    });
  });
}

export interface MetricCase extends KindCase<MetricFactory> {
  readonly target: KindCase<TargetFactory>;
  /** A predictor to measure; default: the target's own f* scaled by 0.5. */
  readonly predictor?: (target: Target) => Predictor;
}

export function describeMetricConformance(name: string, c: MetricCase): void {
  describe(`Metric conformance: ${name}`, () => {
    const compute = async () => {
      const target = createTarget(c.target);
      const test: Dataset = target.sample(256, Rng.fromSeed(0).child('data', 'test'));
      const predictor: Predictor = c.predictor?.(target) ?? {
        predict: (x) => tf.tidy(() => tf.mul(target.evaluate(x), 0.5)),
        dispose() {},
      };
      try {
        return await c.factory
          .create(c.factory.options.parse(c.options ?? {}))
          .compute(predictor, test, target, { rng: Rng.fromSeed(0).child('metric') });
      } finally {
        predictor.dispose();
        disposeDataset(test);
      }
    };

    it('has a kind, a description and options that parse with defaults', () => {
      expect(c.factory.kind).toMatch(/^[a-z][a-z0-9-]*$/);
      expect(c.factory.description.length).toBeGreaterThan(10);
    });

    it('returns finite numbers and leaks no tensor', async () => {
      const value = await expectNoLeak(compute);
      const values = typeof value === 'number' ? [value] : Object.values(value);
      expect(values.length).toBeGreaterThan(0);
      for (const v of values) expect(Number.isFinite(v)).toBe(true);
    });

    it('is deterministic', async () => {
      expect(await compute()).toEqual(await compute());
    });
  });
}

function matMulReference(a: Float64Array, b: Float64Array, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p]!;
      for (let j = 0; j < n; j++) out[i * n + j]! += aip * b[p * n + j]!;
    }
  return out;
}

function transpose(a: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j]!;
  return out;
}

/**
 * Backend conformance: the ops learners use agree with float64 references within float32
 * tolerances, memory returns to where it started, and host-drawn data arrive unchanged.
 * An unavailable backend is skipped with its probe's reason in the report.
 */
export function describeBackendConformance(name: string, c: KindCase<BackendFactory>): void {
  describe(`Backend conformance: ${name}`, () => {
    const withBackend = async (skip: (note: string) => void, fn: () => void | Promise<void>) => {
      const backend = c.factory.create(c.factory.options.parse(c.options ?? {}));
      const availability = await backend.probe();
      if (!availability.available)
        return skip(`backend '${c.factory.kind}' unavailable: ${availability.reason}`);
      const previous = tf.getBackend();
      await backend.activate();
      try {
        expect(tf.getBackend()).toBe(backend.name);
        await fn();
      } finally {
        if (previous) await tf.setBackend(previous);
      }
    };

    it('probes without throwing and says why when unavailable', async () => {
      const availability = await c.factory.create(c.factory.options.parse(c.options ?? {})).probe();
      expect(typeof availability.available).toBe('boolean');
      if (!availability.available) expect(availability.reason ?? '').not.toBe('');
    });

    it('computes matMul in all four transpose forms (float32 tolerance 1e-4 relative)', async (ctx) => {
      await withBackend(ctx.skip, async () => {
        const [m, k, n] = [33, 47, 29];
        const rng = Rng.fromSeed(0).child('backend-conformance');
        const a = Float64Array.from(rng.normal(m * k));
        const b = Float64Array.from(rng.normal(k * n));
        const reference = matMulReference(a, b, m, k, n);
        const scale = Math.max(...reference.map(Math.abs));
        await expectNoLeak(async () => {
          for (const [ta, tb] of [
            [false, false],
            [true, false],
            [false, true],
            [true, true],
          ] as const) {
            const at = tf.tensor2d(Float32Array.from(ta ? transpose(a, m, k) : a), ta ? [k, m] : [m, k]);
            const bt = tf.tensor2d(Float32Array.from(tb ? transpose(b, k, n) : b), tb ? [n, k] : [k, n]);
            const product = tf.matMul(at, bt, ta, tb);
            const got = await product.data();
            tf.dispose([at, bt, product]);
            for (let i = 0; i < reference.length; i++)
              expect(Math.abs(got[i]! - reference[i]!)).toBeLessThan(1e-4 * scale);
          }
        });
      });
    });

    it('computes elementwise ops and reductions like float64 Math', async (ctx) => {
      await withBackend(ctx.skip, async () => {
        const values = Rng.fromSeed(1).child('elementwise').normal(1000);
        await expectNoLeak(async () => {
          const x = tf.tensor1d(values);
          const cases: [tf.Tensor, (v: number) => number][] = [
            [tf.relu(x), (v) => Math.max(v, 0)],
            [tf.tanh(x), Math.tanh],
            [tf.exp(x), Math.exp],
            [tf.square(x), (v) => v * v],
          ];
          for (const [t, f] of cases) {
            const got = await t.data();
            values.forEach((v, i) => {
              expect(Math.abs(got[i]! - f(v))).toBeLessThan(1e-5 * Math.max(1, Math.abs(f(v))));
            });
          }
          const sum = tf.sum(x);
          const expected = Array.from(values).reduce((a, b) => a + b, 0);
          expect(Math.abs((await sum.data())[0]! - expected)).toBeLessThan(1e-3);
          tf.dispose([x, sum, ...cases.map(([t]) => t)]);
        });
      });
    });

    it('receives host-drawn data bit for bit', async (ctx) => {
      await withBackend(ctx.skip, async () => {
        const host = Rng.fromSeed(2)
          .child('data')
          .normal(64 * 8);
        const t = randomNormal(Rng.fromSeed(2).child('data'), 64, 8);
        expect(Array.from(await t.data())).toEqual(Array.from(host));
        t.dispose();
      });
    });
  });
}
export * from './reference.js';

/**
 * @regimes/core/testing — conformance suites that any plugin, ours or a third party's, runs in
 * its own vitest tests. Each registers a `describe` block of checks that every implementation
 * of the contract must pass.
 */
import tf from '@regimes/numerics/tfjs';
import { describe, expect, it } from 'vitest';
import semver from 'semver';
import type {
  Backend,
  BackendFactory,
  Dataset,
  FitContext,
  Logger,
  LearnerFactory,
  MetricFactory,
  Predictor,
  Target,
  TargetFactory,
} from '../contracts/contracts.js';
import { disposeDataset } from '../contracts/contracts.js';
import { manifestProblems, type PluginManifest, Registry } from '../registry/registry.js';
import { coreVersion } from '../version.js';
import { Rng } from '../rng/rng.js';
import { randomNormal } from '../rng/sampling.js';
import { matMulReference, transposeReference } from './reference.js';

/**
 * The rules of the contracts, by id: what the conformance suites check. A failing check's
 * message starts with `[rule <id>]` and says the rule, so a plugin author knows what to change.
 * Changing what a rule demands is a breaking change of the contract: it bumps core's major version
 * (and with it the `core` range plugins declare).
 */
export const rules = {
  'setup/backend':
    'the conformance suites need an active tfjs backend: in a vitest setupFiles module, import "@tensorflow/tfjs-backend-cpu" (a devDependency) and `await tf.setBackend("cpu")`',
  'manifest/fields':
    "a plugin's entry exports { name, version, core, module } as default or as `plugin`: name non-empty, version semver, core a semver range of @regimes/core, module an inversify ContainerModule",
  'manifest/core-range': "the manifest's `core` range must include the running @regimes/core",
  'manifest/registers': 'loading the module registers at least one kind, each with a unique name',
  'kind/metadata':
    'a kind is lower-case words joined by hyphens, has a description (over 10 characters) and options that parse with defaults',
  'learner/output-shape':
    "predict(x) for x (n×d) returns n×k, k the target's outputDim, all finite (predictVariance, where present: n×1 or n×k, finite, ≥ 0)",
  'learner/no-leak':
    'fit + predict + dispose leave no tensor behind: fit frees its intermediates (tf.tidy), dispose frees every weight',
  'learner/deterministic': 'two fits with the same rng give the same predictions (every draw from ctx.rng)',
  'learner/abort': 'fit rejects when ctx.signal has fired (check ctx.signal.aborted), freeing what it made',
  'target/shapes': 'sample(n) gives x (n×dim) and y (n×outputDim), finite, and evaluate(x) gives n×outputDim',
  'target/no-leak': 'sample and evaluate leave nothing but their results; disposing those frees all',
  'target/deterministic': 'the same rng draws the same data, another rng other data',
  'target/sample-rows':
    'sampleRows(start, count) gives rows [start, start + count) of sample(N), bit for bit',
  'target/structure':
    "the structure agrees with the samples (orthonormal subspace; E f*² = Σ hermiteEnergy) and the factory's `tasks`, where declared, name structure.tasks",
  'metric/finite': 'compute returns a finite number, or a record of finite numbers, and leaks no tensor',
  'metric/deterministic': 'compute is a function of its inputs and its context rng',
} as const;
/** The id of a contract rule, e.g. `learner/no-leak`. */
export type RuleId = keyof typeof rules;

/** The message of a failed check of `rule`: `[rule id] what the rule demands`, and details. */
export function ruleMessage(rule: RuleId, detail?: string): string {
  return `[rule ${rule}] ${rules[rule]}${detail ? ` (${detail})` : ''}`;
}

/** Fails with rule setup/backend when tfjs has no backend to run on (instead of tfjs's 'No backend found in registry'). */
export function requireBackend(): void {
  let name: string | undefined;
  try {
    name = tf.getBackend();
  } catch {
    name = undefined;
  }
  if (!name)
    throw new Error(
      `${ruleMessage('setup/backend', `registered backends: ${Object.keys(tf.engine().registryFactory).join(', ') || 'none'}`)}. See docs/plugins.md, "Testing a plugin".`,
    );
}

/**
 * A backend of this kind with default options, or the test skipped with its probe's reason (a
 * WebGPU adapter, an addon or a package this machine lacks): `ctx` is the test's context, whose
 * `skip` throws.
 */
export async function backendOrSkip(
  factory: BackendFactory,
  ctx: { skip(note?: string): never },
): Promise<Backend> {
  const backend = factory.create({});
  const availability = await backend.probe();
  if (!availability.available) ctx.skip(`${factory.kind} unavailable: ${availability.reason}`);
  return backend;
}

/** A kind to check: its factory and the raw options to create it with. */
export interface KindCase<F> {
  readonly factory: F;
  /** Raw options; the factory's schema fills defaults. */
  readonly options?: Record<string, unknown>;
}

/** A logger that drops everything, for fit contexts in tests. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {} };

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

/**
 * Every kernel of `backend` counted, and the `failAt`-th call (1-based; 0: none) made to throw
 * `injected at kernel call <k>`; likewise every read of a tensor's values back to the host (the
 * backend's `read` and `readSync`, one count for a read that calls the other), the `failReadAt`-th
 * throwing `injected at read <k>` (a lost device, a failed transfer): for tests that a code path
 * frees its tensors when any kernel or read fails. Set the counts to 0 and `failAt` / `failReadAt`
 * before the work; `restore()` puts the kernels and reads back.
 */
export interface KernelFailures {
  /** Kernel calls counted since the count was last set. */
  calls: number;
  /** The kernel call (1-based) that throws; 0: none. */
  failAt: number;
  /** Reads of values to the host counted since the count was last set. */
  reads: number;
  /** The read (1-based) that throws; 0: none. */
  failReadAt: number;
  /** Puts the backend's kernels and reads back as they were. */
  restore(): void;
}

/** Wraps every kernel and read of `backend` with the counts of `KernelFailures` (above). */
export function injectKernelFailures(backend: string): KernelFailures {
  const wrapped = tf.getKernelsForBackend(backend);
  const device = tf.findBackend(backend) as unknown as Record<'read' | 'readSync', unknown> | null;
  const reads = (['read', 'readSync'] as const).flatMap((method) => {
    const original = device?.[method];
    return typeof original === 'function' ? [{ method, original }] : [];
  });
  const failures: KernelFailures = {
    calls: 0,
    failAt: 0,
    reads: 0,
    failReadAt: 0,
    restore: () => {
      for (const config of wrapped) {
        tf.unregisterKernel(config.kernelName, backend);
        tf.registerKernel(config);
      }
      for (const { method, original } of reads) device![method] = original;
    },
  };
  for (const config of wrapped) {
    tf.unregisterKernel(config.kernelName, backend);
    tf.registerKernel({
      ...config,
      kernelFunc: (args) => {
        if (++failures.calls === failures.failAt)
          throw new Error(`injected at kernel call ${failures.calls}`);
        return config.kernelFunc(args);
      },
    });
  }
  let reading = false; // an async read that calls readSync (cpu's, wasm's) is one read
  for (const { method, original } of reads)
    device![method] = function (this: unknown, ...args: unknown[]) {
      if (reading) return (original as (...a: unknown[]) => unknown).apply(this, args);
      if (++failures.reads === failures.failReadAt) {
        const error = new Error(`injected at read ${failures.reads}`);
        if (method === 'read') return Promise.reject(error);
        throw error;
      }
      reading = true;
      try {
        // an async read has made its synchronous calls when it returns
        return (original as (...a: unknown[]) => unknown).apply(this, args);
      } finally {
        reading = false;
      }
    };
  return failures;
}

/** Rule kind/metadata: the kind's name, description and default options. */
function expectKindMetadata(
  c: KindCase<{ kind: string; description: string; options: { parse(v: unknown): unknown } }>,
): void {
  expect(c.factory.kind, ruleMessage('kind/metadata', `kind '${c.factory.kind}'`)).toMatch(
    /^[a-z][a-z0-9-]*$/,
  );
  expect(c.factory.description.length, ruleMessage('kind/metadata', 'description')).toBeGreaterThan(10);
  expect(
    () => c.factory.options.parse(c.options ?? {}),
    ruleMessage('kind/metadata', 'options'),
  ).not.toThrow();
}

/** The target of a case, created with `seed`'s `target` stream (as the runner does for seed `seed`). */
export function createTarget(c: KindCase<TargetFactory>, seed = 0): Target {
  return c.factory.create(c.factory.options.parse(c.options ?? {}), {
    rng: Rng.fromSeed(seed).child('target'),
  });
}

/**
 * A real AbortSignal that counts a fit's looks at it (`aborted`, `throwIfAborted()`) and fires at
 * look `at`: the conformance suite aborts a fit at several points of its run, not only before it.
 */
export function countingSignal(at: number): {
  /** The signal to hand to the fit. */
  signal: AbortSignal;
  /** How many times it has been looked at so far. */
  looks: () => number;
} {
  const controller = new AbortController();
  const signal = controller.signal;
  const proto = AbortSignal.prototype;
  const aborted = Object.getOwnPropertyDescriptor(proto, 'aborted')!.get!;
  let looks = 0;
  const look = () => {
    if (++looks === at) controller.abort(new DOMException('aborted by the conformance test', 'AbortError'));
  };
  Object.defineProperties(signal, {
    aborted: { get: () => (look(), aborted.call(signal) as boolean), configurable: true },
    throwIfAborted: { value: () => (look(), proto.throwIfAborted.call(signal)), configurable: true },
  });
  return { signal, looks: () => looks };
}

/** Run `fn` and assert that it left the number of live tensors where it found it (the rule named in the failure). */
export async function expectNoLeak<T>(
  fn: () => T | Promise<T>,
  rule: RuleId = 'learner/no-leak',
): Promise<T> {
  const before = tf.memory().numTensors;
  const result = await fn();
  const leaked = tf.memory().numTensors - before;
  expect(leaked, ruleMessage(rule, `${leaked} tensors leaked`)).toBe(0);
  return result;
}

/** A tensor's values, read asynchronously (GPU backends cannot read synchronously in Node). */
async function read(t: tf.Tensor): Promise<Float32Array> {
  return (await t.data()) as Float32Array;
}

/**
 * Registers a vitest `describe` block that checks a target kind against the Target contract
 * (rules kind/metadata, target/shapes, target/no-leak, target/deterministic, target/sample-rows,
 * target/structure). Needs an active tfjs backend (rule setup/backend).
 */
export function describeTargetConformance(
  name: string,
  c: KindCase<TargetFactory>,
  settings: { n?: number } = {},
): void {
  const n = settings.n ?? 64;
  describe(`Target conformance: ${name}`, () => {
    it('has a kind, a description and options that parse with defaults', () => {
      requireBackend();
      expectKindMetadata(c);
    });

    it('samples x (n×d) and y (n×k), finite, and frees them', async () => {
      requireBackend();
      await expectNoLeak(async () => {
        const target = createTarget(c);
        const rule = ruleMessage('target/shapes');
        expect(Number.isInteger(target.dim) && target.dim > 0, `${rule}: dim ${target.dim}`).toBe(true);
        expect(Number.isInteger(target.outputDim) && target.outputDim > 0, `${rule}: outputDim`).toBe(true);
        const data = target.sample(n, Rng.fromSeed(1).child('data'));
        expect(data.x.shape, `${rule}: x`).toEqual([n, target.dim]);
        expect(data.y.shape, `${rule}: y`).toEqual([n, target.outputDim]);
        expect((await read(data.x)).every(Number.isFinite), `${rule}: x finite`).toBe(true);
        expect((await read(data.y)).every(Number.isFinite), `${rule}: y finite`).toBe(true);
        disposeDataset(data);
      }, 'target/no-leak');
    });

    it('draws the same data from the same seed, and other data from another', async () => {
      requireBackend();
      const draw = async (seed: number) => {
        const data = createTarget(c, seed).sample(n, Rng.fromSeed(seed).child('data'));
        const out = { x: Array.from(await read(data.x)), y: Array.from(await read(data.y)) };
        disposeDataset(data);
        return out;
      };
      expect(await draw(3), ruleMessage('target/deterministic')).toEqual(await draw(3));
      expect((await draw(3)).x, ruleMessage('target/deterministic')).not.toEqual((await draw(4)).x);
    });

    it('sampleRows, when it has one, gives the rows of one sample, bit for bit (chunks at odd offsets)', async (ctx) => {
      requireBackend();
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
        expect(got, ruleMessage('target/sample-rows')).toEqual(expected);
      }, 'target/no-leak');
    });

    it('evaluates f* (n×k) without leaking; labels equal f* when there is no noise', async () => {
      requireBackend();
      await expectNoLeak(async () => {
        const target = createTarget(c);
        const data = target.sample(n, Rng.fromSeed(2));
        const f = target.evaluate(data.x);
        expect(f.shape, ruleMessage('target/shapes', 'evaluate')).toEqual([n, target.outputDim]);
        if (!target.structure.noiseVariance) {
          const y = await read(data.y);
          (await read(f)).forEach((v, i) => {
            expect(v, ruleMessage('target/shapes', 'noiseless labels equal f*')).toBeCloseTo(y[i]!, 4);
          });
        }
        f.dispose();
        disposeDataset(data);
      }, 'target/no-leak');
    });

    it('exposes a structure consistent with its samples (orthonormal U; E[f*²] = Σ‖P_k f*‖²)', async () => {
      requireBackend();
      const target = createTarget(c);
      const { subspace, subspaceRank, hermiteEnergy, hermiteTail, tasks } = target.structure;
      if (c.factory.tasks)
        expect(Object.keys(tasks ?? {}).sort(), ruleMessage('target/structure', 'tasks')).toEqual(
          [...c.factory.tasks].sort(),
        );
      if (subspace) {
        const r = subspaceRank ?? subspace.length / target.dim;
        expect(subspace.length, ruleMessage('target/structure', 'subspace size')).toBe(r * target.dim);
        for (let i = 0; i < r; i++)
          for (let j = 0; j < r; j++) {
            let dot = 0;
            for (let k = 0; k < target.dim; k++)
              dot += subspace[i * target.dim + k]! * subspace[j * target.dim + k]!;
            expect(dot, ruleMessage('target/structure', 'U orthonormal')).toBeCloseTo(i === j ? 1 : 0, 5);
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
        expect(Math.abs(mean - energy), ruleMessage('target/structure', 'E f*²')).toBeLessThanOrEqual(
          5 * (sd / Math.sqrt(m)) + 1e-6,
        );
      }
    });
  });
}

/**
 * What {@link describeLearnerConformance} fits: the learner's factory and options, and a target
 * to draw the data from — any `TargetFactory`, e.g. `hermite` from `@regimes/targets`:
 * `{ factory: hermite, options: { d: 6, degree: 2 } }`.
 */
export interface LearnerCase extends KindCase<LearnerFactory> {
  /** The target the training and test data are drawn from. */
  readonly target: KindCase<TargetFactory>;
  /** Training points (default 128; 32 test points). Keep the options small: the suite fits up to 9 times. */
  readonly n?: number;
  /** For a learner that wraps others (`FitContext.createLearner`): the registry holding their kinds. */
  readonly registry?: Registry;
}

/**
 * Registers a vitest `describe` block that checks a learner kind against the Learner contract:
 * its metadata (rule kind/metadata), the prediction's shape and finiteness (learner/output-shape),
 * no tensor left after fit + predict + dispose (learner/no-leak), the same predictions from the
 * same rng (learner/deterministic), and a rejected fit when the abort signal has fired
 * (learner/abort). A failure names the rule (see {@link rules}).
 *
 * Needs an active tfjs backend (rule setup/backend): in the test's setupFiles,
 * `import '@tensorflow/tfjs-backend-cpu'` and `await tf.setBackend('cpu')`.
 *
 * @example
 * ```ts
 * import { describeLearnerConformance } from '@regimes/core/testing';
 * import { hermite } from '@regimes/targets';
 * describeLearnerConformance('fa', {
 *   factory: fa,
 *   options: { width: 16, steps: 40 },
 *   target: { factory: hermite, options: { d: 6, degree: 2 } },
 *   n: 64,
 * });
 * ```
 */
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
        const variance = predictor.predictVariance?.(test.x);
        const out = {
          shape: prediction.shape,
          values: Array.from(await read(prediction)),
          ...(variance
            ? { variance: { shape: variance.shape, values: Array.from(await read(variance)) } }
            : {}),
          predictor,
          target,
        };
        tf.dispose([prediction, ...(variance ? [variance] : [])]);
        return out;
      } finally {
        disposeDataset(train);
        disposeDataset(test);
      }
    };

    it('has a kind, a description and options that parse with defaults', () => {
      requireBackend();
      expectKindMetadata(c);
    });

    it('fits and predicts (n×k, finite), and fit + predict + dispose leaks no tensor', async () => {
      requireBackend();
      await expectNoLeak(async () => {
        const { shape, values, variance, predictor, target } = await fitOnce(5);
        const rule = ruleMessage('learner/output-shape');
        expect(shape, `${rule}: predict(32×${target.dim})`).toEqual([32, target.outputDim]);
        expect(values.every(Number.isFinite), `${rule}: finite`).toBe(true);
        if (variance) {
          expect([[32, 1], shape], `${rule}: predictVariance is n×1 or n×k`).toContainEqual(variance.shape);
          expect(
            variance.values.every((v) => Number.isFinite(v) && v >= 0),
            `${rule}: variances ≥ 0`,
          ).toBe(true);
        }
        if (predictor.features)
          expect(predictor.features.shape[1], `${rule}: features are width×d`).toBe(target.dim);
        for (const v of Object.values(predictor.diagnostics ?? {}))
          expect(typeof v, `${rule}: diagnostics are numbers`).toBe('number');
        predictor.dispose();
      });
    });

    it('is deterministic given its rng', async () => {
      requireBackend();
      const a = await fitOnce(7);
      const b = await fitOnce(7);
      a.predictor.dispose();
      b.predictor.dispose();
      expect(a.values, ruleMessage('learner/deterministic')).toEqual(b.values);
    });

    it('frees everything when its signal fires mid-fit (at its 1st, 2nd, middle and last look)', async () => {
      requireBackend();
      const probe = countingSignal(Infinity);
      (await fitOnce(3, probe.signal)).predictor.dispose();
      const looks = probe.looks();
      for (const at of new Set([1, 2, Math.ceil(looks / 2), looks].filter((k) => k >= 1 && k <= looks))) {
        await expectNoLeak(async () => {
          try {
            (await fitOnce(3, countingSignal(at).signal)).predictor.dispose();
          } catch {
            // aborted: what matters here is what it left behind
          }
        }, 'learner/abort').catch((error: unknown) => {
          throw new Error(`aborted at look ${at} of ${looks}: ${(error as Error).message}`);
        });
      }
    });

    it('rejects when its abort signal has fired', async () => {
      requireBackend();
      const controller = new AbortController();
      controller.abort();
      let rejected = false;
      await expectNoLeak(async () => {
        try {
          const { predictor } = await fitOnce(1, controller.signal);
          predictor.dispose();
        } catch {
          rejected = true;
        }
      });
      expect(rejected, ruleMessage('learner/abort', 'fit resolved although its signal had fired')).toBe(true);
    });
  });
}

/** What {@link describeMetricConformance} measures: the metric, a target, and optionally a predictor. */
export interface MetricCase extends KindCase<MetricFactory> {
  readonly target: KindCase<TargetFactory>;
  /** A predictor to measure; default: the target's own f* scaled by 0.5. */
  readonly predictor?: (target: Target) => Predictor;
}

/**
 * Registers a vitest `describe` block that checks a metric kind against the Metric contract
 * (rules kind/metadata, metric/finite, metric/deterministic) on 256 test points of `c.target`.
 * Needs an active tfjs backend (rule setup/backend).
 */
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
      requireBackend();
      expectKindMetadata(c);
    });

    it('returns finite numbers and leaks no tensor', async () => {
      requireBackend();
      const value = await expectNoLeak(compute, 'metric/finite');
      const values = typeof value === 'number' ? [value] : Object.values(value);
      expect(values.length, ruleMessage('metric/finite', 'no value')).toBeGreaterThan(0);
      for (const v of values) expect(Number.isFinite(v), ruleMessage('metric/finite', String(v))).toBe(true);
    });

    it('is deterministic', async () => {
      requireBackend();
      expect(await compute(), ruleMessage('metric/deterministic')).toEqual(await compute());
    });
  });
}

/**
 * Registers a vitest `describe` block that checks a plugin's manifest: its fields (rule
 * manifest/fields), its core range against the running @regimes/core (manifest/core-range), and
 * that loading it registers at least one kind, none twice (manifest/registers).
 */
export function describePluginConformance(name: string, manifest: unknown): void {
  describe(`Plugin conformance: ${name}`, () => {
    it('exports a manifest with name, version, core and module', () => {
      const problems = manifestProblems(manifest);
      expect(problems, ruleMessage('manifest/fields', problems.join('; '))).toEqual([]);
    });

    it('declares a core range that includes this @regimes/core', () => {
      const range = (manifest as PluginManifest | undefined)?.core;
      const ok =
        typeof range === 'string' && semver.satisfies(coreVersion, range, { includePrerelease: true });
      expect(ok, ruleMessage('manifest/core-range', `core '${String(range)}', running ${coreVersion}`)).toBe(
        true,
      );
    });

    it('registers at least one kind, each once', (ctx) => {
      const range = (manifest as PluginManifest | undefined)?.core;
      if (manifestProblems(manifest).length || !semver.satisfies(coreVersion, String(range)))
        return ctx.skip('the manifest fails manifest/fields or manifest/core-range');
      let kinds = 0;
      let problem = '';
      try {
        const loaded = new Registry().use(manifest as PluginManifest, name);
        kinds = Object.values(loaded.kinds).reduce((sum, list) => sum + list.length, 0);
      } catch (error) {
        problem = (error as Error).message;
      }
      expect(problem, ruleMessage('manifest/registers', problem)).toBe('');
      expect(kinds, ruleMessage('manifest/registers', 'no kind registered')).toBeGreaterThan(0);
    });
  });
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
            const at = tf.tensor2d(
              Float32Array.from(ta ? transposeReference(a, m, k) : a),
              ta ? [k, m] : [m, k],
            );
            const bt = tf.tensor2d(
              Float32Array.from(tb ? transposeReference(b, k, n) : b),
              tb ? [n, k] : [k, n],
            );
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

/**
 * `ntk-dynamics` (dynamics.ts): the recorded risks against a direct numpy port of Lee et al.'s
 * formulas (matrix powers / expm and solves in float64, test/reference/ntk_dynamics.py), t = 0
 * against the initial network, and t = ∞ against kernel ridge as λ → 0.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseKindOptions, Registry, Rng } from '@regimes/core';
import {
  describeLearnerConformance,
  expectNoLeak,
  makeFitContext,
  numpyMissing,
} from '@regimes/core/testing';
import { hermite } from '@regimes/targets';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { deepKernel, network, neuralTangentKernel, ntkDynamics, plugin as learners } from '../src/index.js';
import { deepKernelSpec } from '../src/kinds/ntk.js';

const reference = fileURLToPath(new URL('./reference/ntk_dynamics.py', import.meta.url));
const noNumpy = numpyMissing() !== undefined;

/** n training points of d Gaussian inputs, y = a fixed nonlinear function plus noise; m test points. */
function problem(n: number, m: number, d: number, seed: number) {
  return tf.tidy(() => {
    const x = tf.randomNormal([n + m, 1], 0, 1, 'float32', seed);
    const rest = tf.randomNormal([n + m, d - 1], 0, 1, 'float32', seed + 1);
    const all = tf.concat([x, rest], 1) as tf.Tensor2D;
    const u = tf.slice(all, [0, 0], [-1, 1]);
    const v = tf.slice(all, [0, 1], [-1, 1]);
    const f = tf.add(tf.div(tf.sub(tf.square(u), 1), Math.SQRT2), tf.mul(v, 0.5)) as tf.Tensor2D;
    const noise = tf.concat([tf.randomNormal([n, 1], 0, 0.2, 'float32', seed + 2), tf.zeros([m, 1])]);
    const y = tf.add(f, noise);
    return {
      train: {
        x: tf.slice(all, [0, 0], [n, -1]) as tf.Tensor2D,
        y: tf.slice(y, [0, 0], [n, -1]) as tf.Tensor2D,
      },
      test: {
        x: tf.slice(all, [n, 0], [m, -1]) as tf.Tensor2D,
        f: tf.slice(f, [n, 0], [m, -1]) as tf.Tensor2D,
      },
    };
  });
}

type Entry = { step: number } & Record<string, number>;

async function fitWithTrace(
  options: Record<string, unknown>,
  p: ReturnType<typeof problem>,
  factory = ntkDynamics,
) {
  const trace: Entry[] = [];
  const learner = factory.create(factory.options.parse(options));
  const ctx = {
    ...makeFitContext(Rng.fromSeed(0)),
    monitor: { test: p.test, record: (e: Entry) => trace.push({ ...e }) },
  };
  const predictor = await learner.fit(p.train, ctx);
  return { trace, predictor };
}

const dispose = (p: ReturnType<typeof problem>) => tf.dispose([p.train.x, p.train.y, p.test.x, p.test.f]);

describe('ntk-dynamics', () => {
  it.skipIf(noNumpy)(
    'the recorded train / test risks (mean and random-init variance) equal the numpy port, GD and gradient flow, NTK and NNGP, n = 48 and 300',
    async () => {
      // cpu has no eigen kernel: the host's float64 QL decomposes Θ (n = 300 was past its old Jacobi limit)
      for (const n of [48, 300]) {
        const p = problem(n, 40, 5, 11);
        const cases = [
          { activation: 'relu', layers: 2, lr: 3, flow: 'gd', kernel: 'ntk' },
          { activation: 'erf', layers: 1, lr: 2, flow: 'gradient-flow', kernel: 'nngp', biasVariance: 0.2 },
        ] as const;
        for (const c of cases) {
          const options = { ...c, steps: 400, recordEvery: 100 };
          const zero = await fitWithTrace(options, p);
          const random = await fitWithTrace({ ...options, init: 'random' }, p);
          const o = ntkDynamics.options.parse(options);
          const spec = {
            ...deepKernelSpec(o),
            train: c.kernel === 'nngp' ? ('readout' as const) : ('both' as const),
          };
          const theta = deepKernel(spec, 'ntk');
          const k = deepKernel(spec, 'nngp');
          const config = tf.tidy(() => ({
            theta: theta(p.train.x, p.train.x).arraySync(),
            theta_test: theta(p.test.x, p.train.x).arraySync(),
            k: k(p.train.x, p.train.x).arraySync(),
            k_test: k(p.test.x, p.train.x).arraySync(),
            k_diag: Array.from(tf.sum(tf.mul(k(p.test.x, p.test.x), tf.eye(40)), 1).dataSync()),
            y: p.train.y.arraySync(),
            f: p.test.f.arraySync(),
            lr: c.lr,
            flow: c.flow,
            times: [0, 100, 200, 300, 400, null],
          }));
          const file = join(mkdtempSync(join(tmpdir(), 'ntk-dynamics-')), 'config.json');
          writeFileSync(file, JSON.stringify(config));
          const { stdout } = await promisify(execFile)('python3', [reference, file], { maxBuffer: 1 << 24 });
          const want = JSON.parse(stdout) as {
            train: number;
            test: number;
            var_train: number;
            var_test: number;
            prediction: number[];
          }[];
          expect(zero.trace.map((e) => e.step)).toEqual([0, 100, 200, 300, 400]);
          zero.trace.forEach((e, i) => {
            const w = want[i]!;
            expect(e['train-risk'], `${c.activation} t=${e.step} train`).toBeCloseTo(w.train, 4);
            expect(e['test-risk'], `${c.activation} t=${e.step} test`).toBeCloseTo(w.test, 4);
            expect(random.trace[i]!['train-risk']).toBeCloseTo(w.train + w.var_train, 4);
            expect(random.trace[i]!['test-risk']).toBeCloseTo(w.test + w.var_test, 3);
          });
          // the predictor is the network at t = steps
          const prediction = tf.tidy(() => zero.predictor.predict(p.test.x).dataSync());
          want[4]!.prediction.forEach((v, j) => expect(prediction[j]).toBeCloseTo(v, 3));
          // a random init: the mean network, with eq. 16's variance at t = steps at each point
          // (the risk metrics add it); a zero init has none
          expect(zero.predictor.predictVariance).toBeUndefined();
          const [randomPrediction, variance] = tf.tidy(() => [
            random.predictor.predict(p.test.x).dataSync(),
            random.predictor.predictVariance!(p.test.x).dataSync(),
          ]);
          want[4]!.prediction.forEach((v, j) => expect(randomPrediction![j]).toBeCloseTo(v, 3));
          expect(variance!.length).toBe(40);
          expect(Math.min(...variance!)).toBeGreaterThanOrEqual(0);
          const meanVariance = variance!.reduce((a, v) => a + v, 0) / variance!.length;
          expect(meanVariance, `${c.activation} mean Var f_400`).toBeCloseTo(want[4]!.var_test, 3);
          // t = ∞ (the interpolant; the train risk is 0 up to float32). At n = 300 Θ has eigenvalues
          // below the limit's cutoff (λ_max·n·1e-6, what float32 resolves), which numpy inverts
          if (n === 48) {
            const limit = zero.predictor.diagnostics!;
            expect(limit['limit-test-risk']!).toBeCloseTo(want[5]!.test, 3);
            expect(want[5]!.train).toBeLessThan(1e-8);
            expect(limit['limit-train-risk']!).toBeLessThan(1e-3);
          }
          zero.predictor.dispose();
          random.predictor.dispose();
        }
        dispose(p);
      }
    },
  );

  it('t = 0 is the initial network: f₀ ≡ 0 (zero init), or the prior variance K(x, x) added (random init)', async () => {
    const p = problem(32, 24, 4, 3);
    const options = { activation: 'tanh', layers: 2, steps: 0 };
    const zero = await fitWithTrace(options, p);
    const random = await fitWithTrace({ ...options, init: 'random' }, p);
    const [meanY2, meanF2, prior] = tf.tidy(() => {
      const k = deepKernel(deepKernelSpec(ntkDynamics.options.parse(options)), 'nngp');
      return [
        tf.mean(tf.square(p.train.y)).dataSync()[0]!,
        tf.mean(tf.square(p.test.f)).dataSync()[0]!,
        [p.train.x, p.test.x].map(
          (x) => tf.mean(tf.sum(tf.mul(k(x, x), tf.eye(x.shape[0])), 1)).dataSync()[0]!,
        ),
      ];
    });
    expect(zero.trace).toHaveLength(1);
    expect(zero.trace[0]!['train-risk']).toBeCloseTo(meanY2, 5);
    expect(zero.trace[0]!['test-risk']).toBeCloseTo(meanF2, 5);
    expect(random.trace[0]!['train-risk']).toBeCloseTo(meanY2 + prior[0]!, 4);
    expect(random.trace[0]!['test-risk']).toBeCloseTo(meanF2 + prior[1]!, 4);
    // the predictor at t = 0 is f₀ ≡ 0
    const f0 = tf.tidy(() => zero.predictor.predict(p.test.x).dataSync());
    expect(Math.max(...Array.from(f0, Math.abs))).toBeLessThan(1e-6);
    zero.predictor.dispose();
    random.predictor.dispose();
    dispose(p);
  });

  it('t = ∞ is kernel ridge with λ → 0 (ntk with ridge 1e-7), and GD at large t approaches it', async () => {
    const p = problem(40, 30, 6, 7);
    const options = { activation: 'relu', layers: 3, weightVariance: 2, biasVariance: 0.1 };
    const dynamics = ntkDynamics.create(
      ntkDynamics.options.parse({ ...options, at: 'infinity', flow: 'gradient-flow' }),
    );
    const late = ntkDynamics.create(ntkDynamics.options.parse({ ...options, steps: 200_000, lr: 0.3 }));
    const ridge = neuralTangentKernel.create(
      neuralTangentKernel.options.parse({ ...options, ridge: 1e-7, intercept: false }),
    );
    const ctx = makeFitContext(Rng.fromSeed(0));
    const [a, b, c] = [
      await dynamics.fit(p.train, ctx),
      await late.fit(p.train, ctx),
      await ridge.fit(p.train, ctx),
    ];
    const [fa, fb, fc] = tf.tidy(() => [a, b, c].map((q) => Array.from(q.predict(p.test.x).dataSync())));
    const scale = Math.sqrt(fc!.reduce((s, v) => s + v * v, 0) / fc!.length);
    const gap = (u: number[], v: number[]) => Math.max(...u.map((x, i) => Math.abs(x - v[i]!))) / scale;
    expect(gap(fa!, fc!)).toBeLessThan(2e-3);
    expect(gap(fb!, fa!)).toBeLessThan(2e-2);
    for (const q of [a, b, c]) q.dispose();
    dispose(p);
  });

  it('frees everything with a random init and a monitor, fitted or aborted between two records', async () => {
    const p = problem(24, 16, 4, 2);
    const options = { init: 'random', steps: 40, recordEvery: 10 };
    // a full fit (the diagonal of M leaked one tensor per fit)
    await expectNoLeak(async () => (await fitWithTrace(options, p)).predictor.dispose());
    // aborted at its second look at the signal: after the monitor's tensors exist
    for (const at of [1, 2, 3]) {
      const controller = new AbortController();
      let looks = 0;
      const signal = controller.signal;
      const throwIfAborted = signal.throwIfAborted.bind(signal);
      signal.throwIfAborted = () => {
        if (++looks === at) controller.abort(new Error('stop'));
        throwIfAborted();
      };
      const learner = ntkDynamics.create(ntkDynamics.options.parse(options));
      const ctx = {
        ...makeFitContext(Rng.fromSeed(0), signal),
        monitor: { test: p.test, record: () => {} },
      };
      await expectNoLeak(() => expect(learner.fit(p.train, ctx)).rejects.toThrow('stop'));
    }
    dispose(p);
  });

  it('refuses a train option that kernel: nngp overrides, and takes the one it implies', () => {
    const registry = Registry.with(learners);
    const parse = (raw: Record<string, unknown>) =>
      parseKindOptions(registry, 'learner', 'ntk-dynamics', raw, 'learners[0]');
    expect(parse({ kernel: 'nngp', train: 'first' })).toEqual({
      ok: false,
      problems: [
        'learners[0].train: has no effect under kernel: nngp, where the readout alone trains (train: readout); remove it',
      ],
    });
    expect(parse({ kernel: 'nngp', train: 'readout' }).ok).toBe(true);
    expect(parse({ kernel: 'nngp' }).ok).toBe(true);
    expect(parse({ kernel: 'ntk', train: 'first' }).ok).toBe(true);
  });

  it('says how to fix a learning rate GD cannot take, and frees what it built', async () => {
    const p = problem(20, 4, 3, 1);
    const learner = ntkDynamics.create(ntkDynamics.options.parse({ lr: 1000 }));
    await expectNoLeak(() =>
      expect(learner.fit(p.train, makeFitContext(Rng.fromSeed(0)))).rejects.toThrow(/needs lr </),
    );
    dispose(p);
  });
});

describe('ntk-dynamics against trained networks', () => {
  it('nn (NTK parametrization, f₀ ≡ 0, full-batch GD) tracks the predicted test risk at early times, closer the wider', async () => {
    const d = 8;
    const p = problem(64, 100, d, 5);
    const options = { activation: 'relu', steps: 100, recordEvery: 25 };
    const predicted = await fitWithTrace({ ...options, lr: 1 }, p);
    const deviation = async (width: number) => {
      const net = await fitWithTrace(
        {
          ...options,
          width,
          parametrization: 'ntk',
          symmetric: true,
          outputBias: false,
          optimizer: 'gd',
          lr: { first: 1 / d, readout: 1 },
        },
        p,
        network,
      );
      net.predictor.dispose();
      return Math.max(
        ...net.trace
          .slice(1)
          .map((e, i) => Math.abs(e['test-risk']! / predicted.trace[i + 1]!['test-risk']! - 1)),
      );
    };
    const [narrow, wide] = [await deviation(64), await deviation(1024)];
    console.log(
      `largest relative test-risk gap to the prediction over t ≤ 100: N=64 ${narrow.toFixed(4)}, N=1024 ${wide.toFixed(4)}`,
    );
    // a finite net is the linearised infinite one up to its kernel's Monte-Carlo error: ‖Θ̂ − Θ‖/‖Θ‖
    // ≈ 2.5–3/√N (empirical-ntk.test.ts), so the risk's relative gap is allowed 4/√N (0.125 at 1024)
    expect(wide).toBeLessThan(4 / Math.sqrt(1024));
    expect(wide).toBeLessThan(narrow);
    predicted.predictor.dispose();
    dispose(p);
  });
});

describeLearnerConformance('ntk-dynamics (relu, L = 2, 200 steps)', {
  factory: ntkDynamics,
  options: { layers: 2, steps: 200, lr: 2 },
  target: { factory: hermite, options: { d: 5, degree: 2, noise: 0.1 } },
  n: 64,
});

describeLearnerConformance('ntk-dynamics (random init: predictVariance)', {
  factory: ntkDynamics,
  options: { steps: 100, lr: 2, init: 'random' },
  target: { factory: hermite, options: { d: 5, degree: 2, noise: 0.1 } },
  n: 64,
});

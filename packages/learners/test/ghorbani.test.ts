/**
 * Ghorbani, Mei, Misiakiewicz & Montanari 2019 scaled down: RF and NT with σ = z² on the quadratic
 * target against the exact population risks of their own seeded first layer (a numpy port,
 * test/reference/ghorbani_population.py), the closed forms the plots draw against the same port,
 * RF > NT > NN below N = d; and nn's protocol options (scalar readout, online samples, end-decay).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { disposeDataset, type LearnerFactory, Rng, type TheoryContext } from '@regimes/core';
import { createTarget, expectNoLeak, makeFitContext, numpyMissing } from '@regimes/core/testing';
import { quadratic } from '@regimes/targets';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  activation,
  drawFirstLayer,
  forward,
  gradients,
  initTwoLayer,
  network,
  networkOptions,
  neuralTangent,
  randomFeatures,
  type TwoLayer,
} from '../src/index.js';
import { quadraticPopulationRisk, quadraticWidthTheory } from '../src/readout/quadratic-theory.js';
import { Batches } from '../src/training/samples.js';
import { scheduleFactor } from '../src/training/schedules.js';

const reference = fileURLToPath(new URL('./reference/ghorbani_population.py', import.meta.url));
const noNumpy = numpyMissing();

async function python<T>(config: unknown): Promise<T> {
  const { stdout } = await promisify(execFile)('python3', [reference, JSON.stringify(config)], {
    maxBuffer: 1 << 24,
  });
  return JSON.parse(stdout) as T;
}
const port = (w: number[][], b: number[][]) =>
  python<{ rf: number; nt: number; nn: number; variance: number }>({ w, b });

const d = 16;
const targetCase = { factory: quadratic, options: { d, spectrum: 'ghorbani' } };

/** B = diag(λ) of the `ghorbani` spectrum (V = I), as rows. */
function matrixB(eigenvalues: readonly number[]): number[][] {
  return eigenvalues.map((l, i) => eigenvalues.map((_, j) => (i === j ? l : 0)));
}

/** Normalized test risk (and its SE) of one fit on n fresh samples. */
async function fitRisk(factory: LearnerFactory, options: Record<string, unknown>, n: number, seed: number) {
  const target = createTarget(targetCase);
  const train = target.sample(n, Rng.fromSeed(seed).child('train'));
  const test = target.sample(8000, Rng.fromSeed(seed).child('test'));
  const ctx = makeFitContext(Rng.fromSeed(seed).child('learner'));
  const p = await factory.create(factory.options.parse(options)).fit(train, ctx);
  const f = target.evaluate(test.x);
  const errors = tf.tidy(() => tf.squaredDifference(p.predict(test.x), f));
  const e = Array.from(await errors.data());
  tf.dispose([errors, f]);
  p.dispose();
  disposeDataset(train);
  disposeDataset(test);
  const mean = e.reduce((a, b) => a + b, 0) / e.length;
  const se = Math.sqrt(e.reduce((a, b) => a + (b - mean) ** 2, 0) / (e.length - 1) / e.length);
  return { risk: mean, se, w: drawFirstLayer(ctx.rng.child('init'), { ...options, bias: 0 } as never, d) };
}

describe('RF and NT with σ = z² on the quadratic target (Ghorbani et al. 2019)', () => {
  const eigenvalues = createTarget(targetCase).structure.details!.eigenvalues as number[];
  const variance = 2 * eigenvalues.reduce((s, l) => s + l * l, 0);

  it.skipIf(noNumpy)(
    'measure the exact population risk of their own W (numpy), and RF > NT > NN below N = d',
    async () => {
      for (const width of [4, 8, 12]) {
        const options = { width, activation: 'quadratic', weights: 'gaussian', ridge: 1e-6 };
        const rf = await fitRisk(randomFeatures, options, 4000, width);
        const nt = await fitRisk(neuralTangent, options, 6000, width);
        const [wRf, wNt] = [rf.w.w.arraySync(), nt.w.w.arraySync()];
        tf.dispose([rf.w.w, nt.w.w]);
        const exactRf = await port(wRf, matrixB(eigenvalues));
        const exactNt = await port(wNt, matrixB(eigenvalues));
        // finite n: least squares on p features costs about risk·p/(n − p) more than the population
        // risk; 3 SE for the test set
        const excess = (risk: number, p: number, n: number) => (risk * p) / (n - p);
        const slack = (fit: { se: number }, exact: number, p: number, n: number) =>
          3 * fit.se + 2 * excess(exact, p, n) + 0.005 * variance;
        console.log(
          `N=${width}: RF ${(rf.risk / variance).toFixed(4)} ± ${(rf.se / variance).toFixed(4)} (numpy ${(exactRf.rf / variance).toFixed(4)}), NT ${(nt.risk / variance).toFixed(4)} ± ${(nt.se / variance).toFixed(4)} (numpy ${(exactNt.nt / variance).toFixed(4)}), NN best ${(exactNt.nn / variance).toFixed(4)}`,
        );
        expect(Math.abs(rf.risk - exactRf.rf)).toBeLessThan(slack(rf, exactRf.rf, width + 1, 4000));
        expect(Math.abs(nt.risk - exactNt.nt)).toBeLessThan(slack(nt, exactNt.nt, width * d, 6000));
        // the gaps of the paper, on the exact risks of this W
        expect(exactNt.rf).toBeGreaterThan(exactNt.nt + 0.1 * variance);
        expect(exactNt.nt).toBeGreaterThan(exactNt.nn + 0.1 * variance);
        // NN's best rank-N fit is exact
        const closedNn = quadraticPopulationRisk('nn', { d, eigenvalues, linear: 0 }, width, {
          intercept: true,
        });
        expect(Math.abs(closedNn - exactNt.nn) / variance).toBeLessThan(1e-9);
      }
    },
    300_000,
  );

  type Means = Record<
    string,
    { rf: number; rf_se: number; nt: number; nt_se: number; nt_plain: number; nt_plain_se: number }
  >;
  /** The closed forms at each width against the numpy means, normalized; `rfSlack` for RF's (a large-d form). */
  function compare(
    form: { d: number; eigenvalues: number[]; linear: number },
    exact: Means,
    rfSlack: number,
  ) {
    const v = 2 * form.eigenvalues.reduce((s, l) => s + l * l, 0);
    for (const [width, e] of Object.entries(exact)) {
      const at = (model: 'rf' | 'nt', intercept: boolean) =>
        quadraticPopulationRisk(model, form, Number(width), { intercept }) / v;
      const [rf, nt, plain] = [at('rf', true), at('nt', true), at('nt', false)];
      console.log(
        `d=${form.d} N=${width}: RF closed ${rf.toFixed(4)} numpy ${e.rf.toFixed(4)} ± ${e.rf_se.toFixed(4)}; NT ${nt.toFixed(4)} vs ${e.nt.toFixed(4)} ± ${e.nt_se.toFixed(4)}; NT without intercept ${plain.toFixed(4)} vs ${e.nt_plain.toFixed(4)} ± ${e.nt_plain_se.toFixed(4)}`,
      );
      expect(Math.abs(rf - e.rf), `RF at N = ${width}`).toBeLessThan(3 * e.rf_se + rfSlack);
      // NT's forms are exact means: 3.5 SE (and rounding where every draw gives the same risk)
      expect(Math.abs(nt - e.nt), `NT at N = ${width}`).toBeLessThan(3.5 * e.nt_se + 1e-9);
      expect(Math.abs(plain - e.nt_plain), `NT without intercept at N = ${width}`).toBeLessThan(
        3.5 * e.nt_plain_se + 1e-9,
      );
    }
  }

  /** The `ghorbani` B of seed `seed` at dimension d, and numpy's means over `draws` random W (that seed too). */
  async function averages(d: number, seed: number, widths: number[], draws: number) {
    const lambda = createTarget({ factory: quadratic, options: { d, spectrum: 'ghorbani' } }, seed).structure
      .details!.eigenvalues as number[];
    const exact = await python<Means>({ average: { b: matrixB(lambda), widths, draws, seed } });
    return { lambda, exact };
  }

  it.skipIf(noNumpy)(
    'closed forms against the numpy mean of the exact risks over 12 random W at d = 40, N up to D = d(d+1)/2',
    async () => {
      const { lambda, exact } = await averages(40, 1, [10, 20, 30, 60, 160, 400, 820], 12);
      // RF's form is for large d: within 0.011 of the normalized risk here (where its first-order
      // form, (1 − 2N/d²)₊ and 1/(1 + ρ), was 0.027 off at N = 400 and 0.027 at N = 820, where the
      // span is complete and the risk 0)
      compare({ d: 40, eigenvalues: lambda, linear: 0 }, exact, 0.012);
    },
    120_000,
  );

  it.skipIf(noNumpy)(
    'NT’s closed forms are exact means at small d (least squares over S per W, 400 random W at d = 6)',
    async () => {
      const { lambda, exact } = await averages(6, 2, [1, 2, 3, 5, 6, 9, 21], 400);
      // past N = d the floor without the intercept stays at 2(tr B)²/(d + 2); (tr B)²/(N + 2) kept falling
      const form = { d: 6, eigenvalues: lambda, linear: 0 };
      const trace = lambda.reduce((s, l) => s + l, 0);
      expect(quadraticPopulationRisk('nt', form, 9, { intercept: false })).toBeCloseTo(
        (2 * trace * trace) / 8,
        12,
      );
      expect(quadraticPopulationRisk('rf', form, 21, { intercept: true })).toBe(0); // the span is complete
      compare(form, exact, 0.06);
    },
    120_000,
  );

  it('draws the curves against the width only for σ = z² on a quadratic target', () => {
    const target = createTarget(targetCase);
    const context: TheoryContext = {
      xKey: 'learners.width',
      xs: [4, 16, 24],
      metric: 'normalized-risk',
      target: { kind: 'quadratic', d, spectrum: 'ghorbani' },
      rng: Rng.fromSeed(0).child('target'),
      targetStructure: () => ({ dim: target.dim, structure: target.structure }),
    };
    const o = { activation: 'quadratic', bias: 0, intercept: true };
    const [nt] = quadraticWidthTheory('nt', o, context);
    expect(nt!.points[0]).toEqual({ x: 4, y: expect.any(Number) });
    expect(nt!.points.find((p) => p.x === d)!.y).toBe(0); // NT reaches 0 at N = d
    expect(nt!.points.at(-1)!.x).toBe(24);
    expect(quadraticWidthTheory('rf', { ...o, activation: 'relu' }, context)).toEqual([]);
    expect(quadraticWidthTheory('rf', o, { ...context, xKey: 'n' })).toEqual([]);
    expect(quadraticWidthTheory('nn', o, { ...context, target: { kind: 'hermite' } })).toEqual([]);
    // scalar readout: one sign; a B with eigenvalues 3, −2, 1 at N = 1 keeps 3 and loses 4 + 1
    const mixed = { d: 3, eigenvalues: [3, -2, 1], linear: 0 };
    expect(quadraticPopulationRisk('nn', mixed, 1, { intercept: true, scalar: true })).toBe(10);
    expect(quadraticPopulationRisk('nn', mixed, 2, { intercept: true, scalar: true })).toBe(8);
    expect(quadraticPopulationRisk('nn', mixed, 2, { intercept: true })).toBe(2);
  });
});

describe("nn's protocol options (Ghorbani et al.)", () => {
  it('end-decay: lr/10 for the last 30k of 10⁵ steps, lr/15 for the last 15k', () => {
    const { decay } = networkOptions.parse({});
    const at = (step: number) => scheduleFactor('end-decay', step, 100_000, { every: 1000, decay });
    expect([0, 69_999, 70_000, 84_999, 85_000, 99_999].map(at)).toEqual([1, 1, 0.1, 0.1, 1 / 15, 1 / 15]);
    const custom = [{ from: 0.5, factor: 0.5 }];
    expect(scheduleFactor('end-decay', 49, 100, { every: 1, decay: custom })).toBe(1);
    expect(scheduleFactor('end-decay', 50, 100, { every: 1, decay: custom })).toBe(0.5);
    expect(networkOptions.safeParse({ samples: 'online' }).success).toBe(false); // gd has no batches
    expect(networkOptions.safeParse({ readout: 'scalar', symmetric: true }).success).toBe(false);
  });

  it('online samples: fresh draws of the target from the fit’s stream, one per step', async () => {
    const target = createTarget(targetCase);
    const data = target.sample(8, Rng.fromSeed(5).child('train'));
    const rng = Rng.fromSeed(5).child('learner');
    const batches = new Batches(data, { optimizer: 'sgd', batchSize: 32, samples: 'online' }, rng, target);
    for (const step of [1, 2]) {
      const { batch, release } = batches.take(step);
      const expected = target.sample(32, rng.child('online', step));
      expect(batch.x.shape).toEqual([32, d]);
      expect(Array.from(batch.x.dataSync())).toEqual(Array.from(expected.x.dataSync()));
      expect(Array.from(batch.y.dataSync())).toEqual(Array.from(expected.y.dataSync()));
      release();
      disposeDataset(expected);
    }
    const [one, two] = [batches.take(1), batches.take(2)];
    expect(Array.from(one.batch.x.dataSync())).not.toEqual(Array.from(two.batch.x.dataSync()));
    one.release();
    two.release();
    disposeDataset(data);
    expect(() => new Batches(data, { optimizer: 'sgd', batchSize: 4, samples: 'online' }, rng)).toThrow(
      /samples: online/,
    );
  });

  it('an online run is the same for a seed and differs across seeds', async () => {
    const target = createTarget(targetCase);
    const options = networkOptions.parse({
      width: 8,
      activation: 'quadratic',
      parametrization: 'mean-field',
      readout: 'scalar',
      optimizer: 'sgd',
      batchSize: 50,
      samples: 'online',
      steps: 60,
      lr: 0.01,
      schedule: 'end-decay',
    });
    const probe = target.sample(64, Rng.fromSeed(9).child('probe'));
    const train = target.sample(16, Rng.fromSeed(9).child('train'));
    const run = async (seed: number) =>
      expectNoLeak(async () => {
        const p = await network
          .create(options)
          .fit(train, { ...makeFitContext(Rng.fromSeed(seed).child('learner')), target });
        const out = tf.tidy(() => p.predict(probe.x));
        const values = Array.from(await out.data());
        out.dispose();
        p.dispose();
        return values;
      });
    const [a, b, c] = [await run(1), await run(1), await run(2)];
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    await expect(network.create(options).fit(train, makeFitContext(Rng.fromSeed(1)))).rejects.toThrow(
      /FitContext.target|samples: online/,
    );
    disposeDataset(probe);
    disposeDataset(train);
  });

  it('scalar readout: one a, initialised at 0 (f₀ = c = 0)', () => {
    const p = initTwoLayer(
      Rng.fromSeed(4),
      { width: 6, bias: 0, symmetric: false, outputBias: true, readout: 'scalar' },
      5,
      1,
      1,
    );
    expect(p.shared).toBe(true);
    expect(p.a.shape).toEqual([1, 1]);
    expect(Array.from(p.a.dataSync())).toEqual([0]);
    expect(p.w.shape).toEqual([6, 5]);
    const f = tf.tidy(() => forward(p, tf.ones([3, 5]), activation('quadratic'), 1));
    expect(Array.from(f.dataSync())).toEqual([0, 0, 0]);
    tf.dispose([f, p.w, p.a, p.c!]);
  });

  it('scalar readout: gradients match central finite differences of a float64 reference', () => {
    const [n, dim, width, s] = [5, 3, 4, 0.7];
    const rng = Rng.fromSeed(3);
    const normal = (name: string, m: number) => Array.from(rng.child(name).normal(m, new Float64Array(m)));
    const w = normal('w', width * dim);
    const x = normal('x', n * dim);
    const y = normal('y', n);
    const [a, c] = [[0.4], [0.3]];
    /** mean (f − y)² with f = s·a·Σ_j (⟨w_j, x⟩)² + c, in float64. */
    const loss = (p: { w: number[]; a: number[]; c: number[] }) => {
      let total = 0;
      for (let i = 0; i < n; i++) {
        let sum = 0;
        for (let j = 0; j < width; j++) {
          let z = 0;
          for (let k = 0; k < dim; k++) z += p.w[j * dim + k]! * x[i * dim + k]!;
          sum += z * z;
        }
        total += (s * p.a[0]! * sum + p.c[0]! - y[i]!) ** 2;
      }
      return total / n;
    };
    const params: TwoLayer = {
      w: tf.tensor2d(w, [width, dim]),
      b: undefined,
      a: tf.tensor2d(a, [1, 1]),
      c: tf.tensor2d(c, [1, 1]),
      shared: true,
    };
    const g = tf.tidy(() => {
      const r = gradients(
        params,
        tf.tensor2d(x, [n, dim]),
        tf.tensor2d(y, [n, 1]),
        activation('quadratic'),
        s,
        'mse',
      );
      return { w: r.w.arraySync().flat(), a: r.a.arraySync().flat(), c: r.c!.arraySync().flat() };
    });
    tf.dispose([params.w, params.a, params.c!]);
    const h = 1e-6;
    for (const key of ['w', 'a', 'c'] as const) {
      const base = { w, a, c };
      expect(g[key]).toHaveLength(base[key].length);
      base[key].forEach((_, idx) => {
        const shift = (delta: number) => ({
          ...base,
          [key]: base[key].map((v, k) => (k === idx ? v + delta : v)),
        });
        const numeric = (loss(shift(h)) - loss(shift(-h))) / (2 * h);
        expect(Math.abs(g[key][idx]! - numeric)).toBeLessThan(1e-3 * Math.max(1, Math.abs(numeric)));
      });
    }
  });
});

// The two ridge solvers (a Cholesky per λ; one eigen-decomposition for every λ) against each other
// and against float64 closed forms, on kernels whose spectrum is set exactly.
import { disposeDataset, RegimesError, Rng } from '@regimes/core';
import {
  createTarget,
  expectNoLeak,
  makeFitContext,
  orthonormalColumns,
  relativeError,
} from '@regimes/core/testing';
import { loadBlas, native } from '@regimes/backend-node';
import { hermite } from '@regimes/targets';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  dualSystem,
  eigenPays,
  fitRidge,
  neuralTangentKernel,
  randomFeatures,
  type RidgeOptions,
} from '../src/index.js';
import { disposeFit, useEigen } from '../src/readout/ridge.js';
import { HOST_EIGEN_LIMIT, useWebAssemblyEigen } from '@regimes/numerics';

/**
 * A linear kernel K = XXᵀ on X = Q diag(√μ): K = Q diag(μ) Qᵀ with μ_i = 10^(−5i/(m−1)) (1 … 1e-5),
 * and the float64 closed forms α = Q diag(1/(μ + s)) Qᵀy, df = Σ μ/(μ + s).
 */
function conditioned(m: number, seed: number) {
  const q = orthonormalColumns(m, seed);
  const mu = Float64Array.from({ length: m }, (_, i) => 10 ** ((-5 * i) / (m - 1)));
  const x = Float64Array.from(q, (v, k) => v * Math.sqrt(mu[k % m]!));
  const y = Rng.fromSeed(seed).child('y').normal(m, new Float64Array(m));
  const qty = Float64Array.from(mu, (_, j) =>
    q.reduce((s, _v, i) => (i < m ? s + q[i * m + j]! * y[i]! : s), 0),
  );
  const alpha = (s: number) =>
    Float64Array.from(y, (_, i) => mu.reduce((sum, u, j) => sum + (q[i * m + j]! * qty[j]!) / (u + s), 0));
  const df = (s: number) => mu.reduce((sum, u) => sum + u / (u + s), 0);
  return { x, y, alpha, df };
}

const linear = (a: tf.Tensor2D, b: tf.Tensor2D) => tf.matMul(a, b, false, true);

/** fitRidge on XXᵀ; returns each λ's coefficients on the host and its diagnostics. */
async function solve(m: number, x: Float64Array, y: Float64Array, options: RidgeOptions) {
  const xt = tf.tensor2d(Float32Array.from(x), [m, m]);
  const yt = tf.tensor2d(Float32Array.from(y), [m, 1]);
  const system = await dualSystem(xt, yt, linear);
  try {
    const fits = await fitRidge(system, options, new AbortController().signal);
    const out = [];
    for (const fit of fits) {
      out.push({ lambda: fit.lambda, alpha: await fit.coefficients.data(), diagnostics: fit.diagnostics });
      fit.coefficients.dispose();
    }
    return out;
  } finally {
    system.release(); // its kernel panels, kept for the fit's passes
    tf.dispose([xt, yt]);
  }
}

// s = nλ from 1e-3 to 1: condition numbers (1 + s)/(1e-5 + s) up to ~1e3, float32 error ~1e-7·κ
const shifts = [1e-3, 1e-2, 1e-1, 1];

async function checkAgainstReference(m: number, seed: number) {
  const { x, y, alpha, df } = conditioned(m, seed);
  const ridge = shifts.map((s) => s / m);
  const [eigen, cholesky] = await expectNoLeak(() =>
    Promise.all([
      solve(m, x, y, { ridge, ridgeGrid: [1, 2], ridgeSolver: 'eigen' }),
      solve(m, x, y, { ridge, ridgeGrid: [1, 2], ridgeSolver: 'cholesky' }),
    ]),
  );
  shifts.forEach((s, i) => {
    const reference = alpha(s);
    const e = eigen[i]!;
    const c = cholesky[i]!;
    expect(e.diagnostics.eigen).toBe(1);
    expect(c.diagnostics.eigen).toBe(0);
    // coefficients: 5·eps32·κ = 3e-4 relative at κ ≤ 1e3, both paths and between them (measured at
    // κ = 1e3: 6e-5 at m = 600, 5e-6 at m = 96, the two paths alike; the float32 rounding of K dominates)
    expect(relativeError(e.alpha, reference)).toBeLessThan(3e-4);
    expect(relativeError(c.alpha, reference)).toBeLessThan(3e-4);
    expect(relativeError(e.alpha, c.alpha)).toBeLessThan(3e-4);
    // df: exact Σμ/(μ+s) on the eigen path, m − s·tr(A⁻¹) on the Cholesky path
    expect(Math.abs(e.diagnostics.df! - df(s))).toBeLessThan(1e-4 * df(s));
    expect(Math.abs(c.diagnostics.df! - df(s))).toBeLessThan(1e-3 * df(s));
    // train risk (1/m)‖y − Kα‖² = s²‖α‖²/m in the dual
    const risk = (s * s * reference.reduce((sum, v) => sum + v * v, 0)) / m;
    expect(Math.abs(e.diagnostics['train-risk']! - risk)).toBeLessThan(2e-4 * risk);
    expect(Math.abs(c.diagnostics['train-risk']! - risk)).toBeLessThan(2e-4 * risk);
    // after one refinement step, float32: ~eps·√m·κ at worst (measured 4e-5 at m = 600)
    expect(e.diagnostics['solve-residual']).toBeLessThan(2e-4);
    expect(c.diagnostics['solve-residual']).toBeLessThan(2e-4);
  });
}

const { blas } = loadBlas();

describe('ridge over a list of λ: one eigen-decomposition against a Cholesky per λ', () => {
  it('agree with each other and with the float64 closed form (cpu: the host float64 QL, m = 96)', () =>
    checkAgainstReference(96, 1));

  // The eigen kernel comes with OpenBLAS's LAPACK; the addon's own SGEMM (no OpenBLAS) has none.
  it.skipIf(!blas?.syevd)(
    'agree on the native backend (dsyevd, m = 600), where auto takes the eigen path for a list',
    async () => {
      await native.create({}).activate();
      try {
        await checkAgainstReference(600, 2);
        expect(eigenPays(600, 8)).toBe(true);
        expect(eigenPays(600, 1)).toBe(false);
        const t = createTarget({ factory: hermite, options: { d: 4, degree: 2, noise: 0.1 } });
        const train = t.sample(300, Rng.fromSeed(6));
        await expectNoLeak(async () => {
          const p = await neuralTangentKernel
            .create(neuralTangentKernel.options.parse({ ridge: [1e-4, 1e-3, 1e-2, 1e-1, 1] }))
            .fit(train, makeFitContext(Rng.fromSeed(7)));
          expect(p.variants!.map((v) => v.predictor.diagnostics!.eigen)).toEqual([1, 1, 1, 1, 1]);
          p.dispose();
        });
        disposeDataset(train);
      } finally {
        await tf.setBackend('cpu');
      }
    },
  );

  it('df: false leaves df out of the rows and nothing else (both solvers, loo in the dual and the primal); gcv refuses it', async () => {
    const m = 96;
    const { x, y } = conditioned(m, 3);
    const ridge = shifts.map((s) => s / m);
    for (const ridgeSolver of ['eigen', 'cholesky'] as const) {
      const [full, lean] = await expectNoLeak(() =>
        Promise.all([
          solve(m, x, y, { ridge, ridgeGrid: [1, 2], ridgeSolver }),
          solve(m, x, y, { ridge, ridgeGrid: [1, 2], ridgeSolver, df: false }),
        ]),
      );
      full.forEach((f, i) => {
        const l = lean[i]!;
        expect(f.diagnostics.df).toBeGreaterThan(0);
        expect('df' in l.diagnostics).toBe(false);
        // the same solve: the coefficients and every other diagnostic bit for bit
        expect(Array.from(l.alpha)).toEqual(Array.from(f.alpha));
        const { df: _df, ...rest } = f.diagnostics;
        expect(l.diagnostics).toEqual(rest);
      });
    }
    // gcv ranks λ by df: refused, also as the default ridge
    for (const written of [{ ridge: 'gcv' }, {}]) {
      const parsed = neuralTangentKernel.options.safeParse({ ...written, df: false });
      expect(parsed.success).toBe(false);
      expect(parsed.error!.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
        [
          'df',
          'ridge: gcv (the default) ranks λ by df: keep df (the default), or choose λ by ridge: loo, or give ridge a number or a list',
        ],
      ]);
    }
    // loo ranks by the leverages: the same λ and score without df (the primal takes its leverages
    // without diag(A⁻¹))
    const [withDf, without] = await Promise.all(
      [true, false].map((df) =>
        solve(m, x, y, { ridge: 'loo', ridgeGrid: [1e-4, 1e-3, 1e-2], ridgeSolver: 'cholesky', df }),
      ),
    );
    expect(without[0]!.lambda).toBe(withDf[0]!.lambda);
    expect(without[0]!.diagnostics.loo).toBe(withDf[0]!.diagnostics.loo);
    expect('df' in without[0]!.diagnostics).toBe(false);
    // the primal (rf, width 64 < n): loo's leverages from the features, the same choice without df
    const t = createTarget({ factory: hermite, options: { d: 4, degree: 2, noise: 0.1 } });
    const train = t.sample(256, Rng.fromSeed(8));
    const rf = await expectNoLeak(() =>
      Promise.all(
        [true, false].map(async (df) => {
          const p = await randomFeatures
            .create(randomFeatures.options.parse({ width: 64, ridge: 'loo', df }))
            .fit(train, makeFitContext(Rng.fromSeed(9)));
          const predicted = p.predict(train.x);
          const out = { diagnostics: p.diagnostics!, prediction: await predicted.data() };
          predicted.dispose();
          p.dispose();
          return out;
        }),
      ),
    );
    disposeDataset(train);
    const { df: rfDf, ...rest } = rf[0]!.diagnostics;
    expect(rfDf).toBeGreaterThan(0);
    expect(rf[1]!.diagnostics).toEqual(rest);
    expect(Array.from(rf[1]!.prediction)).toEqual(Array.from(rf[0]!.prediction));
  });

  it('solves λ = 0 on a singular kernel as the ridgeless limit: the pseudo-inverse is least squares; a named cholesky takes the jitter', async () => {
    // rank-5 linear kernel on 40 points: λ = 0 is singular, and its minimum-norm solution α = K⁺y
    // gives Kα = Xβ with β the least-squares fit of y on X (float64 normal equations below)
    const m = 40;
    const x = Rng.fromSeed(4).normal(m * 5, new Float64Array(m * 5));
    const y = Rng.fromSeed(5).normal(m, new Float64Array(m));
    const xt = tf.tensor2d(Float32Array.from(x), [m, 5]);
    const yt = tf.tensor2d(Float32Array.from(y), [m, 1]);
    const gram = Array.from({ length: 5 }, (_, i) =>
      Array.from({ length: 6 }, (_, j) =>
        Array.from({ length: m }, (_, r) => x[r * 5 + i]! * (j < 5 ? x[r * 5 + j]! : y[r]!)).reduce(
          (a, b) => a + b,
        ),
      ),
    );
    for (let c = 0; c < 5; c++)
      for (let r = 0; r < 5; r++)
        if (r !== c) {
          const f = gram[r]![c]! / gram[c]![c]!;
          for (let q = c; q < 6; q++) gram[r]![q]! -= f * gram[c]![q]!;
        }
    const beta = gram.map((row, i) => row[5]! / row[i]!);
    let leastSquares = 0;
    for (let r = 0; r < m; r++)
      leastSquares += (y[r]! - beta.reduce((s, b, i) => s + b * x[r * 5 + i]!, 0)) ** 2 / m;
    await expectNoLeak(async () => {
      const system = await dualSystem(xt, yt, linear);
      const fits = await fitRidge(
        system,
        { ridge: [0, 1e-2], ridgeGrid: [1, 2] },
        new AbortController().signal,
      );
      const forced = await fitRidge(
        system,
        { ridge: 0, ridgeGrid: [1, 2], ridgeSolver: 'cholesky' },
        new AbortController().signal,
      );
      system.release();
      expect(fits.map((f) => f.diagnostics.eigen)).toEqual([1, 1]);
      const [ridgeless] = fits;
      expect(ridgeless!.diagnostics.truncated).toBe(m - 5);
      expect(ridgeless!.diagnostics.df).toBeCloseTo(5, 4);
      console.log(`ridgeless train risk ${ridgeless!.diagnostics['train-risk']} against ${leastSquares}`);
      expect(Math.abs(ridgeless!.diagnostics['train-risk']! - leastSquares)).toBeLessThan(
        1e-4 * leastSquares,
      );
      // Xᵀα = β: the minimum-norm α lies in the range of X
      const product = tf.matMul(xt, ridgeless!.coefficients, true, false);
      const fitted = await product.data();
      product.dispose();
      fitted.forEach((v, i) =>
        expect(Math.abs(v - beta[i]!)).toBeLessThan(1e-4 * Math.max(...beta.map(Math.abs))),
      );
      expect(forced[0]!.diagnostics.eigen).toBe(0);
      expect(forced[0]!.diagnostics.jitter).toBeGreaterThan(0);
      for (const f of [...fits, ...forced]) f.coefficients.dispose();
    });
    tf.dispose([xt, yt]);
  });

  it('λ = 0 with an intercept on a kernel constant up to round-off: the intercept alone (df 1), its noise left out', async () => {
    // K = 2 everywhere: centred in float32 it is noise of either sign, whose own trace would have let
    // the noise through the cutoff (a review: df 5, train risk 0.671 against 0.951); the cutoff's
    // floor is K's scale, and λ = 0 takes the pseudo-inverse even where the centred trace is ≤ 0
    const m = 20;
    const x = tf.tensor2d(Float32Array.from(Rng.fromSeed(6).normal(m * 3)), [m, 3]);
    const y = tf.tensor2d(Float32Array.from(Rng.fromSeed(7).normal(m * 2)), [m, 2]);
    const values = Array.from(await y.data());
    let variance = 0;
    for (let c = 0; c < 2; c++) {
      const column = values.filter((_, i) => i % 2 === c);
      const mean = column.reduce((a, b) => a + b, 0) / m;
      variance += column.reduce((a, v) => a + (v - mean) ** 2, 0) / m / 2;
    }
    const constant = (a: tf.Tensor2D, b: tf.Tensor2D) => tf.fill([a.shape[0], b.shape[0]], 2) as tf.Tensor2D;
    await expectNoLeak(async () => {
      for (const ridge of [[0, 1e-3], 0]) {
        const system = await dualSystem(x, y, constant, true);
        const fits = await fitRidge(system, { ridge, ridgeGrid: [1, 2] }, new AbortController().signal);
        system.release();
        const [ridgeless] = fits;
        expect(ridgeless!.diagnostics.eigen).toBe(1);
        expect(ridgeless!.diagnostics.truncated).toBe(m);
        expect(ridgeless!.diagnostics.df).toBe(1);
        expect(Math.abs(ridgeless!.diagnostics['train-risk']! - variance)).toBeLessThan(1e-5 * variance);
        for (const f of fits) disposeFit(f);
      }
    });
    tf.dispose([x, y]);
  });

  it('without an eigen kernel (cpu) the host decomposes m = 300 from ⌈m/40⌉ λ on in JavaScript, 2 in WebAssembly, and agrees with Cholesky; above its limit auto keeps Cholesky, and it refuses a forced eigen', async () => {
    const t = createTarget({ factory: hermite, options: { d: 4, degree: 2, noise: 0.1 } });
    const train = t.sample(300, Rng.fromSeed(6));
    const test = t.sample(200, Rng.fromSeed(8));
    const ridge = [1e-4, 1e-3, 1e-2, 1e-1, 1, 2, 5, 10];
    const predictions = async (o: Record<string, unknown>) => {
      const p = await neuralTangentKernel
        .create(neuralTangentKernel.options.parse(o))
        .fit(train, makeFitContext(Rng.fromSeed(7)));
      const out = [];
      for (const v of p.variants!) {
        const y = v.predictor.predict(test.x);
        out.push({ eigen: v.predictor.diagnostics!.eigen, y: await y.data() });
        y.dispose();
      }
      p.dispose();
      return out;
    };
    // in JavaScript the decomposition pays from ⌈300/40⌉ = 8 λ; in WebAssembly from 2
    for (const [wasm, pays, short] of [
      [false, ridge.length, 4],
      [true, 2, 1],
    ] as const) {
      useWebAssemblyEigen(wasm);
      try {
        await expectNoLeak(async () => {
          expect(eigenPays(300, pays)).toBe(true);
          expect(eigenPays(300, short)).toBe(false);
          const auto = await predictions({ ridge: ridge.slice(0, pays) });
          const cholesky = await predictions({ ridge: ridge.slice(0, pays), ridgeSolver: 'cholesky' });
          expect(auto.map((v) => v.eigen)).toEqual(ridge.slice(0, pays).map(() => 1));
          expect(cholesky.map((v) => v.eigen)).toEqual(ridge.slice(0, pays).map(() => 0));
          auto.forEach((v, i) => expect(relativeError(v.y, cholesky[i]!.y)).toBeLessThan(1e-4));
          // (a single λ is no list: its fit has no variants to look at)
          if (short > 1) {
            const fewer = await predictions({ ridge: ridge.slice(0, short) });
            expect(fewer.map((v) => v.eigen)).toEqual(ridge.slice(0, short).map(() => 0));
          }
        });
      } finally {
        useWebAssemblyEigen(true);
      }
    }
    const beyond = HOST_EIGEN_LIMIT + 1;
    expect(useEigen({ ridge, ridgeGrid: [] }, beyond, ridge.length)).toBe(false);
    let refused: unknown;
    try {
      useEigen({ ridge, ridgeGrid: [], ridgeSolver: 'eigen' }, beyond, ridge.length);
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(RegimesError);
    expect((refused as RegimesError).message).toMatch(/4097×4097 system.*no eigen kernel.*up to 4096×4096/);
    expect((refused as RegimesError).hint).toMatch(/'cholesky'.*OpenBLAS/);
    disposeDataset(train);
    disposeDataset(test);
  });

  it('gcv (dual) and loo (primal) choose the same λ with either solver, with the same scores', async () => {
    const t = createTarget({ factory: hermite, options: { d: 4, degree: 2, noise: 0.3 } });
    const train = t.sample(120, Rng.fromSeed(8));
    const chosen = async (factory: typeof randomFeatures, o: Record<string, unknown>, score: string) => {
      const result = [];
      for (const ridgeSolver of ['eigen', 'cholesky']) {
        const p = await factory
          .create(factory.options.parse({ ...o, ridgeSolver }))
          .fit(train, makeFitContext(Rng.fromSeed(9)));
        result.push({ ...p.diagnostics! });
        p.dispose();
      }
      const [e, c] = result as [Record<string, number>, Record<string, number>];
      expect(e.eigen).toBe(1);
      expect(c.eigen).toBe(0);
      expect(e.lambda).toBe(c.lambda);
      expect(Math.abs(e[score]! - c[score]!)).toBeLessThan(1e-4 * c[score]!);
    };
    // a grid the eigen path serves whole (λ down to 1e-6: above float32's conditioning limit)
    const ridgeGrid = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10];
    await expectNoLeak(async () => {
      await chosen(
        neuralTangentKernel as unknown as typeof randomFeatures,
        { ridge: 'gcv', ridgeGrid },
        'gcv',
      );
      // width 40 < n: the primal system (40×40 Gram), leverages φ_iᵀA⁻¹φ_i
      await chosen(randomFeatures, { width: 40, bias: 0.5, ridge: 'loo', ridgeGrid }, 'loo');
    });
    disposeDataset(train);
  });
});

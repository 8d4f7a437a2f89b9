// Kernel ridge past memory (readout/iterative.ts, FALKON) against the direct solve, its residual,
// the sizes of every kernel block it asks for; and the GP posterior variance of the direct path
// against a float64 numpy GP.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { disposeDataset, Rng } from '@regimes/core';
import {
  createTarget,
  eigenResidual,
  expectNoLeak,
  makeFitContext,
  numpyMissing,
} from '@regimes/core/testing';
import {
  registerCompiledEigen,
  symmetricEigenSolver,
  symmetricEigenTridiagonal,
  useWebAssemblyEigen,
} from '@regimes/numerics';
import { loadBlas, native } from '@regimes/backend-node';
import { hermite } from '@regimes/targets';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { centresOf, kernelRidgeEstimate, takesCg } from '../src/cost.js';
import { type KernelFunction, rbfKernel } from '../src/kernels.js';
import { nngp } from '../src/kinds/nngp.js';
import { blockedPredict, falkonSolve, NystromProblem } from '../src/readout/iterative.js';
import { type GaussianProcessPredictor, kernelRidgeLearner } from '../src/readout/predictors.js';
import type { RidgeOptions } from '../src/readout/options.js';

const { blas } = loadBlas();
let previous = '';
beforeAll(async () => {
  previous = tf.getBackend();
  if (blas) await native.create({}).activate();
});
afterAll(async () => {
  await tf.setBackend(previous);
});

const base: RidgeOptions = { ridge: 1e-3, ridgeGrid: [1e-4, 1e-3, 1e-2], intercept: true };
const kernel = rbfKernel(1);

function data(n: number, d: number, seed: number) {
  const t = createTarget({ factory: hermite, options: { d, degree: 2, noise: 0.1 } }, seed);
  return { train: t.sample(n, Rng.fromSeed(seed + 1)), test: t.sample(500, Rng.fromSeed(seed + 2)) };
}

async function fitPredict(k: KernelFunction, o: RidgeOptions, n: number, seed = 3) {
  const { train, test } = data(n, 8, seed);
  try {
    const p = await kernelRidgeLearner(k, o).fit(train, makeFitContext(Rng.fromSeed(seed)));
    const prediction = p.predict(test.x);
    const risk = tf.tidy(() => tf.mean(tf.squaredDifference(prediction, test.y)));
    const out = {
      prediction: await prediction.data(),
      risk: (await risk.data())[0]!,
      diagnostics: { ...p.diagnostics },
    };
    tf.dispose([prediction, risk]);
    p.dispose();
    return out;
  } finally {
    disposeDataset(train);
    disposeDataset(test);
  }
}

const relative = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
};

describe('kernel ridge by FALKON (ridgeSolver: cg)', () => {
  it('with every point a centre equals the direct solve; with m = 512 centres its risk is within 3%', async () => {
    const n = 1500;
    await expectNoLeak(async () => {
      const direct = await fitPredict(kernel, { ...base, ridgeSolver: 'cholesky' }, n);
      const exact = await fitPredict(kernel, { ...base, ridgeSolver: 'cg', centres: n }, n);
      const nystrom = await fitPredict(kernel, { ...base, ridgeSolver: 'cg' }, n);
      expect(direct.diagnostics.cg).toBe(0);
      expect(exact.diagnostics.cg).toBe(1);
      expect(exact.diagnostics.centres).toBe(n);
      expect(nystrom.diagnostics.centres).toBe(centresOf(n));
      // the stated tolerance: preconditioned residual 1e-4 relative; the true residual of the normal
      // equations is within 10× of it (float32 kernel blocks, float64 accumulation)
      for (const r of [exact, nystrom]) {
        expect(r.diagnostics['cg-iterations']).toBeLessThan(200);
        expect(r.diagnostics['solve-residual']).toBeLessThan(1e-3);
      }
      // m = n: the same estimator, predictions to float32 accuracy at κ(K + nλI) ≤ ~10³
      expect(relative(exact.prediction, direct.prediction)).toBeLessThan(2e-3);
      expect(Math.abs(exact.diagnostics['train-risk']! - direct.diagnostics['train-risk']!)).toBeLessThan(
        1e-3 * direct.diagnostics['train-risk']!,
      );
      // m = 512 < n: the Nyström estimator, test risk within 3% of kernel ridge's
      expect(Math.abs(nystrom.risk - direct.risk)).toBeLessThan(0.03 * direct.risk);
    });
  });

  it('with an intercept and every point a centre equals the direct solve down to small λ, in one iteration', async () => {
    // the centring's rank-one downdate in the preconditioner: without it CG stopped after a step on
    // a fit without its intercept at λ ≤ 2e-6 (0.312 against 0.262 here)
    const n = 64;
    await expectNoLeak(async () => {
      for (const ridge of [1e-6, 1e-4]) {
        const direct = await fitPredict(kernel, { ...base, ridge, ridgeSolver: 'cholesky' }, n);
        const cg = await fitPredict(kernel, { ...base, ridge, ridgeSolver: 'cg', centres: n }, n);
        expect(Math.abs(cg.risk / direct.risk - 1)).toBeLessThan(0.005);
        expect(cg.diagnostics['cg-iterations']).toBeLessThanOrEqual(2);
      }
    });
  });

  // bad-input: 3
  it('refuses gcv at n = 1, whose held-out fifth leaves nothing to fit', async () => {
    await expectNoLeak(async () => {
      await expect(fitPredict(kernel, { ...base, ridge: 'gcv', ridgeSolver: 'cg' }, 1)).rejects.toThrow(
        'ridge: gcv with ridgeSolver: cg chooses λ on a held-out fifth of the samples, and n = 1 leaves none to fit',
      );
    });
  });

  it('asks the kernel for blocks against at most m centres, never n×n, and frees every block', async () => {
    const n = 3000;
    const m = 256;
    const shapes: [number, number][] = [];
    const spy: KernelFunction = (a, b) => {
      shapes.push([a.shape[0], b.shape[0]]);
      return kernel(a, b);
    };
    const r = await expectNoLeak(() => fitPredict(spy, { ...base, ridgeSolver: 'cg', centres: m }, n, 5));
    expect(r.diagnostics.cg).toBe(1);
    expect(shapes.length).toBeGreaterThan(3);
    for (const [rows, columns] of shapes) {
      expect(columns).toBeLessThanOrEqual(m);
      expect(rows * columns).toBeLessThanOrEqual(n * m);
    }
  });

  it('without the cache recomputes K_nm block by block at every iteration, to the same solution', async () => {
    const { train, test } = data(1000, 8, 9);
    let calls = 0;
    const spy: KernelFunction = (a, b) => {
      calls++;
      return kernel(a, b);
    };
    const o = { intercept: true, tolerance: 1e-5, maxIterations: 200, block: 100 };
    await expectNoLeak(async () => {
      const solved = [];
      for (const cacheBytes of [undefined, 0]) {
        const centres = tf.slice(train.x, [0, 0], [128, -1]);
        const problem = await NystromProblem.create(train.x, train.y, spy, centres, { ...o, cacheBytes });
        calls = 0;
        const fit = await falkonSolve(problem, 1e-3, train.y, o);
        // cached: the solve never calls the kernel; streamed: 10 blocks per product, one product per
        // iteration and one for the final residual
        expect(problem.cached).toBe(cacheBytes === undefined);
        expect(calls).toBe(cacheBytes === undefined ? 0 : 10 * (fit.diagnostics['cg-iterations']! + 1));
        solved.push(await fit.coefficients.data());
        tf.dispose([fit.coefficients, fit.intercept!]);
        problem.dispose();
      }
      expect(relative(solved[1]!, solved[0]!)).toBeLessThan(1e-4);
    });
    disposeDataset(train);
    disposeDataset(test);
  });

  // the spectral preconditioner from LAPACK's dsyevd (native, where OpenBLAS is), from the host's
  // float64 QL (cpu), and the two Cholesky factors (cpu, the spectrum withheld, as above
  // HOST_EIGEN_LIMIT): three routes to one solution
  it("Falkon's spectral preconditioner (LAPACK or host) and its two Cholesky factors give one solution", async () => {
    const { train, test } = data(600, 8, 13);
    // 8 λ: enough for the host's decomposition to pay (spectrumPays: 5 in JavaScript); fewer keep Cholesky
    const o = { intercept: false, tolerance: 1e-6, maxIterations: 300, solves: 8 };
    const solved: Float32Array[] = [];
    const blasBackend = tf.getBackend();
    // on cpu: the WebAssembly solver, the JavaScript one, and no decomposition
    const routes = [
      ...(blas?.syevd ? [{ backend: blasBackend, withhold: false, wasm: true }] : []),
      { backend: 'cpu', withhold: false, wasm: true },
      { backend: 'cpu', withhold: false, wasm: false },
      { backend: 'cpu', withhold: true, wasm: true },
    ];
    for (const { backend, withhold, wasm } of routes) {
      await tf.setBackend(backend);
      useWebAssemblyEigen(wasm);
      const x = tf.tensor2d(await train.x.data(), train.x.shape);
      const y = tf.tensor2d(await train.y.data(), train.y.shape);
      const problem = await NystromProblem.create(x, y, kernel, tf.slice(x, [0, 0], [300, -1]), o);
      if (withhold) problem.spectrum = () => Promise.resolve(undefined);
      else {
        const spectrum = (await problem.spectrum(o.solves))!;
        // K_mm = Q diag(μ) Qᵀ itself, not only a preconditioner CG converges with
        expect(eigenResidual(problem.kmm, 300, spectrum.mu, spectrum.q)).toBeLessThan(
          backend === 'cpu' ? 1e-12 : 1e-5,
        );
      }
      if (backend === 'cpu' && !withhold) {
        // in JavaScript the decomposition costs 4.1–4.6 preconditioners: 4 λ keep Cholesky, 5 take
        // it; in WebAssembly 0.5–0.75: one λ takes it
        expect(symmetricEigenSolver(300)).toBe(wasm ? 'webassembly' : 'host');
        const thresholds = wasm
          ? [[1, true]]
          : [
              [1, false],
              [4, false],
              [5, true],
            ];
        for (const [solves, decomposes] of thresholds as [number, boolean][]) {
          const other = await NystromProblem.create(x, y, kernel, tf.slice(x, [0, 0], [300, -1]), o);
          expect((await other.spectrum(solves)) !== undefined, `${solves} λ`).toBe(decomposes);
          other.dispose();
        }
      }
      const fit = await falkonSolve(problem, 1e-3, y, o);
      expect(fit.diagnostics['solve-residual']).toBeLessThan(1e-4);
      // the predictions, not α: α is as ill-determined as K_mm is ill-conditioned
      const xt = tf.tensor2d(await test.x.data(), test.x.shape);
      const prediction = blockedPredict(kernel, problem.centres, fit.coefficients, xt);
      solved.push((await prediction.data()) as Float32Array);
      tf.dispose([fit.coefficients, x, y, xt, prediction]);
      problem.dispose();
    }
    useWebAssemblyEigen(true);
    await tf.setBackend(blasBackend);
    for (const other of solved.slice(0, -1)) expect(relative(other, solved.at(-1)!)).toBeLessThan(1e-3);
    disposeDataset(train);
    disposeDataset(test);
  });

  it('chooses λ by hold-out when asked for gcv, and the auto rule switches at n > 16384', async () => {
    const r = await expectNoLeak(() =>
      fitPredict(kernel, { ...base, ridge: 'gcv', ridgeSolver: 'cg', centres: 300 }, 1500, 7),
    );
    expect(base.ridgeGrid).toContain(r.diagnostics.lambda);
    expect(r.diagnostics.holdout).toBeGreaterThan(0);
    // the held-out error estimates the test risk of a fit on 4/5 of the points (both include the
    // label noise 0.01), so it lies above the full fit's, within a factor 2 either way
    expect(r.diagnostics.holdout).toBeGreaterThan(0.5 * r.risk);
    expect(r.diagnostics.holdout).toBeLessThan(2 * r.risk);
    expect(takesCg('auto', 16384)).toBe(false);
    expect(takesCg('auto', 16385)).toBe(true);
    const size = { n: 1e6, d: 32, k: 1, testN: 1e4 };
    // the dry run's memory at n = 10⁶: no n×n term (4·10¹² bytes), x plus blocks and m² instead
    expect(kernelRidgeEstimate(84, { ...base, ridgeSolver: 'auto' }, size).bytes).toBeLessThan(1e9);
  });
  it("gcv's refit reuses the hold-out's host decomposition of K_mm (cpu, JavaScript): the fixed λ's solution", async () => {
    const previous = tf.getBackend();
    await tf.setBackend('cpu');
    // the JavaScript solver, whose decomposition a single λ does not pay for
    useWebAssemblyEigen(false);
    try {
      // a grid of 5: the hold-out's decomposition pays (spectrumPays)
      const o = {
        ...base,
        ridgeGrid: [1e-5, 1e-4, 1e-3, 1e-2, 1e-1],
        ridgeSolver: 'cg' as const,
        centres: 300,
      };
      const gcv = await expectNoLeak(() => fitPredict(kernel, { ...o, ridge: 'gcv' }, 1500, 7));
      // the same seed draws the same 300 centres: the hold-out's first 300 of its 1200 points
      const fixed = await fitPredict(kernel, { ...o, ridge: gcv.diagnostics.lambda! }, 1500, 7);
      // spectral where a single λ alone takes the two Cholesky factors (spectrumPays)
      expect([gcv.diagnostics['cg-spectral'], fixed.diagnostics['cg-spectral']]).toEqual([1, 0]);
      expect(gcv.diagnostics['solve-residual']).toBeLessThan(1e-3);
      expect(relative(gcv.prediction, fixed.prediction)).toBeLessThan(1e-3);
    } finally {
      useWebAssemblyEigen(true);
      await tf.setBackend(previous);
    }
  });
  it('with a compiled host solver (native without OpenBLAS) K_mm is decomposed from 1 λ, through it', async () => {
    const previous = tf.getBackend();
    await tf.setBackend('cpu');
    let calls = 0;
    registerCompiledEigen('cpu', (m, w, values, vectors) => {
      calls++;
      const r = symmetricEigenTridiagonal(w, m);
      values.set(r.values);
      vectors.set(r.vectors);
      return 0;
    });
    try {
      const { train, test } = data(400, 8, 17);
      const o = { intercept: false, tolerance: 1e-6, maxIterations: 300 };
      const create = () =>
        NystromProblem.create(train.x, train.y, kernel, tf.slice(train.x, [0, 0], [200, -1]), o);
      // one λ: the decomposition (0.2–0.5 of a Cholesky preconditioner compiled) already pays
      const single = await create();
      const spectrum = (await single.spectrum(1))!;
      expect(calls).toBe(1);
      expect(eigenResidual(single.kmm, 200, spectrum.mu, spectrum.q)).toBeLessThan(1e-12);
      single.dispose();
      // where the host solver is JavaScript, one λ keeps the Cholesky preconditioner
      registerCompiledEigen('cpu', undefined);
      useWebAssemblyEigen(false);
      const script = await create();
      expect(await script.spectrum(1)).toBeUndefined();
      expect(calls).toBe(1);
      script.dispose();
      disposeDataset(train);
      disposeDataset(test);
    } finally {
      registerCompiledEigen('cpu', undefined);
      useWebAssemblyEigen(true);
      await tf.setBackend(previous);
    }
  });
});

describe('GP posterior variance (posteriorVariance)', () => {
  it.skipIf(numpyMissing() !== undefined)(
    'equals a float64 numpy GP, with and without the flat-prior intercept',
    async () => {
      const n = 300;
      const d = 4;
      const lambda = 1e-3;
      const t = createTarget({ factory: hermite, options: { d, degree: 2, noise: 0.1 } }, 11);
      const train = t.sample(n, Rng.fromSeed(12));
      const test = t.sample(50, Rng.fromSeed(13));
      const config = {
        x: Array.from(await train.x.data()),
        y: Array.from(await train.y.data()),
        q: Array.from(await test.x.data()),
        n,
        d,
        lambda,
      };
      const script = `
import json, sys
import numpy as np
c = json.loads(sys.stdin.read())
n, d, lam = c['n'], c['d'], c['lambda']
x = np.array(c['x'], dtype=np.float64).reshape(n, d)
y = np.array(c['y'], dtype=np.float64)
q = np.array(c['q'], dtype=np.float64).reshape(-1, d)
def k(a, b):
    s = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.exp(-np.maximum(s, 0) / (2 * d))
A = k(x, x) + n * lam * np.eye(n)
kq = k(x, q)
Ai_kq = np.linalg.solve(A, kq)
var0 = 1 - (kq * Ai_kq).sum(0)
mu0 = kq.T @ np.linalg.solve(A, y)
one = np.ones(n)
Ai1 = np.linalg.solve(A, one)
b = one @ np.linalg.solve(A, y) / (one @ Ai1)
mu1 = kq.T @ np.linalg.solve(A, y - b) + b
var1 = var0 + (1 - one @ Ai_kq) ** 2 / (one @ Ai1)
print(json.dumps({'var0': var0.tolist(), 'mu0': mu0.tolist(), 'var1': var1.tolist(), 'mu1': mu1.tolist()}))
`;
      const child = promisify(execFile)('python3', ['-c', script], { maxBuffer: 1 << 24 });
      child.child.stdin!.end(JSON.stringify(config));
      const reference = JSON.parse((await child).stdout) as Record<string, number[]>;
      await expectNoLeak(async () => {
        for (const intercept of [false, true]) {
          const p = (await kernelRidgeLearner(kernel, {
            ...base,
            ridge: lambda,
            intercept,
            ridgeSolver: 'cholesky',
            posteriorVariance: true,
          }).fit(train, makeFitContext(Rng.fromSeed(1)))) as GaussianProcessPredictor;
          const variance = p.posteriorVariance(test.x);
          const mean = p.predict(test.x);
          const v = await variance.data();
          const mu = await mean.data();
          tf.dispose([variance, mean]);
          p.dispose();
          const refV = reference[intercept ? 'var1' : 'var0']!;
          const refMu = reference[intercept ? 'mu1' : 'mu0']!;
          expect(p.noise).toBeCloseTo(n * lambda, 6);
          expect(relative(mu, refMu)).toBeLessThan(1e-4);
          // σ² = k(x,x) − k_xᵀA⁻¹k_x cancels from k(x,x) = 1: float32 error ~1e-6·κ(A) (κ ≲ 10³)
          for (let i = 0; i < refV.length; i++) expect(Math.abs(v[i]! - refV[i]!)).toBeLessThan(2e-4);
          // (a test of the test: the intercept term matters at this size)
          if (intercept)
            expect(Math.max(...refV.map((r, i) => Math.abs(r - reference.var0![i]!)))).toBeGreaterThan(1e-3);
        }
      });
      disposeDataset(train);
      disposeDataset(test);
    },
  );

  it('nngp records the mean posterior variance and the calibration on the probe test points', async () => {
    const t = createTarget({ factory: hermite, options: { d: 4, degree: 2, noise: 0 } }, 21);
    const train = t.sample(400, Rng.fromSeed(22));
    const probe = t.sample(200, Rng.fromSeed(23));
    const f = t.evaluate(probe.x);
    const records: unknown[] = [];
    const ctx = {
      ...makeFitContext(Rng.fromSeed(24)),
      monitor: { test: { x: probe.x, f }, record: (e: unknown) => records.push(e) },
    };
    const p = await nngp
      .create(nngp.options.parse({ ridge: 1e-4, posteriorVariance: true, activation: 'relu' }))
      .fit(train, ctx);
    const g = p as GaussianProcessPredictor;
    const variance = g.posteriorVariance(probe.x);
    const mean = (await tf.tidy(() => tf.mean(variance)).data())[0]!;
    variance.dispose();
    expect(p.diagnostics!['posterior-variance']).toBeCloseTo(mean, 5);
    expect(p.diagnostics!.calibration).toBeGreaterThan(0);
    expect(Number.isFinite(p.diagnostics!.calibration)).toBe(true);
    p.dispose();
    tf.dispose([f]);
    disposeDataset(train);
    disposeDataset(probe);
  });
});

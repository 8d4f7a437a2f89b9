// The direct kernel ridge solve in host memory (readout/host-direct.ts), taken above the heap limit,
// which the tests lower to 300² floats so that n = 400 takes it: against the heap Cholesky on the same
// backend and against a float64 numpy solve (reference/rbf_ridge.py); and the errors where it cannot
// run (no host LAPACK, gcv, eigen, posteriorVariance).
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Dataset, RegimesError, Rng } from '@regimes/core';
import { expectNoLeak, makeFitContext, relativeError } from '@regimes/core/testing';
import { loadBlas, native } from '@regimes/backend-node';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  blockedPredict,
  dualSystem,
  fitRidge,
  kernelRidge,
  kernelRidgeOptions,
  nngp,
  randomFeatures,
  type RidgeOptions,
  setHeapSystemLimit,
} from '../src/index.js';
import { ridgeSolveFlops } from '../src/cost.js';
import { rbfKernel } from '../src/kernels.js';

const reference = join(dirname(fileURLToPath(import.meta.url)), 'reference', 'rbf_ridge.py');
const { blas } = loadBlas();

const n = 400;
const d = 5;
const nt = 100;
const bandwidth = 0.5;
const lambdas = [1e-4, 1e-2];
const LOW = 4 * 300 * 300;

/** Gaussian inputs, y = x₀x₁ + sin(x₂) + 0.1·noise (float32 values, float64 arrays for numpy). */
function data() {
  const rng = Rng.fromSeed(21);
  const x = Float32Array.from(rng.child('x').normal(n * d, new Float64Array(n * d)));
  const test = Float32Array.from(rng.child('t').normal(nt * d, new Float64Array(nt * d)));
  const noise = rng.child('e').normal(n, new Float64Array(n));
  const y = Float32Array.from(
    { length: n },
    (_, i) => x[i * d]! * x[i * d + 1]! + Math.sin(x[i * d + 2]!) + 0.1 * noise[i]!,
  );
  return { x, y, test };
}

interface Reference {
  alpha: number[];
  b: number;
  predictions: number[];
}

function numpy(intercept: boolean): Reference[] {
  const { x, y, test } = data();
  const out = execFileSync('python3', [reference], {
    input: JSON.stringify({ x: [...x], y: [...y], test: [...test], d, bandwidth, lambdas, intercept }),
    maxBuffer: 1 << 24,
  });
  return JSON.parse(out.toString()) as Reference[];
}

function tensors() {
  const { x, y, test } = data();
  return {
    train: { x: tf.tensor2d(x, [n, d]), y: tf.tensor2d(y, [n, 1]) } as Dataset,
    test: tf.tensor2d(test, [nt, d]),
  };
}

/** fitRidge's coefficients (β) and intercepts per λ, and their diagnostics. */
async function solve(intercept: boolean, options: Partial<RidgeOptions> = {}) {
  const { train, test } = tensors();
  try {
    const system = await dualSystem(train.x, train.y, rbfKernel(bandwidth), intercept);
    try {
      const fits = await fitRidge(
        system,
        { ridge: lambdas, ridgeGrid: [1], ridgeSolver: 'cholesky', ...options } as RidgeOptions,
        new AbortController().signal,
      );
      const out = [];
      for (const fit of fits) {
        out.push({
          alpha: await fit.coefficients.data(),
          b: fit.intercept ? (await fit.intercept.data())[0]! : 0,
          diagnostics: fit.diagnostics,
        });
        tf.dispose([fit.coefficients, ...(fit.intercept ? [fit.intercept] : [])]);
      }
      return out;
    } finally {
      system.release();
    }
  } finally {
    tf.dispose([train.x, train.y, test]);
  }
}

/** The `kernel` learner (rbf) fitted and evaluated at the test points, one entry per λ. */
async function learner(intercept: boolean, extra: Record<string, unknown> = {}) {
  const { train, test } = tensors();
  try {
    const o = kernelRidgeOptions.parse({
      type: 'rbf',
      bandwidth,
      ridge: lambdas,
      ridgeSolver: 'cholesky',
      intercept,
      ...extra,
    });
    const p = await kernelRidge.create(o).fit(train, makeFitContext(Rng.fromSeed(3)));
    try {
      const out = [];
      for (const v of p.variants!) {
        const f = v.predictor.predict(test);
        out.push({ predictions: await f.data(), diagnostics: v.predictor.diagnostics! });
        f.dispose();
      }
      return out;
    } finally {
      p.dispose();
    }
  } finally {
    tf.dispose([train.x, train.y, test]);
  }
}

afterEach(() => setHeapSystemLimit());

describe('kernel ridge above the heap limit: the host-memory Cholesky', () => {
  it.skipIf(!blas?.potrf)(
    'gives the heap Cholesky’s and float64 numpy’s coefficients and predictions (native, n = 400, with and without intercept)',
    async () => {
      await native.create({}).activate();
      try {
        for (const intercept of [false, true]) {
          const ref = numpy(intercept);
          const [heap, heapPredictions] = await expectNoLeak(async () => [
            await solve(intercept),
            await learner(intercept),
          ]);
          setHeapSystemLimit(LOW);
          const [host, hostPredictions] = await expectNoLeak(async () => [
            await solve(intercept),
            await learner(intercept),
          ]);
          setHeapSystemLimit();
          lambdas.forEach((_, i) => {
            const [h, w, r] = [host[i]!, heap[i]!, ref[i]!];
            expect(h.diagnostics['host-direct']).toBe(1);
            expect(w.diagnostics['host-direct']).toBeUndefined();
            expect(h.diagnostics.df).toBeUndefined();
            expect(hostPredictions[i]!.diagnostics['host-direct']).toBe(1);
            // same factorization (spotrf) on the same float32 kernel: agreement to round-off (measured
            // ≤ 2e-7 relative for α, 1e-6 for predictions); against float64, float32's rounding of K
            // times κ = (μ_max + nλ)/nλ at nλ = 0.04 (measured ≤ 1.2e-5 for α, 1.9e-6 for predictions,
            // 7e-7 for b, the heap path alike). Tolerances ~10× the measured values.
            expect(relativeError(h.alpha, w.alpha)).toBeLessThan(5e-6);
            expect(relativeError(h.alpha, r.alpha)).toBeLessThan(1e-4);
            expect(Math.abs(h.b - r.b)).toBeLessThan(1e-5);
            // after one refinement step (measured ≤ 1.5e-6)
            expect(h.diagnostics['solve-residual']).toBeLessThan(2e-5);
            expect(Math.abs(h.diagnostics['train-risk']! - w.diagnostics['train-risk']!)).toBeLessThan(
              1e-6 * w.diagnostics['train-risk']!,
            );
            expect(relativeError(hostPredictions[i]!.predictions, r.predictions)).toBeLessThan(2e-5);
            expect(
              relativeError(hostPredictions[i]!.predictions, heapPredictions[i]!.predictions),
            ).toBeLessThan(1e-5);
          });
        }
      } finally {
        await tf.setBackend('cpu');
      }
    },
  );

  it.skipIf(!blas?.potrf)(
    'refuses gcv, eigen and posteriorVariance with what to change, leaking nothing (native)',
    async () => {
      await native.create({}).activate();
      try {
        setHeapSystemLimit(LOW);
        await expectNoLeak(async () => {
          await expect(solve(false, { ridge: 'gcv', ridgeGrid: [1e-3, 1e-2] })).rejects.toThrow(
            /gcv needs diag/,
          );
          await expect(solve(false, { ridgeSolver: 'eigen' })).rejects.toThrow(/eigen holds/);
          const { train, test } = tensors();
          const gp = nngp.create(
            nngp.options.parse({ ridge: 1e-2, ridgeSolver: 'cholesky', posteriorVariance: true }),
          );
          const error = await gp.fit(train, makeFitContext(Rng.fromSeed(3))).catch((e: unknown) => e);
          tf.dispose([train.x, train.y, test]);
          expect(error).toBeInstanceOf(RegimesError);
          expect((error as RegimesError).message).toMatch(/posteriorVariance keeps the 400×400 factor/);
        });
      } finally {
        await tf.setBackend('cpu');
      }
    },
  );

  it('fails with what to change where the backend has no host LAPACK (cpu)', async () => {
    expect(tf.getBackend()).toBe('cpu');
    setHeapSystemLimit(LOW);
    await expectNoLeak(async () => {
      const error = await solve(false).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RegimesError);
      expect((error as RegimesError).message).toMatch(
        /400×400 kernel .* the cpu backend's tensors .* no host LAPACK/,
      );
      expect((error as RegimesError).hint).toMatch(
        /native backend.*build:native.*ridgeSolver: 'auto' \/ 'cg'/,
      );
    });
    // below the limit the same fit runs on the heap
    setHeapSystemLimit();
    const fits = await solve(false);
    expect(fits[0]!.diagnostics['host-direct']).toBeUndefined();
  });

  it('a primal system past the limit (rf, p = 350 features, n = 400) stays on the backend with its df, and the estimate counts df’s inverse diagonal', async () => {
    setHeapSystemLimit(LOW);
    const o = randomFeatures.options.parse({ width: 350, ridge: 1e-2, ridgeSolver: 'cholesky' });
    const { train, test } = tensors();
    const fit = await expectNoLeak(async () => {
      const predictor = await randomFeatures.create(o).fit(train, makeFitContext(Rng.fromSeed(4)));
      predictor.dispose();
      return predictor;
    });
    tf.dispose([train.x, train.y, test]);
    expect(fit.diagnostics?.['host-direct']).toBeUndefined();
    expect(fit.diagnostics?.df).toBeGreaterThan(0);
    expect(fit.diagnostics?.df).toBeLessThan(350);
    // the primal Cholesky with diag(A⁻¹): 2p³/3 + 4p²k; a dual system that size would record no df
    const p = 350;
    expect(ridgeSolveFlops(o, p, 1, undefined, 'primal')).toBe((2 * p ** 3) / 3 + 4 * p * p);
    expect(ridgeSolveFlops(o, p, 1, undefined, 'dual')).toBe(p ** 3 / 3 + 4 * p * p);
    const size = { n, d, k: 1, testN: nt };
    const features = 2 * (n + nt) * p * d;
    expect(randomFeatures.estimate!(o, size)!.flops).toBe(
      features + 2 * n * p * p + (2 * p ** 3) / 3 + 4 * p * p + 2 * nt * p,
    );
  });

  it('blockedPredict over blocks of rows and training points = float64 Σ α_i k(x, x_i) + b', async () => {
    const ref = numpy(true)[1]!;
    const { train, test } = tensors();
    const alpha = tf.tensor2d(Float32Array.from(ref.alpha), [n, 1]);
    const b = tf.tensor2d([ref.b], [1, 1]);
    await expectNoLeak(async () => {
      // 100 test rows in blocks of 32, 400 training points in blocks of 64 (ragged last blocks)
      const f = blockedPredict(rbfKernel(bandwidth), train.x, alpha, test, b, 32, 64);
      expect(f.shape).toEqual([nt, 1]);
      expect(relativeError(await f.data(), ref.predictions)).toBeLessThan(1e-5);
      f.dispose();
    });
    tf.dispose([train.x, train.y, test, alpha, b]);
  });
});

/**
 * gcv / loo rank only the λ whose score float32 resolves (readout/ridge.ts `selectionFloor`: nλ at
 * least 1e-6 of tr M). On noisy labels the float32 score below that floor came out wrong by up to
 * 2400-fold (df above n), and GCV picked the grid's smallest λ; here the choice is checked against
 * GCV in float64 (a numpy port: test/reference/gcv_ridge.py) and against a closed form.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { disposeDataset, RegimesError, Rng } from '@regimes/core';
import {
  createTarget,
  expectNoLeak,
  makeFitContext,
  numpyMissing,
  orthonormalColumns,
} from '@regimes/core/testing';
import { hermite } from '@regimes/targets';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { dualSystem, fitRidge, neuralTangentKernel, selectionFloor } from '../src/index.js';

const reference = fileURLToPath(new URL('./reference/gcv_ridge.py', import.meta.url));
const grid = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1, 10];

describe('gcv picks among the λ float32 resolves', () => {
  it.skipIf(numpyMissing() !== undefined)(
    'relu NTK (L = 2) on noisy labels (n = 512, noise 0.3, 2 seeds): the λ of float64 GCV, its score within 1%',
    async () => {
      const target = createTarget({ factory: hermite, options: { d: 8, degree: 2, noise: 0.3 } });
      const learner = neuralTangentKernel.create(
        neuralTangentKernel.options.parse({ activation: 'relu', layers: 2, ridge: 'gcv' }),
      );
      for (let seed = 0; seed < 2; seed++) {
        const train = target.sample(512, Rng.fromSeed(seed));
        const predictor = await learner.fit(train, makeFitContext(Rng.fromSeed(100 + seed)));
        const ours = { ...predictor.diagnostics! };
        predictor.dispose();
        const config = {
          x: await train.x.array(),
          y: Array.from(await train.y.data()),
          grid,
          layers: 2,
        };
        disposeDataset(train);
        const { stdout } = await promisify(execFile)('python3', [reference, JSON.stringify(config)], {
          maxBuffer: 1 << 26,
        });
        const exact = JSON.parse(stdout) as { gcv: number[]; best: number };
        // float64 GCV's choice lies above the floor here, and is ours
        expect(exact.best).toBeGreaterThanOrEqual(ours['lambda-floor']!);
        expect(ours.lambda).toBe(exact.best);
        const at = grid.indexOf(ours.lambda!);
        expect(Math.abs(ours.gcv! / exact.gcv[at]! - 1)).toBeLessThan(0.01);
      }
    },
  );

  // K = XXᵀ with eigenvalues μ_i = 10^(−5i/(m−1)) (1 … 1e-5): float64 GCV in closed form
  const m = 64;
  const q = orthonormalColumns(m, 3);
  const mu = Float64Array.from({ length: m }, (_, i) => 10 ** ((-5 * i) / (m - 1)));
  const x = Float32Array.from(q, (v, k) => v * Math.sqrt(mu[k % m]!));
  // labels y = Q diag(√μ) g + 0.01·e: signal on the top of the spectrum, a little noise (GCV's best λ inside the grid)
  const g = Rng.fromSeed(4)
    .child('y')
    .normal(2 * m, new Float64Array(2 * m));
  const y = Float64Array.from({ length: m }, (_, i) =>
    mu.reduce((sum, u, j) => sum + q[i * m + j]! * Math.sqrt(u) * g[j]!, 0.01 * g[m + i]!),
  );
  const projected = Float64Array.from(mu, (_, j) =>
    q.reduce((s, _v, i) => (i < m ? s + q[i * m + j]! * y[i]! : s), 0),
  );
  const exactGcv = (lambda: number) => {
    const s = m * lambda;
    const df = mu.reduce((sum, u) => sum + u / (u + s), 0);
    // residual y − Kα = s·Q diag(1/(μ + s)) Qᵀy
    const risk =
      projected.reduce((sum, p, j) => sum + ((s * p) / (mu[j]! + s)) * ((s * p) / (mu[j]! + s)), 0) / m;
    return risk / (1 - df / m) ** 2;
  };
  const linear = (a: tf.Tensor2D, b: tf.Tensor2D) => tf.matMul(a, b, false, true);
  const fit = async (ridgeGrid: number[]) => {
    const xt = tf.tensor2d(x, [m, m]);
    const yt = tf.tensor2d(Float32Array.from(y), [m, 1]);
    try {
      const system = await dualSystem(xt, yt, linear);
      const fits = await fitRidge(system, { ridge: 'gcv', ridgeGrid }, new AbortController().signal);
      const diagnostics = fits.map((f) => f.diagnostics);
      for (const f of fits) f.coefficients.dispose();
      return { diagnostics, floor: selectionFloor(system) };
    } finally {
      tf.dispose([xt, yt]);
    }
  };

  it('the floor is 1e-6 of the trace over n; the choice is the float64 argmin above it; a grid all below it is refused', async () => {
    const trace = mu.reduce((a, b) => a + b, 0);
    const wide = [1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2];
    const { diagnostics, floor } = await expectNoLeak(() => fit(wide));
    expect(Math.abs(floor / ((1e-6 * trace) / m) - 1)).toBeLessThan(1e-5);
    expect(diagnostics).toHaveLength(1);
    const chosen = diagnostics[0]!;
    expect(chosen['lambda-floor']).toBe(floor);
    const eligible = wide.filter((l) => l >= floor);
    const best = eligible.reduce((a, b) => (exactGcv(b) < exactGcv(a) ? b : a));
    expect(chosen.lambda).toBe(best);
    expect(Math.abs(chosen.gcv! / exactGcv(best) - 1)).toBeLessThan(1e-3);
    const refused = fit([1e-12, 1e-11]);
    await expect(refused).rejects.toThrow(RegimesError);
    await expect(refused).rejects.toThrow(/ridgeGrid.*below/);
  });
});

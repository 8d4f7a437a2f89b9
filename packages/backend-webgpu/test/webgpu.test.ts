import { Rng } from '@regimes/core';
import { describeBackendConformance, expectNoLeak } from '@regimes/core/testing';
import { ReluDualKernel, reluDual } from '@regimes/numerics';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { webgpu } from '../src/webgpu.js';

// Runs every check where a WebGPU adapter exists; elsewhere each is reported as skipped with the probe's reason.
describeBackendConformance('webgpu', { factory: webgpu });

describe('webgpu backend', () => {
  it('explains what to install when no adapter is found', async () => {
    const availability = await webgpu.create({}).probe();
    if (!availability.available) expect(availability.reason).toMatch(/webgpu|Vulkan|adapter/i);
    else expect(availability.device).toBeTruthy();
  });
});

describe('webgpu ReLU dual kernel', () => {
  it('gives the arc-cosine kernels of float64 (m×1 and 1×n variances, and per entry) in 2 dispatches', async (ctx) => {
    const backend = webgpu.create({});
    const availability = await backend.probe();
    if (!availability.available) return ctx.skip(`webgpu unavailable: ${availability.reason}`);
    const [m, n] = [37, 53];
    const rng = Rng.fromSeed(21);
    const qa = Array.from(rng.normal(m), (z) => 0.5 + z * z);
    const qb = Array.from(rng.normal(n), (z) => 0.5 + z * z);
    const qaFull = Array.from(rng.normal(m * n), (z) => 0.5 + z * z);
    const qbFull = Array.from(rng.normal(m * n), (z) => 0.5 + z * z);
    // covariances inside the Cauchy–Schwarz bound, and a few at it (cos = ±1)
    const cos = Array.from(rng.normal(m * n), (z, k) => (k % 17 === 0 ? Math.sign(z) : Math.tanh(z)));
    const dual = (a: number, b: number, c: number) => {
      const rest = Math.PI - Math.acos(c);
      return [(Math.sqrt(a * b) * (Math.sqrt(1 - c * c) + rest * c)) / (2 * Math.PI), rest / (2 * Math.PI)];
    };
    const previous = tf.getBackend();
    await backend.activate();
    try {
      expect(tf.getKernel(ReluDualKernel, 'webgpu')).toBeDefined();
      for (const perEntry of [false, true]) {
        const a = (i: number, j: number) => (perEntry ? qaFull[i * n + j]! : qa[i]!);
        const b = (i: number, j: number) => (perEntry ? qbFull[i * n + j]! : qb[j]!);
        const rho = Float32Array.from({ length: m * n }, (_, k) => {
          const [i, j] = [Math.floor(k / n), k % n];
          return cos[k]! * Math.sqrt(a(i, j) * b(i, j));
        });
        let kernels = 0;
        await expectNoLeak(async () => {
          const r = tf.tensor2d(rho, [m, n]);
          const ta = perEntry ? tf.tensor2d(qaFull, [m, n]) : tf.tensor2d(qa, [m, 1]);
          const tb = perEntry ? tf.tensor2d(qbFull, [m, n]) : tf.tensor2d(qb, [1, n]);
          let out: { value: tf.Tensor; derivative: tf.Tensor } | undefined;
          kernels = (await tf.profile(() => (out = reluDual(r, ta, tb)))).kernels.length;
          const [value, derivative] = [await out!.value.data(), await out!.derivative.data()];
          const worst = [0, 0];
          for (let k = 0; k < m * n; k++) {
            const [i, j] = [Math.floor(k / n), k % n];
            // the reference at the float32 cosine the kernel sees
            const c = Math.max(
              -1,
              Math.min(1, rho[k]! / Math.sqrt(Math.fround(a(i, j)) * Math.fround(b(i, j)))),
            );
            const [v, d] = dual(Math.fround(a(i, j)), Math.fround(b(i, j)), c);
            worst[0] = Math.max(worst[0]!, Math.abs(value[k]! - v) / Math.sqrt(a(i, j) * b(i, j)));
            worst[1] = Math.max(worst[1]!, Math.abs(derivative[k]! - d));
          }
          // float32 acos near |cos| = 1 loses ~1e-4 in θ; the ops path on webgpu does the same
          expect(worst[0]).toBeLessThan(2e-4);
          expect(worst[1]).toBeLessThan(2e-4);
          tf.dispose([r, ta, tb, out!.value, out!.derivative]);
        });
        expect(kernels).toBe(1); // the one RegimesReluDual call (its two programs are inside it)
      }
    } finally {
      await tf.setBackend(previous);
    }
  });
});

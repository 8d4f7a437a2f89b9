import { expectNoLeak } from '@regimes/core/testing';
import { ReluDualKernel, reluDual, reluDualOps } from '@regimes/numerics';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { loadBlas } from '../src/blas.js';
import { native } from '../src/native.js';
import { wasm } from '../src/wasm.js';

/** The closed form in float64 (Cho & Saul's arc-cosine kernels of degrees 1 and 0). */
function reference(rho: number, qa: number, qb: number) {
  const scale = Math.sqrt(qa * qb);
  const cos = Math.min(1, Math.max(-1, rho / Math.max(scale, 1e-12)));
  const theta = Math.acos(cos);
  return {
    value: (scale * (Math.sqrt(1 - cos * cos) + (Math.PI - theta) * cos)) / (2 * Math.PI),
    derivative: (Math.PI - theta) / (2 * Math.PI),
    scale,
  };
}

/** Fixed inputs: variances in [0.05, 2.05], covariances up to ±1.2·√(q_a q_b) (so some clamp), the edges exact. */
function inputs(m: number, n: number) {
  const qa = Float32Array.from({ length: m }, (_, i) => 0.05 + ((i * 37) % 101) / 50);
  const qb = Float32Array.from({ length: n }, (_, j) => 0.05 + ((j * 53) % 97) / 48);
  const rho = new Float32Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      const s = Math.sqrt(qa[i]! * qb[j]!);
      rho[i * n + j] = s * 1.2 * Math.sin(0.7 * i + 1.3 * j);
    }
  // the edges: θ = 0, θ = π, ρ = 0
  rho[0] = Math.sqrt(qa[0]! * qb[0]!);
  rho[1] = -2 * Math.sqrt(qa[0]! * qb[1]!);
  rho[2] = 0;
  return { rho, qa, qb };
}

/** Largest error against the float64 closed form: the value's relative to √(q_a q_b), the derivative's absolute. */
function worstError(
  values: Float32Array,
  derivatives: Float32Array,
  x: ReturnType<typeof inputs>,
  n: number,
) {
  let worst = 0;
  for (let k = 0; k < x.rho.length; k++) {
    const i = Math.floor(k / n);
    const j = k % n;
    const r = reference(x.rho[k]!, x.qa[i]!, x.qb[j]!);
    worst = Math.max(
      worst,
      Math.abs(values[k]! - r.value) / r.scale,
      Math.abs(derivatives[k]! - r.derivative),
    );
  }
  return worst;
}

const { blas } = loadBlas();

describe.each([
  ['wasm', wasm, true],
  ['native', native, blas !== undefined],
] as const)('ReLU dual kernel on %s', (_name, kind, present) => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it.skipIf(!present)(
    'is registered, agrees with the float64 closed form to float32 rounding, frees its tensors',
    async () => {
      await kind.create({}).activate();
      expect(tf.getKernel(ReluDualKernel, tf.getBackend())).toBeDefined();
      const [m, n] = [67, 45];
      const x = inputs(m, n);
      const { values, derivatives, viaOps } = await expectNoLeak(() =>
        tf.tidy(() => {
          const rho = tf.tensor2d(x.rho, [m, n]);
          const qa = tf.tensor2d(x.qa, [m, 1]);
          const qb = tf.tensor2d(x.qb, [1, n]);
          const kernel = reluDual(rho, qa, qb);
          const ops = reluDualOps(rho, qa, qb);
          return {
            values: kernel.value.dataSync() as Float32Array,
            derivatives: kernel.derivative.dataSync() as Float32Array,
            viaOps: worstError(
              ops.value.dataSync() as Float32Array,
              ops.derivative.dataSync() as Float32Array,
              x,
              n,
            ),
          };
        }),
      );
      // one rounding from float64: half an ulp of values up to ~2.05 (the ops round at each of 16 steps)
      const kernelError = worstError(values, derivatives, x, n);
      expect(kernelError).toBeLessThan(2.5e-7);
      expect(viaOps).toBeLessThan(1e-5);
      expect(values[0]).toBeCloseTo(reference(x.rho[0]!, x.qa[0]!, x.qb[0]!).value, 6); // θ = 0
      expect(values[1]).toBe(0); // θ = π: no overlap
      expect(derivatives[1]).toBe(0);
      expect(derivatives[2]).toBeCloseTo(0.25, 7); // ρ = 0: θ = π/2
    },
  );

  it.skipIf(!present)(
    'differentiates under tf.grad through the ops: ∂E[relu(u)relu(v)]/∂ρ = E[step(u)step(v)] (Price)',
    async () => {
      await kind.create({}).activate();
      const [m, n] = [12, 7];
      const x = inputs(m, n);
      const [gradient, derivative] = tf.tidy(() => {
        const qa = tf.tensor2d(x.qa, [m, 1]);
        const qb = tf.tensor2d(x.qb, [1, n]);
        // away from the clamp |cos θ| = 1, where the ops' gradient is cut
        const rho = tf.mul(tf.tensor2d(x.rho, [m, n]), 0.6);
        const g = tf.grad((r: tf.Tensor) => tf.sum(reluDual(r, qa, qb).value))(rho);
        return [g.dataSync(), reluDual(rho, qa, qb).derivative.dataSync()];
      });
      for (let k = 0; k < m * n; k++) expect(gradient[k]).toBeCloseTo(derivative[k]!, 5);
    },
  );

  it.skipIf(!present)(
    "takes per-entry variances on either side (the layers' q ↦ E[σ(z)²]), as the ops do",
    async () => {
      await kind.create({}).activate();
      const q = Float32Array.from({ length: 9 }, (_, i) => 0.1 + i * 0.3);
      for (const shape of [
        [9, 1],
        [1, 9],
      ] as [number, number][]) {
        const [kernel, ops] = tf.tidy(() => {
          const t = tf.tensor2d(q, shape);
          const k = reluDual(t, t, t);
          const o = reluDualOps(t, t, t);
          return [k.value.dataSync(), o.value.dataSync()];
        });
        // at ρ = q_a = q_b = q: E[relu(z)²] = q/2
        for (let i = 0; i < q.length; i++) {
          expect(kernel[i]).toBeCloseTo(q[i]! / 2, 6);
          expect(ops[i]).toBeCloseTo(q[i]! / 2, 5);
        }
      }
    },
  );
});

describe('ReLU dual without the kernel', () => {
  it('runs as tfjs ops on a backend that has none (cpu), with the same values', async () => {
    await tf.setBackend('cpu');
    expect(tf.getKernel(ReluDualKernel, 'cpu')).toBeUndefined();
    const [m, n] = [20, 30];
    const x = inputs(m, n);
    const [values, derivatives] = tf.tidy(() => {
      const r = reluDual(tf.tensor2d(x.rho, [m, n]), tf.tensor2d(x.qa, [m, 1]), tf.tensor2d(x.qb, [1, n]));
      return [r.value.dataSync() as Float32Array, r.derivative.dataSync() as Float32Array];
    });
    expect(worstError(values, derivatives, x, n)).toBeLessThan(1e-5);
  });
});

import { expectNoLeak } from '@regimes/core/testing';
import { CorrelationKernel, correlation, correlationOps } from '@regimes/numerics';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { loadBlas } from '../src/blas.js';
import { native } from '../src/native.js';
import { wasm } from '../src/wasm.js';

/** c/√(q_a q_b) in float64, clamped, rounded once to float32. */
function reference(c: number, qa: number, qb: number): number {
  const product = qa * qb;
  return Math.fround(Math.min(1, Math.max(-1, c / Math.sqrt(product > 0 ? product : 1e-300))));
}

/** Variances in [0.01, 3.01], covariances up to ±1.1·√(q_a q_b) (some clamp), and within 3e-6 of ±1. */
function inputs(m: number, n: number) {
  const qa = Float32Array.from({ length: m }, (_, i) => 0.01 + ((i * 37) % 101) / 33);
  const qb = Float32Array.from({ length: n }, (_, j) => 0.01 + ((j * 53) % 97) / 32);
  const c = new Float32Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) c[i * n + j] = Math.sqrt(qa[i]! * qb[j]!) * 1.1 * Math.sin(0.7 * i + 1.3 * j);
  c[0] = Math.sqrt(qa[0]! * qb[0]!) * (1 - 3e-6);
  c[1] = -Math.sqrt(qa[0]! * qb[1]!) * (1 - 3e-6);
  return { c, qa, qb };
}

const { blas } = loadBlas();

describe.each([
  ['wasm (the JavaScript loop)', wasm, true],
  ['native (the addon)', native, blas?.correlation !== undefined],
] as const)('correlation kernel on %s', (_name, kind, present) => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it.skipIf(!present)(
    'is registered, gives the float64 quotient rounded once (the ops within 2 ulps), frees its tensors',
    async () => {
      await kind.create({}).activate();
      expect(tf.getKernel(CorrelationKernel, tf.getBackend())).toBeDefined();
      const [m, n] = [67, 45];
      const x = inputs(m, n);
      const [kernel, ops] = await expectNoLeak(() =>
        tf.tidy(() => {
          const args = [
            tf.tensor2d(x.c, [m, n]),
            tf.tensor2d(x.qa, [m, 1]),
            tf.tensor2d(x.qb, [1, n]),
          ] as const;
          return [correlation(...args).dataSync(), correlationOps(...args).dataSync()];
        }),
      );
      for (let k = 0; k < m * n; k++) {
        const want = reference(x.c[k]!, x.qa[Math.floor(k / n)]!, x.qb[k % n]!);
        expect(kernel[k], `entry ${k}`).toBe(want);
        expect(Math.abs(ops[k]! - want), `ops entry ${k}`).toBeLessThanOrEqual(2.4e-7);
      }
      // within 3e-6 of ±1: kept (only the ReLU dual takes cosines near ±1 as ±1)
      expect(Math.abs(kernel[0]! - (1 - 3e-6))).toBeLessThan(2e-7);
      expect(Math.abs(kernel[1]! + (1 - 3e-6))).toBeLessThan(2e-7);
    },
  );

  it.skipIf(!present)(
    'takes per-entry variances, gives 0 at a zero variance and NaN for NaN, and keeps the angle from 1e-30 to 1e30',
    async () => {
      await kind.create({}).activate();
      const cases = [
        // [c, qa, qb, expected]
        [0, 0, 1, 0],
        [0, 0, 0, 0],
        [Number.NaN, 1, 1, Number.NaN],
        [0.5, Number.NaN, 1, Number.NaN],
        [0.5e-30, 1e-30, 1e-30, 0.5],
        [-0.25e30, 1e30, 1e30, -0.25],
        [1e-30 * 0.3, 1e-30, 1, 0.3 * 1e-15],
        [2, 1, 1, 1],
      ];
      const column = (i: number) =>
        tf.tensor2d(
          cases.map((row) => row[i]!),
          [cases.length, 1],
        );
      const t = tf.tidy(() => correlation(column(0), column(1), column(2)).dataSync());
      cases.forEach(([, , , want], e) => {
        if (Number.isNaN(want)) expect(t[e], `case ${e}`).toBeNaN();
        else
          expect(Math.abs(t[e]! - want!) / Math.max(Math.abs(want!), 1e-30), `case ${e}`).toBeLessThan(1e-6);
      });
    },
  );

  it.skipIf(!present)("under tf.grad takes the ops, whose gradient is c's 1/√(q_a q_b)", async () => {
    await kind.create({}).activate();
    const g = tf.tidy(() =>
      tf
        .grad((c: tf.Tensor) => tf.sum(correlation(c, tf.tensor2d([4], [1, 1]), tf.tensor2d([1], [1, 1]))))(
          tf.tensor2d([0.5], [1, 1]),
        )
        .dataSync(),
    );
    expect(g[0]).toBeCloseTo(0.5, 6);
  });
});

describe('the addon’s correlation', () => {
  it.skipIf(blas?.correlation === undefined)(
    'refuses operands of the wrong size or an argument too many',
    () => {
      const one = new Float32Array(1);
      expect(() => blas!.correlation!(2, 2, one, one, one, one)).toThrow(
        /correlation operands are not Float32Arrays of m×n/,
      );
      const call = blas!.correlation! as unknown as (...args: unknown[]) => void;
      expect(() => call(1, 1, one, one, one, one, 0.5)).toThrow(/correlation\(m, n, c, qa, qb, t\)/);
    },
  );
});

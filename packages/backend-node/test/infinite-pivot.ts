// A check both LAPACK tests run on their host LAPACK (OpenBLAS's, and the addon's own without it).
import { Rng } from '@regimes/core';
import { type HostLapack, hostCholesky, NumericalError } from '@regimes/numerics';
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';

/**
 * hostCholesky (potrf) on a 100×100 system XXᵀ + 0.5·I whose pivot 37 is +∞: potrf's own test is
 * d > 0, which passes it, leaving L_jj = ∞ and zeros below (a solve would return 0 for that
 * unknown); the backend's wrapper fails it (a NumericalError after the jitter retries), as numerics'
 * host factor does.
 */
export function expectInfinitePivotFails(lapack: HostLapack): void {
  const n = 100;
  const x = Rng.fromSeed(9).normal(n * 8);
  const a = new Float32Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let q = 0; q < 8; q++) s += x[i * 8 + q]! * x[j * 8 + q]!;
      a[i * n + j] = s;
    }
  a[37 * n + 37] = Infinity;
  const whole = tf.tensor2d(a, [n, n]);
  try {
    const panels = (s: number, size: number) => tf.slice(whole, [s, s], [n - s, size]) as tf.Tensor2D;
    const factor = () => hostCholesky(panels, n, new Float32Array(n * n), lapack, { shift: 0.5, block: 32 });
    expect(factor).toThrow(NumericalError);
    expect(factor).toThrow(/even with jitter 1\.0e-2; on the last try pivot 37 \(row 37 of 0\.\.99\)/);
  } finally {
    whole.dispose();
  }
}

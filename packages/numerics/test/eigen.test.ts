import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { HOST_EIGEN_LIMIT, symmetricEigenSolver, symmetricEigenTensor } from '../src/tensor/eigen.js';
import { BackendUnavailable } from '../src/errors.js';
import { symmetricEigen } from '../src/host/linalg.js';
import { Rng } from '@regimes/core';
import { expectNoLeak } from '@regimes/core/testing';
import { eigenResidual, symmetricWithSpectrum } from '@regimes/core/testing';

describe('symmetricEigenTensor (cpu: host Jacobi)', () => {
  it('matches the float64 Jacobi reference and the known spectrum, reading only the lower triangle', async () => {
    const m = 48;
    const spectrum = (i: number) => 10 ** (-4 * (i / (m - 1))); // 1 … 1e-4, descending
    const a = symmetricWithSpectrum(m, spectrum, Rng.fromSeed(1));
    const reference = symmetricEigen(a, m);
    // the strict upper triangle is garbage: only the lower one may be read
    const input = Float32Array.from(a, (v, k) => (k % m > Math.floor(k / m) ? 1e3 : v));
    expect(symmetricEigenSolver(m)).toBe('host');
    await expectNoLeak(async () => {
      const x = tf.tensor2d(input, [m, m]);
      const { values, vectors } = await symmetricEigenTensor(x);
      const v = await values.data();
      const q = await vectors.data();
      tf.dispose([x, values, vectors]);
      for (let i = 0; i < m; i++) {
        // float32 input rounding moves eigenvalues by ~1e-7·λ_max; the output is float32
        expect(Math.abs(v[i]! - reference.values[i]!)).toBeLessThan(1e-6);
        expect(Math.abs(v[i]! - spectrum(i))).toBeLessThan(1e-6);
      }
      expect(eigenResidual(a, m, v, q)).toBeLessThan(1e-5);
    });
  });

  it(`is unavailable above ${HOST_EIGEN_LIMIT} without a backend kernel, and says so`, async () => {
    const m = HOST_EIGEN_LIMIT + 1;
    expect(symmetricEigenSolver(m)).toBeUndefined();
    const x = tf.eye(m) as tf.Tensor2D;
    await expectNoLeak(() => expect(symmetricEigenTensor(x)).rejects.toThrow(BackendUnavailable));
    x.dispose();
  });
});

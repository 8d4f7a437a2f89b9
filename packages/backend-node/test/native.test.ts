import {
  HOST_EIGEN_LIMIT,
  NumericalError,
  symmetricEigen,
  symmetricEigenSolver,
  symmetricEigenTensor,
} from '@regimes/numerics';
import {
  describeBackendConformance,
  eigenResidual,
  expectNoLeak,
  symmetricWithSpectrum,
} from '@regimes/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { loadBlas } from '../src/blas.js';
import { native } from '../src/native.js';
import { wasm } from '../src/wasm.js';

// Runs where the BLAS addon is built (CI installs OpenBLAS); elsewhere skipped with the probe's reason.
describeBackendConformance('native', { factory: native });

const { blas } = loadBlas();

describe('native backend', () => {
  it('says what to install when the addon is missing, else names its BLAS', async () => {
    const a = await native.create({}).probe();
    if (a.available) expect(a.device).toMatch(blas?.openblas ? /OpenBLAS/i : /regimes SGEMM/);
    else expect(a.reason).toMatch(/C compiler.*libopenblas-dev.*npm run build:native/);
    // no addon at all, whatever this machine has: REGIMES_NATIVE_ADDON names the only one to try
    const saved = process.env.REGIMES_NATIVE_ADDON;
    process.env.REGIMES_NATIVE_ADDON = '/nonexistent/regimes_blas.node';
    try {
      const none = await native.create({}).probe();
      expect(none.available).toBe(false);
      expect(none.reason).toMatch(
        /\/nonexistent\/regimes_blas\.node is absent.*C compiler.*libopenblas-dev.*npm run build:native/,
      );
    } finally {
      if (saved === undefined) delete process.env.REGIMES_NATIVE_ADDON;
      else process.env.REGIMES_NATIVE_ADDON = saved;
    }
  });

  it.skipIf(!blas?.syevd)(
    'dsyevd keeps small eigenvalues to float32 relative precision where ssyevd does not (why float64)',
    () => {
      const m = 160;
      const spectrum = (i: number) => 10 ** (-6 * (i / (m - 1))); // 1 … 1e-6
      const rounded = Float32Array.from(symmetricWithSpectrum(m, spectrum, 2));
      // the reference: float64 Jacobi of the float32 matrix the addon receives
      const reference = symmetricEigen(rounded, m).values;
      const worst = (double: boolean) => {
        const values = new Float32Array(m);
        const vectors = new Float32Array(m * m);
        expect(blas!.syevd!(double, m, rounded, 0, values, 0, vectors, 0)).toBe(0);
        let absolute = 0;
        let relative = 0;
        for (let i = 0; i < m; i++) {
          const e = Math.abs(values[i]! - reference[i]!);
          absolute = Math.max(absolute, e);
          relative = Math.max(relative, e / Math.abs(reference[i]!));
        }
        return { absolute, relative, residual: eigenResidual(rounded, m, values, vectors) };
      };
      const double = worst(true);
      const single = worst(false);
      // float64: every eigenvalue to the float32 output's rounding (6e-8 relative)
      expect(double.relative).toBeLessThan(1e-6);
      // float32: absolute error ~1e-7·λ_max, i.e. large relative error on λ ~ 1e-6
      expect(single.absolute).toBeLessThan(1e-5);
      expect(single.relative).toBeGreaterThan(10 * double.relative);
      expect(double.residual).toBeLessThan(1e-5);
      expect(single.residual).toBeLessThan(1e-5);
    },
  );

  it.skipIf(!blas?.syevd)(
    `serves symmetricEigenTensor by dsyevd, matching float64 Jacobi; the wasm kind leaves the host solver (up to ${HOST_EIGEN_LIMIT})`,
    async () => {
      const m = 300;
      const spectrum = (i: number) => 2 * 10 ** (-3 * (i / (m - 1)));
      const a = symmetricWithSpectrum(m, spectrum, 3);
      const rounded = Float32Array.from(a);
      const reference = symmetricEigen(rounded, m).values;
      // only the lower triangle may be read
      const input = Float32Array.from(rounded, (v, k) => (k % m > Math.floor(k / m) ? Number.NaN : v));
      await native.create({}).activate();
      try {
        expect(symmetricEigenSolver(m)).toBe('kernel');
        await expectNoLeak(async () => {
          const x = tf.tensor2d(input, [m, m]);
          const { values, vectors } = await symmetricEigenTensor(x);
          const v = await values.data();
          const q = await vectors.data();
          tf.dispose([x, values, vectors]);
          for (let i = 0; i < m; i++) {
            expect(Math.abs(v[i]! - reference[i]!)).toBeLessThan(1e-6 * Math.abs(reference[i]!));
            expect(Math.abs(v[i]! - spectrum(i))).toBeLessThan(1e-6); // float32 rounding of M
          }
          expect(eigenResidual(rounded, m, v, q)).toBeLessThan(1e-5);
        });
        // a NaN in the lower triangle: refused as on the host, nothing left behind
        const poisoned = Float32Array.from(input, (v, k) => (k === 7 * m + 3 ? Number.NaN : v));
        await expectNoLeak(async () => {
          const x = tf.tensor2d(poisoned, [m, m]);
          const error: unknown = await symmetricEigenTensor(x).catch((e: unknown) => e);
          expect(error).toBeInstanceOf(NumericalError);
          expect((error as Error).message).toMatch(/NaN at row 7, column 3/);
          x.dispose();
          // on a 2×2 diagonal dsyevd gave finite eigenvalues (±√2) beside NaN vectors; an infinity
          // off the diagonal of a 3×3 gave "dsyevd failed (info 2)"
          for (const [entries, size, where] of [
            [[Number.NaN, 9, 1, 0], 2, /NaN at row 0, column 0/],
            [[0, 9, 1, Number.NaN], 2, /NaN at row 1, column 1/],
            [[1, 9, 9, Infinity, 1, 9, 0, 0, 1], 3, /Infinity at row 1, column 0/],
          ] as const) {
            const small = tf.tensor2d([...entries], [size, size]);
            await expect(symmetricEigenTensor(small)).rejects.toThrow(where);
            small.dispose();
          }
        });
        await wasm.create({}).activate();
        expect(symmetricEigenSolver(m)).toBe('webassembly');
        expect(symmetricEigenSolver(HOST_EIGEN_LIMIT + 1)).toBeUndefined();
      } finally {
        await tf.setBackend('cpu');
      }
    },
  );
});

import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HOST_EIGEN_LIMIT, symmetricEigenSolver, symmetricEigenTensor } from '../src/tensor/eigen.js';
import { BackendUnavailable, NumericalError } from '../src/errors.js';
import { symmetricEigen } from '../src/host/linalg.js';
import { symmetricEigenTridiagonal } from '../src/host/tridiagonal-eigen.js';
import { useWebAssemblyEigen } from '../src/host/eigen-wasm.js';
import { Rng } from '@regimes/core';
import { expectNoLeak } from '@regimes/core/testing';
import { eigenResidual, symmetricWithSpectrum } from '@regimes/core/testing';

describe.each([
  ['WebAssembly', true, 'webassembly'],
  ['JavaScript', false, 'host'],
] as const)('symmetricEigenTensor (cpu: the host solver in %s)', (_, wasm, kind) => {
  beforeEach(() => useWebAssemblyEigen(wasm));
  afterEach(() => useWebAssemblyEigen(true));

  it('matches the float64 Jacobi reference and the known spectrum, reading only the lower triangle', async () => {
    const m = 48;
    const spectrum = (i: number) => 10 ** (-4 * (i / (m - 1))); // 1 … 1e-4, descending
    const a = symmetricWithSpectrum(m, spectrum, Rng.fromSeed(1));
    const reference = symmetricEigen(a, m);
    // the strict upper triangle is garbage: only the lower one may be read
    const input = Float32Array.from(a, (v, k) => (k % m > Math.floor(k / m) ? 1e3 : v));
    expect(symmetricEigenSolver(m)).toBe(kind);
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

  it('decomposes past the old Jacobi limit of 256 (m = 300) to float32 precision', async () => {
    const m = 300;
    const spectrum = (i: number) => 10 ** (-5 * (i / (m - 1)));
    const a = symmetricWithSpectrum(m, spectrum, Rng.fromSeed(4));
    expect(symmetricEigenSolver(m)).toBe(kind);
    await expectNoLeak(async () => {
      const x = tf.tensor2d(Float32Array.from(a), [m, m]);
      const { values, vectors } = await symmetricEigenTensor(x);
      const v = await values.data();
      const q = await vectors.data();
      tf.dispose([x, values, vectors]);
      for (let i = 0; i < m; i++) expect(Math.abs(v[i]! - spectrum(i))).toBeLessThan(1e-6);
      expect(eigenResidual(a, m, v, q)).toBeLessThan(1e-5);
      expect(orthogonality(Float64Array.from(q), m)).toBeLessThan(1e-5);
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

/** max |VᵀV − I| over all pairs (vectors as columns, row-major m×m). */
function orthogonality(vectors: Float64Array, m: number): number {
  let worst = 0;
  for (let j = 0; j < m; j++)
    for (let l = 0; l <= j; l++) {
      let dot = 0;
      for (let k = 0; k < m; k++) dot += vectors[k * m + j]! * vectors[k * m + l]!;
      worst = Math.max(worst, Math.abs(dot - (j === l ? 1 : 0)));
    }
  return worst;
}

describe('symmetricEigenTridiagonal (host float64: Householder, then implicit QL)', () => {
  it('gives the closed-form spectrum and eigenvectors of the second-difference matrix', () => {
    // tridiag(−1, 2, −1): λ_j = 2 − 2cos(jπ/(m+1)), v_j(i) ∝ sin(ijπ/(m+1)), j = 1..m
    const m = 200;
    const a = new Float64Array(m * m);
    for (let i = 0; i < m; i++) {
      a[i * m + i] = 2;
      if (i > 0) a[i * m + i - 1] = a[(i - 1) * m + i] = -1;
    }
    const { values, vectors } = symmetricEigenTridiagonal(a, m);
    for (let r = 0; r < m; r++) {
      const j = m - r; // descending
      const angle = (j * Math.PI) / (m + 1);
      expect(Math.abs(values[r]! - (2 - 2 * Math.cos(angle)))).toBeLessThan(1e-13);
      // ‖v − ±exact‖ (the sign of an eigenvector is free)
      let norm = 0;
      let dot = 0;
      for (let i = 0; i < m; i++) {
        norm += Math.sin((i + 1) * angle) ** 2;
        dot += Math.sin((i + 1) * angle) * vectors[i * m + r]!;
      }
      const sign = Math.sign(dot) / Math.sqrt(norm);
      let distance = 0;
      for (let i = 0; i < m; i++) distance += (vectors[i * m + r]! - sign * Math.sin((i + 1) * angle)) ** 2;
      expect(Math.sqrt(distance)).toBeLessThan(1e-10);
    }
  });

  it('recovers a dense known spectrum (signs, a 1e8 spread, repeated values) and agrees with Jacobi', () => {
    const m = 120;
    // 3 values repeated 10 times each, the rest spread over 1e8 in magnitude, a fifth negative
    const spectrum = (i: number) =>
      i < 30
        ? [5, 1, 0.25][Math.floor(i / 10)]!
        : 10 ** (-8 * ((i - 30) / (m - 31))) * (i % 5 === 0 ? -1 : 1);
    const a = symmetricWithSpectrum(m, spectrum, Rng.fromSeed(7));
    const { values, vectors } = symmetricEigenTridiagonal(a, m);
    const sorted = Array.from({ length: m }, (_, i) => spectrum(i)).sort((x, y) => y - x);
    values.forEach((v, i) => expect(Math.abs(v - sorted[i]!)).toBeLessThan(1e-13 * 5));
    expect(eigenResidual(a, m, values, vectors)).toBeLessThan(1e-13);
    expect(orthogonality(vectors, m)).toBeLessThan(1e-13);
    const jacobi = symmetricEigen(a, m).values;
    values.forEach((v, i) => expect(Math.abs(v - jacobi[i]!)).toBeLessThan(1e-13 * 5));
  });

  it('reads only the lower triangle, and handles the sizes and structures that skip or split steps', () => {
    const cases: { name: string; m: number; a: (i: number, j: number) => number }[] = [
      { name: '1×1', m: 1, a: () => -3 },
      { name: '2×2', m: 2, a: (i, j) => (i === j ? 1 + i : 0.5) },
      { name: 'zero', m: 7, a: () => 0 },
      { name: 'identity (one eigenvalue, 9 times)', m: 9, a: (i, j) => (i === j ? 1 : 0) },
      { name: 'diagonal (no reflector acts)', m: 8, a: (i, j) => (i === j ? (i * 7) % 5 : 0) },
      // two blocks: the tridiagonal splits, QL deflates in the middle
      { name: 'block diagonal', m: 10, a: (i, j) => (i < 5 === j < 5 ? 1 / (1 + i + j) : 0) },
      { name: 'rank one', m: 12, a: (i, j) => (i + 1) * (j + 1) },
    ];
    for (const c of cases) {
      const { m } = c;
      const full = new Float64Array(m * m);
      const lower = new Float64Array(m * m);
      for (let i = 0; i < m; i++)
        for (let j = 0; j < m; j++) {
          full[i * m + j] = c.a(Math.max(i, j), Math.min(i, j));
          lower[i * m + j] = j <= i ? full[i * m + j]! : Number.NaN;
        }
      const { values, vectors } = symmetricEigenTridiagonal(lower, m);
      const scale = Math.max(1, ...Array.from(full, Math.abs));
      const jacobi = symmetricEigen(full, m).values;
      values.forEach((v, i) => expect(Math.abs(v - jacobi[i]!), c.name).toBeLessThan(1e-12 * scale));
      for (let i = 1; i < m; i++) expect(values[i]!, c.name).toBeLessThanOrEqual(values[i - 1]!);
      expect(orthogonality(vectors, m), c.name).toBeLessThan(1e-13);
      // A V = V Λ, column by column
      for (let j = 0; j < m; j++)
        for (let i = 0; i < m; i++) {
          let av = 0;
          for (let k = 0; k < m; k++) av += full[i * m + k]! * vectors[k * m + j]!;
          expect(Math.abs(av - values[j]! * vectors[i * m + j]!), c.name).toBeLessThan(1e-12 * scale);
        }
    }
    expect(symmetricEigenTridiagonal(new Float64Array(0), 0).values.length).toBe(0);
  });

  it('scales: entries of 1e±200 and subnormal ones give the known spectrum times the scale', () => {
    const m = 20;
    const spectrum = (i: number) => 10 ** (-3 * (i / (m - 1)));
    const a = symmetricWithSpectrum(m, spectrum, Rng.fromSeed(3));
    // a subnormal entry carries ~1e-323 absolute: ~1e-13 of the largest at 1e-310
    for (const [scale, tolerance] of [
      [1e200, 1e-13],
      [1e-200, 1e-13],
      [1e-310, 1e-11],
    ] as const) {
      const { values, vectors } = symmetricEigenTridiagonal(
        Float64Array.from(a, (v) => v * scale),
        m,
      );
      values.forEach((v, i) => expect(Math.abs(v / scale - spectrum(i)), `${scale}`).toBeLessThan(tolerance));
      expect(orthogonality(vectors, m), `${scale}`).toBeLessThan(1e-13);
    }
  });

  it('refuses a non-finite entry instead of iterating on it, naming where it is', async () => {
    const a = Float64Array.from([1, 0, 0, Number.NaN, 1, 0, 0, 0, 1]);
    expect(() => symmetricEigenTridiagonal(a, 3)).toThrow(NumericalError);
    expect(() => symmetricEigenTridiagonal(a, 3)).toThrow(/non-finite entry \(NaN at row 1, column 0\)/);
    // through the tensor entry point (cpu: the host solver), with nothing left behind
    await expectNoLeak(async () => {
      const x = tf.tensor2d(
        Float32Array.from(a, (v, k) => (k === 6 ? Infinity : k === 3 ? 0 : v)),
        [3, 3],
      );
      await expect(symmetricEigenTensor(x)).rejects.toThrow(/Infinity at row 2, column 0/);
      x.dispose();
    });
  });
});

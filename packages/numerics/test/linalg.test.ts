import { describe, expect, it } from 'vitest';
import {
  cholesky,
  choleskySolve,
  choleskyStatus,
  invertLower,
  principalCosines,
  solveShiftedSPD,
  topEigenvectors,
} from '../src/host/linalg.js';
import { Rng } from '@regimes/core';
import { gaussHermite } from '../src/host/quadrature.js';
import { chiSquareCdf, chiSquareSf, erf, hermiteValues, normalCdf } from '../src/host/special.js';
import { symmetricWithSpectrum } from '@regimes/core/testing';

/** Float64 reference: Gaussian elimination with partial pivoting, independent of Cholesky. */
function gaussSolve(a: Float64Array, m: number, b: Float64Array): Float64Array {
  const A = Float64Array.from(a);
  const x = Float64Array.from(b);
  for (let c = 0; c < m; c++) {
    let p = c;
    for (let r = c + 1; r < m; r++) if (Math.abs(A[r * m + c]!) > Math.abs(A[p * m + c]!)) p = r;
    for (let k = 0; k < m; k++) [A[c * m + k], A[p * m + k]] = [A[p * m + k]!, A[c * m + k]!];
    [x[c], x[p]] = [x[p]!, x[c]!];
    for (let r = c + 1; r < m; r++) {
      const f = A[r * m + c]! / A[c * m + c]!;
      for (let k = c; k < m; k++) A[r * m + k]! -= f * A[c * m + k]!;
      x[r]! -= f * x[c]!;
    }
  }
  for (let r = m - 1; r >= 0; r--) {
    let s = x[r]!;
    for (let k = r + 1; k < m; k++) s -= A[r * m + k]! * x[k]!;
    x[r] = s / A[r * m + r]!;
  }
  return x;
}

const spdWithSpectrum = (m: number, eigs: number[], rng: Rng) =>
  symmetricWithSpectrum(m, (i) => eigs[i]!, rng);

const relError = (x: Float64Array, y: Float64Array) =>
  Math.sqrt(x.reduce((s, v, i) => s + (v - y[i]!) ** 2, 0) / y.reduce((s, v) => s + v * v, 0));

describe('host Cholesky solve (float64)', () => {
  it.each([
    [1e2, 1e-12],
    [1e6, 1e-8],
    [1e10, 1e-4],
  ])(
    'agrees with Gaussian elimination at condition number %d (relative error < %d)',
    (condition, tolerance) => {
      const m = 40;
      const rng = Rng.fromSeed(0).child('spd', condition);
      const eigs = Array.from({ length: m }, (_, i) => condition ** (-i / (m - 1)));
      const a = spdWithSpectrum(m, eigs, rng);
      const b = rng.normal(m, new Float64Array(m));
      const x = choleskySolve(cholesky(Float64Array.from(a), m), m, Float64Array.from(b));
      expect(relError(x, gaussSolve(a, m, b))).toBeLessThan(tolerance);
    },
  );

  it('solves several right-hand sides with a shift (A + λI)x = b', () => {
    const m = 12;
    const rng = Rng.fromSeed(1);
    const a = spdWithSpectrum(
      m,
      Array.from({ length: m }, (_, i) => i / m),
      rng,
    ); // singular: eig 0
    const b = rng.normal(m * 3, new Float64Array(m * 3));
    const x = solveShiftedSPD(a, m, 0.1, b, 3);
    const shifted = Float64Array.from(a);
    for (let i = 0; i < m; i++) shifted[i * m + i]! += 0.1;
    for (let c = 0; c < 3; c++) {
      const column = Float64Array.from({ length: m }, (_, i) => b[i * 3 + c]!);
      const xc = Float64Array.from({ length: m }, (_, i) => x[i * 3 + c]!);
      expect(relError(xc, gaussSolve(shifted, m, column))).toBeLessThan(1e-12);
    }
  });

  it("inverts a lower-triangular factor: L·L⁻¹ = I, upper triangle zero, L's upper triangle unread", () => {
    const m = 40;
    const l = cholesky(
      symmetricWithSpectrum(m, (i) => 10 ** (-i / (m - 1)), Rng.fromSeed(4)),
      m,
    );
    for (let i = 0; i < m; i++) for (let k = i + 1; k < m; k++) l[i * m + k] = 1e9; // noise above
    const inv = invertLower(l, m);
    let worst = 0;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < m; j++) {
        let s = 0;
        for (let k = j; k <= i; k++) s += l[i * m + k]! * inv[k * m + j]!;
        worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
        if (j > i) expect(inv[i * m + j]).toBe(0);
      }
    expect(worst).toBeLessThan(1e-12); // κ(L) ≈ 3
  });

  it('says what to change when the matrix is not positive definite', () => {
    expect(() => cholesky(Float64Array.from([1, 2, 2, 1]), 2)).toThrow(
      /pivot 1 of 2 \(value -3\.000e\+0\): the matrix is not positive definite/,
    );
  });

  it('choleskyStatus: the 1-based failing pivot, or 0 and the factor cholesky gives', () => {
    const m = 6;
    const a = symmetricWithSpectrum(m, (i) => 2 - i / 3, Rng.fromSeed(5)); // eigenvalues 2 … 1/3
    const l = Float64Array.from(a);
    expect(choleskyStatus(l, m)).toBe(0);
    expect(Array.from(l)).toEqual(Array.from(cholesky(Float64Array.from(a), m)));
    // pivot 3's Schur complement is A₃₃ − |L₃,:₃|² < 0 once A₃₃ is 0
    const bad = Float64Array.from(a);
    bad[3 * m + 3] = 0;
    expect(choleskyStatus(bad, m)).toBe(4);
  });
});

describe('host symmetric eigen-solver (cyclic Jacobi)', () => {
  it('recovers a known spectrum and orthonormal eigenvectors (A = Q diag(λ) Qᵀ, λ spread over 1e6)', async () => {
    const { symmetricEigen } = await import('../src/host/linalg.js');
    const m = 30;
    const eigs = Array.from(
      { length: m },
      (_, i) => 1e3 * 10 ** (-6 * (i / (m - 1))) * (i % 3 === 0 ? -1 : 1),
    );
    const a = spdWithSpectrum(m, eigs, Rng.fromSeed(9));
    const { values, vectors } = symmetricEigen(a, m);
    const sorted = [...eigs].sort((x, y) => y - x);
    values.forEach((v, i) => {
      expect(Math.abs(v - sorted[i]!)).toBeLessThan(1e-9 * 1e3);
    });
    // A v = λ v for every column, and VᵀV = I
    for (let j = 0; j < m; j++) {
      for (let i = 0; i < m; i++) {
        let av = 0;
        for (let k = 0; k < m; k++) av += a[i * m + k]! * vectors[k * m + j]!;
        expect(Math.abs(av - values[j]! * vectors[i * m + j]!)).toBeLessThan(1e-8);
      }
      for (let l = 0; l < m; l++) {
        let dot = 0;
        for (let k = 0; k < m; k++) dot += vectors[k * m + j]! * vectors[k * m + l]!;
        expect(dot).toBeCloseTo(j === l ? 1 : 0, 10);
      }
    }
  });
});

describe('Gauss–Hermite rule (standard normal)', () => {
  it('is exact to degree 2m − 1 at m = 10, 40, 80 and 160, tails included (Christoffel weights)', () => {
    for (const m of [10, 40, 80, 160]) {
      const { nodes, weights } = gaussHermite(m);
      // E[h_j h_k] = δ_jk for j, k < m (degree ≤ 2m − 2), through the orthonormal h_k
      let worst = 0;
      const values = Array.from(nodes, (z) => hermiteValues(z, m - 1));
      for (const [j, k] of [
        [0, 0],
        [m - 1, m - 1],
        [Math.floor(m / 2), Math.floor(m / 2)],
        [m - 1, m - 3],
        [1, m - 2],
      ]) {
        const e = values.reduce((s, h, i) => s + weights[i]! * h[j!]! * h[k!]!, 0);
        worst = Math.max(worst, Math.abs(e - (j === k ? 1 : 0)));
      }
      // the eigenvectors' weights gave 1 ± 1e-2 at m = 40 and 1 ± 1e13 at m = 60
      expect(worst, `m = ${m}`).toBeLessThan(1e-10);
    }
    // an integrand that lives in the tails: E[e^{8Z}] = e^{32}, through weights of ~1e-62
    const { nodes, weights } = gaussHermite(80);
    const e = nodes.reduce((s, z, i) => s + weights[i]! * Math.exp(8 * z), 0);
    expect(Math.abs(e / Math.exp(32) - 1)).toBeLessThan(1e-10);
  });
});

describe('top eigenvectors of a symmetric matrix', () => {
  it('are the exact top-k subspace past m = 160 when the spectrum barely separates it (λ₃/λ₂ = 0.995)', () => {
    // A = H D H with H = I − 2vvᵀ: eigenvectors H e_i = e_i − 2 v v_i, eigenvalues D
    for (const m of [150, 200, 300]) {
      const rng = Rng.fromSeed(m);
      const raw = rng.normal(m);
      const norm = Math.hypot(...raw);
      const v = Float64Array.from(raw, (x) => x / norm);
      const d = Float64Array.from({ length: m }, (_, i) =>
        i === 0 ? 1 : i === 1 ? 0.999 : 0.999 * 0.995 ** i,
      );
      const a = new Float64Array(m * m);
      // (H D H)_ij = Σ_l H_il d_l H_lj
      const h = (i: number, l: number) => (i === l ? 1 : 0) - 2 * v[i]! * v[l]!;
      for (let i = 0; i < m; i++)
        for (let j = 0; j <= i; j++) {
          let s = 0;
          for (let l = 0; l < m; l++) s += h(i, l) * d[l]! * h(l, j);
          a[i * m + j] = a[j * m + i] = s;
        }
      const top = topEigenvectors(a, m, 2);
      const exact = new Float64Array(2 * m);
      for (let j = 0; j < 2; j++) for (let i = 0; i < m; i++) exact[j * m + i] = h(i, j);
      const cosines = principalCosines(top, 2, exact, 2, m);
      // the orthogonal iteration it replaced gave 0.90 and 0.36 at m = 200
      for (const c of cosines) expect(c, `m = ${m}`).toBeGreaterThan(1 - 1e-10);
    }
  });
});

describe('normal and chi-square tails (float64, against mpmath at 40 digits)', () => {
  it('keep their relative precision far out, where 1 − P cancels', () => {
    const close = (x: number, want: number, tolerance = 1e-12) =>
      expect(Math.abs(x / want - 1), `${x} against ${want}`).toBeLessThan(tolerance);
    // ½(1 + erf) gave 0 below −8.3 and was 1.8% off at −8
    close(normalCdf(-10), 7.619853024160527e-24);
    close(normalCdf(-8), 6.220960574271784e-16);
    close(normalCdf(-38), 2.88542835e-316, 1e-8);
    close(normalCdf(1), 0.8413447460685429);
    close(chiSquareSf(120, 5), 3.138579772755296e-24);
    close(chiSquareSf(120, 5) + chiSquareCdf(120, 5), 1);
    // x² underflowed below 1e-154: erf was 0
    close(erf(1e-160), (2 / Math.sqrt(Math.PI)) * 1e-160);
    close(erf(-3e-10), (-2 / Math.sqrt(Math.PI)) * 3e-10);
    close(erf(0.5), 0.5204998778130465);
  });
});

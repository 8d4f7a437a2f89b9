import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  choleskyPanels,
  choleskySolveTensor,
  disposeFactor,
  inverseDiagonal,
  orthonormalizeColumns,
  symmetricProduct,
} from '../src/tensor/blocked.js';
import { Rng } from '@regimes/core';
import { NumericalError } from '../src/errors.js';
import { cholesky } from '../src/host/linalg.js';
import { relativeError, symmetricWithSpectrum } from '@regimes/core/testing';
import { expectNoLeak } from '@regimes/core/testing';

const spd = (m: number, eigs: (i: number) => number, seed: number) =>
  symmetricWithSpectrum(m, eigs, Rng.fromSeed(seed));

/** Float64 reference inverse by Gauss–Jordan with partial pivoting. */
function inverse(a: Float64Array, m: number): Float64Array {
  const w = Float64Array.from(a);
  const inv = new Float64Array(m * m);
  for (let i = 0; i < m; i++) inv[i * m + i] = 1;
  for (let c = 0; c < m; c++) {
    let p = c;
    for (let r = c + 1; r < m; r++) if (Math.abs(w[r * m + c]!) > Math.abs(w[p * m + c]!)) p = r;
    for (let k = 0; k < m; k++) {
      [w[c * m + k], w[p * m + k]] = [w[p * m + k]!, w[c * m + k]!];
      [inv[c * m + k], inv[p * m + k]] = [inv[p * m + k]!, inv[c * m + k]!];
    }
    const pivot = w[c * m + c]!;
    for (let k = 0; k < m; k++) {
      w[c * m + k]! /= pivot;
      inv[c * m + k]! /= pivot;
    }
    for (let r = 0; r < m; r++) {
      if (r === c) continue;
      const f = w[r * m + c]!;
      for (let k = 0; k < m; k++) {
        w[r * m + k]! -= f * w[c * m + k]!;
        inv[r * m + k]! -= f * inv[c * m + k]!;
      }
    }
  }
  return inv;
}

const panelsOf = (a: Float64Array, m: number) => (start: number, size: number) => {
  const out = new Float32Array((m - start) * size);
  for (let i = start; i < m; i++)
    for (let j = 0; j < size; j++) out[(i - start) * size + j] = a[i * m + start + j]!;
  return tf.tensor2d(out, [m - start, size]);
};

describe('blocked Cholesky on tensors (float32) against float64 references', () => {
  // Relative solve error in float32 is about cond·1e-7; each bound below is that times 10.
  it.each([
    [200, 64, 1e2, 1e-4],
    [300, 64, 1e4, 1e-2],
    [130, 256, 1e3, 1e-3],
  ])(
    'solves m = %i (panels of %i) at condition number %d within %d relative',
    async (m, block, condition, tolerance) => {
      const a = spd(m, (i) => condition ** (-i / (m - 1)), m);
      const inv = inverse(a, m);
      const b = Rng.fromSeed(1).normal(m * 2, new Float64Array(m * 2));
      const expected = new Float64Array(m * 2);
      for (let i = 0; i < m; i++)
        for (let c = 0; c < 2; c++)
          for (let k = 0; k < m; k++) expected[i * 2 + c]! += inv[i * m + k]! * b[k * 2 + c]!;
      await expectNoLeak(async () => {
        const factor = await choleskyPanels(panelsOf(a, m), m, { block });
        expect(factor.jitter).toBe(0);
        const rhs = tf.tensor2d(Float32Array.from(b), [m, 2]);
        const x = choleskySolveTensor(factor, rhs);
        expect(relativeError(await x.data(), expected)).toBeLessThan(tolerance);
        const diagonal = await inverseDiagonal(factor);
        const expectedDiagonal = Array.from({ length: m }, (_, i) => inv[i * m + i]!);
        expect(relativeError(diagonal, expectedDiagonal)).toBeLessThan(tolerance);
        tf.dispose([rhs, x]);
        disposeFactor(factor);
      });
    },
  );

  it("factors the same with wide updates (webgpu's default) in far fewer kernels", async () => {
    const m = 300;
    const block = 32; // 10 panels
    const a = spd(m, (i) => 1e3 ** (-i / (m - 1)), 9);
    const inv = inverse(a, m);
    const b = Rng.fromSeed(3).normal(m, new Float64Array(m));
    const expected = Array.from({ length: m }, (_, i) =>
      inv.slice(i * m, (i + 1) * m).reduce((sum, v, k) => sum + v * b[k]!, 0),
    );
    const expectedDiagonal = Array.from({ length: m }, (_, i) => inv[i * m + i]!);
    const run = async (update: 'per-panel' | 'wide', width?: number, slabFloats?: number) => {
      let solution: Float32Array = new Float32Array();
      let diagonal = new Float64Array();
      let factorKernels = 0;
      let diagonalKernels = 0;
      await expectNoLeak(async () => {
        let factor: Awaited<ReturnType<typeof choleskyPanels>> | undefined;
        // (tf.profile does not nest: one for the factor and solve, one for the diagonal)
        factorKernels = (
          await tf.profile(async () => {
            factor = await choleskyPanels(panelsOf(a, m), m, { block, update, slabFloats });
            const rhs = tf.tensor2d(Float32Array.from(b), [m, 1]);
            const x = choleskySolveTensor(factor, rhs);
            solution = (await x.data()) as Float32Array;
            tf.dispose([rhs, x]);
          })
        ).kernels.length;
        diagonalKernels = (
          await tf.profile(async () => {
            diagonal = await inverseDiagonal(factor!, width);
          })
        ).kernels.length;
        disposeFactor(factor!);
      });
      return { solution, diagonal, factorKernels, diagonalKernels };
    };
    const perPanel = await run('per-panel');
    const oneProduct = await run('wide', 128); // one slab; 4 panels a solve
    const slabs = await run('wide', 128, m * 64); // slabs of 2 panels: 5 of them
    for (const r of [perPanel, oneProduct, slabs]) {
      expect(relativeError(r.solution, expected)).toBeLessThan(1e-3);
      expect(relativeError(r.diagonal, expectedDiagonal)).toBeLessThan(1e-3);
    }
    // the same float32 arithmetic up to the order of the sums
    expect(relativeError(oneProduct.solution, perPanel.solution)).toBeLessThan(1e-5);
    expect(relativeError(slabs.solution, perPanel.solution)).toBeLessThan(1e-5);
    // per-panel: 45 products with 2 slices and a subtraction each (180 kernels); wide, one slab: 9
    // products and a pad and a concat per panel (~60). Measured: 304 against 177 with the solve.
    expect(oneProduct.factorKernels).toBeLessThan(perPanel.factorKernels - 100);
    // slabs of 2 panels: up to 5 products a panel (25 in all) and a pad and, every other panel, a concat
    expect(slabs.factorKernels).toBeGreaterThan(oneProduct.factorKernels);
    expect(slabs.factorKernels).toBeLessThan(perPanel.factorKernels - 50);
    // the diagonal of the inverse: 3 solves of up to 4 panels instead of 10 of one (295 against 96)
    expect(oneProduct.diagonalKernels).toBeLessThan(0.6 * perPanel.diagonalKernels);
  });

  it('adds the shift λ to the diagonal: solves (A + λI)x = b', async () => {
    const m = 150;
    const a = spd(m, (i) => (i < 10 ? 1 : 0), 3); // rank 10: singular without the shift
    const shifted = Float64Array.from(a);
    for (let i = 0; i < m; i++) shifted[i * m + i]! += 0.5;
    const inv = inverse(shifted, m);
    const b = Rng.fromSeed(2).normal(m, new Float64Array(m));
    const expected = Array.from({ length: m }, (_, i) =>
      inv.slice(i * m, (i + 1) * m).reduce((s, v, k) => s + v * b[k]!, 0),
    );
    const factor = await choleskyPanels(panelsOf(a, m), m, { block: 64, shift: 0.5 });
    const x = choleskySolveTensor(factor, tf.tensor2d(Float32Array.from(b), [m, 1]));
    expect(relativeError(await x.data(), expected)).toBeLessThan(1e-5);
    x.dispose();
    disposeFactor(factor);
  });

  it('adds and reports jitter when a singular matrix has no shift', async () => {
    const m = 80;
    const a = spd(m, (i) => (i < 5 ? 1 : 0), 4);
    const factor = await choleskyPanels(panelsOf(a, m), m, { block: 32, meanDiagonal: 5 / m });
    expect(factor.jitter).toBeGreaterThan(0);
    disposeFactor(factor);
  });

  it('fails an infinite pivot as a non-positive one (it would zero its column: x_j = 0, no error)', async () => {
    const m = 40;
    for (const [j, block] of [
      [5, 16],
      [0, 64],
      [39, 16],
      [17, 16],
    ] as const) {
      const a = spd(m, (i) => 1 + i / m, 6);
      a[j * m + j] = Infinity;
      await expectNoLeak(async () => {
        const failure = choleskyPanels(panelsOf(a, m), m, { block, shift: 0.1 });
        await expect(failure, `pivot ${j}`).rejects.toThrow(NumericalError);
        // the last jitter tried (1e-6, 1e-4, 1e-2 of the mean diagonal, 1 by default) and the pivot
        await expect(failure).rejects.toThrow(
          new RegExp(
            `even with jitter 1\\.0e-2; on the last try pivot ${j} \\(row ${j} of 0\\.\\.${m - 1}\\)`,
          ),
        );
      });
      // the host's dense factor says which pivot and that an entry is not finite
      expect(() => cholesky(Float64Array.from(a), m)).toThrow(
        new RegExp(`pivot ${j} of ${m} \\(value Infinity\\).*not finite`),
      );
    }
  });

  it('multiplies by a symmetric matrix given by lower panels', async () => {
    const m = 170;
    const a = spd(m, (i) => 1 + i, 5);
    const x = Rng.fromSeed(6).normal(m * 3, new Float64Array(m * 3));
    const expected = new Float64Array(m * 3);
    for (let i = 0; i < m; i++)
      for (let c = 0; c < 3; c++)
        for (let k = 0; k < m; k++) expected[i * 3 + c]! += a[i * m + k]! * x[k * 3 + c]!;
    await expectNoLeak(async () => {
      const xt = tf.tensor2d(Float32Array.from(x), [m, 3]);
      const y = symmetricProduct(panelsOf(a, m), m, xt, 64);
      expect(relativeError(await y.data(), expected)).toBeLessThan(1e-5);
      tf.dispose([xt, y]);
    });
  });

  it('orthonormalizes columns (CholeskyQR2): QᵀQ = I and span unchanged', async () => {
    const a = tf.tensor2d(Rng.fromSeed(7).normal(200 * 6), [200, 6]);
    const q = await orthonormalizeColumns(a);
    const gram = await tf.matMul(q, q, true, false).data();
    for (let i = 0; i < 6; i++)
      for (let j = 0; j < 6; j++) expect(gram[i * 6 + j]).toBeCloseTo(i === j ? 1 : 0, 5);
    // A = Q (QᵀA): the projection of A on span Q is A itself
    const back = tf.tidy(() => tf.matMul(q, tf.matMul(q, a, true, false)));
    expect(relativeError(await back.data(), await a.data())).toBeLessThan(1e-5);
    tf.dispose([a, q, back]);
  });

  it('refuses columns that are not independent (a zero column), and frees what it made', async () => {
    const column = Rng.fromSeed(8).normal(50);
    // a zero column: the Gram matrix's second pivot is exactly 0
    const a = tf.tidy(() => tf.stack([tf.tensor1d(column), tf.zeros([50])], 1) as tf.Tensor2D);
    const before = tf.memory().numTensors;
    await expect(orthonormalizeColumns(a)).rejects.toThrow();
    expect(tf.memory().numTensors).toBe(before);
    a.dispose();
  });
});

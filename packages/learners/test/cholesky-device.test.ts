/**
 * The tensor Cholesky by panels on webgpu, where it takes wide updates (one product per slab of columns) and wider solves for
 * the inverse's diagonal (numerics' `defaultCholeskyUpdate`): the factor's solve and diag((A + λI)⁻¹)
 * against float64 on the host, with no tensor left. Where a WebGPU adapter exists (a software one
 * counts); elsewhere skipped with the probe's reason.
 */
import { webgpu } from '@regimes/backend-webgpu';
import { HOST_PANEL_CACHE_FLOATS, PANEL_CACHE_FLOATS, panelCache } from '@regimes/learners';
import { Rng } from '@regimes/core';
import {
  backendOrSkip,
  columnPanelsOf,
  expectNoLeak,
  relativeError,
  symmetricWithSpectrum,
} from '@regimes/core/testing';
import {
  cholesky,
  choleskyPanels,
  choleskySolve,
  choleskySolveTensor,
  defaultCholeskyUpdate,
  disposeFactor,
  inverseDiagonal,
} from '@regimes/numerics';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

describe('blocked Cholesky on webgpu', () => {
  it('solves and gives diag((A + λI)⁻¹) as float64 does, with wide updates', async (ctx) => {
    const backend = await backendOrSkip(webgpu, ctx);
    const m = 300;
    const block = 64; // 5 panels, the last of 44
    const shift = 1e-2;
    const a = symmetricWithSpectrum(m, (i) => 100 ** (-i / (m - 1)), Rng.fromSeed(12));
    const b = Rng.fromSeed(13).normal(m, new Float64Array(m));
    // float64: L of A + λI, x = (A + λI)⁻¹ b, and the inverse's diagonal column by column
    const l = Float64Array.from(a);
    for (let i = 0; i < m; i++) l[i * m + i]! += shift;
    cholesky(l, m);
    const expected = choleskySolve(l, m, Float64Array.from(b));
    const expectedDiagonal = Array.from({ length: m }, (_, i) => {
      const e = new Float64Array(m);
      e[i] = 1;
      return choleskySolve(l, m, e)[i]!;
    });
    const panels = columnPanelsOf(a, m);
    const previous = tf.getBackend();
    await backend.activate();
    try {
      expect(defaultCholeskyUpdate()).toBe('wide');
      await expectNoLeak(async () => {
        // slabs of 2 panels (as 8192 × 2048 in 2²⁴ floats): the factor takes 3 of them
        const factor = await choleskyPanels(panels, m, { block, shift, slabFloats: m * 2 * block });
        const rhs = tf.tensor2d(Float32Array.from(b), [m, 1]);
        const x = choleskySolveTensor(factor, rhs);
        // condition ~100: float32 gives ~1e-5
        expect(relativeError(await x.data(), expected)).toBeLessThan(1e-4);
        expect(relativeError(await inverseDiagonal(factor), expectedDiagonal)).toBeLessThan(1e-4);
        tf.dispose([rhs, x]);
        disposeFactor(factor);
      });
    } finally {
      await tf.setBackend(previous);
    }
  });
});

describe('kernel panels kept', () => {
  it('on a CPU backend up to n = 8192: each panel built once, clones served, freed on release; above, built on each request', async () => {
    let built = 0;
    const panels = (m: number) => (start: number, size: number) => {
      built += 1;
      return tf.tidy(() =>
        tf.add(tf.fill([m - start, size], start), tf.reshape(tf.range(0, size), [1, size])),
      );
    };
    expect(tf.getBackend()).toBe('cpu');
    await expectNoLeak(async () => {
      const cache = panelCache(panels(40), 40);
      const first = cache.panels(8, 8);
      const second = cache.panels(8, 8);
      expect(built).toBe(1);
      expect(Array.from(await second.data())).toEqual(Array.from(await first.data()));
      expect((await first.data())[1]).toBe(9);
      tf.dispose([first, second]);
      cache.release();
      // the lower triangle of n = 8193 is over HOST_PANEL_CACHE_FLOATS: not kept
      expect((8193 * 8194) / 2).toBeGreaterThan(HOST_PANEL_CACHE_FLOATS);
      const large = panelCache(panels(8193), 8193);
      tf.dispose([large.panels(0, 8), large.panels(0, 8)]);
      expect(built).toBe(3);
      large.release();
      // webgpu's limit keeps the lower triangle up to n = 16 384 and not beyond
      for (const [m, builds] of [
        [16384, 1],
        [16385, 2],
      ] as const) {
        const before = built;
        const gpu = panelCache(panels(m), m, PANEL_CACHE_FLOATS);
        tf.dispose([gpu.panels(0, 8), gpu.panels(0, 8)]);
        expect(built - before, `n = ${m}`).toBe(builds);
        gpu.release();
      }
    });
  });

  it('on webgpu: each panel built once, clones served, freed on release, not above the limit', async (ctx) => {
    const backend = await backendOrSkip(webgpu, ctx);
    const m = 40;
    let built = 0;
    const panels = (start: number, size: number) => {
      built += 1;
      return tf.tidy(() =>
        tf.add(tf.fill([m - start, size], start), tf.reshape(tf.range(0, size), [1, size])),
      );
    };
    const previous = tf.getBackend();
    try {
      await backend.activate();
      await expectNoLeak(async () => {
        const cache = panelCache(panels, m);
        const first = tf.tidy(() => cache.panels(8, 8)); // built inside a tidy: kept all the same
        const second = cache.panels(8, 8);
        expect(built).toBe(1);
        expect(Array.from(await second.data())).toEqual(Array.from(await first.data()));
        tf.dispose([first, second]);
        const third = cache.panels(8, 8);
        expect(built).toBe(1);
        expect((await third.data())[1]).toBe(9);
        third.dispose();
        cache.panels(0, 8).dispose();
        expect(built).toBe(2);
        cache.release();
        // over the limit: not kept
        const small = panelCache(panels, m, 10);
        tf.dispose([small.panels(0, 8), small.panels(0, 8)]);
        expect(built).toBe(4);
      });
    } finally {
      await tf.setBackend(previous);
    }
  });
});

import { describeBackendConformance, matMulReference, transposeReference } from '@regimes/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { wasm } from '../src/wasm.js';

describeBackendConformance('wasm', { factory: wasm });

describe('wasm backend', () => {
  it('is available from npm alone and is preferred over cpu', async () => {
    expect(await wasm.create({}).probe()).toMatchObject({ available: true, version: '4.22.0' });
    expect(wasm.priority).toBeGreaterThan(0);
  });

  it('computes products of every form (vectors, batches, broadcast batches) like cpu, freeing every buffer', async () => {
    // [a's shape, b's shape, transposeA, transposeB]
    const cases: [number[], number[], boolean, boolean][] = [
      [[40, 24], [40, 5], true, false], // AᵀB
      [[40, 24], [40, 1], true, false], // Aᵀv
      [[1, 40], [40, 24], false, false], // vᵀA
      [[30, 6], [24, 6], false, true], // ABᵀ
      [[30, 1], [24, 1], false, true], // an outer product
      [[1, 30], [24, 30], false, true], // vᵀBᵀ
      [[7, 9], [5, 7], true, true], // AᵀBᵀ
      [[3, 12, 8], [3, 12, 2], true, false], // a batch
      [[3, 12, 8], [1, 12, 1], true, false], // a broadcast batch, a vector
      [[2, 6, 10], [1, 4, 10], false, true],
    ];
    const values = (shape: number[], seed: number) =>
      Float32Array.from({ length: shape.reduce((x, y) => x * y, 1) }, (_, i) => Math.sin(seed + 0.7 * i));
    const product = ([sa, sb, ta, tb]: (typeof cases)[number], k: number) =>
      tf.tidy(() => {
        const a = tf.tensor(values(sa, k), sa) as tf.Tensor3D;
        const b = tf.tensor(values(sb, k + 50), sb) as tf.Tensor3D;
        const c = tf.matMul(a, b, ta, tb);
        return { shape: c.shape, data: c.dataSync() as Float32Array };
      });
    const expected = cases.map(product);
    await wasm.create({}).activate();
    try {
      const tensors = tf.memory().numTensors;
      const buffers = (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
      cases.forEach((c, k) => {
        const got = product(c, k);
        expect(got.shape, `case ${k}`).toEqual(expected[k]!.shape);
        got.data.forEach((v, i) =>
          expect(Math.abs(v - expected[k]!.data[i]!), `case ${k}`).toBeLessThan(1e-5),
        );
      });
      // one vector as the weights of two products, 24×1 then (transposed) 1×24: tfjs-wasm caches its
      // packed weights (the right operand) by tensor id alone, so a wrapper that turned the vector by a
      // reshape (the same id) would get the first's: 0.71 off (measured)
      const twice = () =>
        tf.tidy(() => {
          const v = tf.tensor2d(values([24, 1], 3), [24, 1]);
          const first = tf.matMul(tf.tensor2d(values([5, 24], 4), [5, 24]), v);
          const second = tf.matMul(tf.tensor2d(values([5, 1], 5), [5, 1]), v, false, true);
          return [...first.dataSync(), ...second.dataSync()];
        });
      const reused = twice();
      await tf.setBackend('cpu');
      const reference = twice();
      await wasm.create({}).activate();
      reused.forEach((v, i) => expect(Math.abs(v - reference[i]!)).toBeLessThan(1e-5));
      expect(tf.memory().numTensors).toBe(tensors);
      expect((tf.backend() as unknown as { numDataIds(): number }).numDataIds()).toBe(buffers);
    } finally {
      await tf.setBackend('cpu');
    }
  });

  it('multiplies by a tensor given as weights again reshaped (tfjs-wasm caches packed weights by id alone) like cpu', async () => {
    const run = () =>
      tf.tidy(() => {
        const w = tf.tensor2d(
          Array.from({ length: 24 }, (_, i) => Math.sin(i)),
          [6, 4],
        );
        const x = tf.tensor2d(
          Array.from({ length: 12 }, (_, i) => Math.cos(i)),
          [3, 4],
        );
        return [
          tf.matMul(tf.ones([2, 6]), w),
          tf.matMul(x, tf.reshape(w, [4, 6])), // the same data id, packed 6×4 above
          tf.fused.matMul({ a: tf.ones([2, 6]), b: w }),
          tf.fused.matMul({ a: x, b: tf.reshape(w, [4, 6]) }),
        ].flatMap((t) => [...t.dataSync()]);
      });
    const expected = run();
    await wasm.create({}).activate();
    try {
      const before = tf.memory().numTensors;
      const got = run();
      // without the copy: 4.36 off (2026-12-04)
      got.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThan(1e-5));
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      await tf.setBackend('cpu');
    }
  });

  it('computes transposed products through transpose-then-multiply, agreeing with cpu, without leaks', async () => {
    const a = [
      [1, 2, 3],
      [4, 5, 6],
    ];
    const b = [
      [1, 0],
      [2, 1],
      [0, 3],
    ];
    const expected = tf.tidy(() => tf.matMul(tf.tensor2d(b), tf.tensor2d(a), true, true).arraySync());
    await wasm.create({}).activate();
    try {
      const before = tf.memory().numTensors;
      const got = tf.tidy(() => tf.matMul(tf.tensor2d(b), tf.tensor2d(a), true, true).arraySync());
      expect(got).toEqual(expected);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      await tf.setBackend('cpu');
    }
  });

  it('runs a Gram (aᵀa, aaᵀ) by blocks and a product with a large right operand by column blocks: the bits of whole products, float64 agreement, every buffer freed', async () => {
    const values = (rows: number, cols: number, seed: number) =>
      Float32Array.from(
        { length: rows * cols },
        (_, i) => Math.sin(seed + 0.37 * i) + 0.25 * Math.cos(0.011 * i),
      );
    const close = (got: Float32Array, want: Float64Array, k: number, what: string) => {
      // float32 sums of k terms of size ~1: a few ulps of the sum's magnitude times √k
      let worst = 0;
      got.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - want[i]!) / (1 + Math.abs(want[i]!)))));
      expect(worst, what).toBeLessThan(2e-6 * Math.sqrt(k));
    };
    await wasm.create({}).activate();
    try {
      const be = tf.backend() as unknown as { numDataIds(): number };
      const buffers = be.numDataIds();
      // aᵀa with a 600×520 (C 520×520: 3 blocks, the last of 8 columns) and aaᵀ with a 777×1000
      for (const [rows, cols, gramOfColumns] of [
        [600, 520, true],
        [777, 1000, false],
      ] as const) {
        const data = values(rows, cols, rows);
        const [m, k] = gramOfColumns ? [cols, rows] : [rows, cols];
        const A = gramOfColumns ? transposeReference(data, rows, cols) : data; // C = A·Aᵀ, A m×k
        const [blocked, whole] = tf.tidy(() => {
          const a = tf.tensor2d(data, [rows, cols]);
          const twin = a.clone(); // another tensor: the whole product
          return [
            tf.matMul(a, a, gramOfColumns, !gramOfColumns).dataSync() as Float32Array,
            tf.matMul(a, twin, gramOfColumns, !gramOfColumns).dataSync() as Float32Array,
          ];
        });
        expect(blocked.length).toBe(m * m);
        // the same sums in the same order as XNNPACK's whole product: equal bits, and symmetric
        expect(Array.from(blocked)).toEqual(Array.from(whole));
        for (let i = 0; i < m; i += 37)
          for (let j = 0; j < m; j += 41) expect(blocked[i * m + j]).toBe(blocked[j * m + i]);
        close(blocked, matMulReference(A, transposeReference(A, m, k), m, k, m), k, `gram ${m}×${m}, k ${k}`);
      }
      // A 256×2100 by B 2100×2000 (B past 2²² entries: 8 column blocks, the last of 208)
      const [m, k, n] = [256, 2100, 2000];
      const A = values(m, k, 1);
      const B = values(k, n, 2);
      const [blocked, sliced] = tf.tidy(() => {
        const a = tf.tensor2d(A, [m, k]);
        const b = tf.tensor2d(B, [k, n]);
        // by slices of 250 columns, each below the threshold: XNNPACK's own product of each
        const parts = Array.from({ length: n / 250 }, (_, i) =>
          tf.matMul(a, tf.slice(b, [0, 250 * i], [k, 250])),
        );
        return [tf.matMul(a, b).dataSync() as Float32Array, tf.concat(parts, 1).dataSync() as Float32Array];
      });
      expect(Array.from(blocked)).toEqual(Array.from(sliced));
      // against float64 on every 15th row (the whole would be 10⁹ multiply-adds in JavaScript)
      const every = (x: Float32Array, width: number) =>
        Float32Array.from(
          { length: Math.ceil(m / 15) * width },
          (_, i) => x[Math.floor(i / width) * 15 * width + (i % width)]!,
        );
      close(every(blocked, n), matMulReference(every(A, k), B, Math.ceil(m / 15), k, n), k, 'column blocks');
      expect(be.numDataIds()).toBe(buffers);
    } finally {
      await tf.setBackend('cpu');
    }
  });
});

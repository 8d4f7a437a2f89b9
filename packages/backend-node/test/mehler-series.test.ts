import { expectNoLeak } from '@regimes/core/testing';
import { MehlerSeriesKernel, mehlerSeries, mehlerSeriesOps } from '@regimes/numerics';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { loadBlas } from '../src/blas.js';
import { native } from '../src/native.js';
import { wasm } from '../src/wasm.js';

/**
 * Coefficients shaped like a deep kernel's (decaying with the degree, both signs), t in [−1, 1] with
 * the edges ±1 and 0 exact; 300 columns: four blocks of 64 and a partial one.
 */
function inputs(m: number, n: number, count: number) {
  const a = Float32Array.from({ length: m * count }, (_, e) => Math.cos(0.37 * e) * 0.8 ** (e % count));
  const b = Float32Array.from(
    { length: count * n },
    (_, e) => Math.sin(0.53 * e + 0.2) * 0.8 ** Math.floor(e / n),
  );
  const t = Float32Array.from({ length: m * n }, (_, e) => Math.sin(1.7 * e + 0.1 * (e % 7)));
  t[0] = 1;
  t[1] = -1;
  t[2] = 0;
  return { a, b, t };
}

/** t^offset Σ_k a_ik b_kj u^k in float64 (u = t^step), summed term by term. */
function reference(
  x: ReturnType<typeof inputs>,
  m: number,
  n: number,
  count: number,
  step: number,
  offset: number,
) {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      const tij = x.t[i * n + j]!;
      let sum = 0;
      for (let k = 0; k < count; k++) sum += x.a[i * count + k]! * x.b[k * n + j]! * tij ** (step * k);
      out[i * n + j] = offset ? sum * tij : sum;
    }
  return out;
}

/** The largest error relative to Σ_k |a_ik b_kj| (the size of the terms, which rounding scales with). */
function worstError(
  got: ArrayLike<number>,
  want: Float64Array,
  x: ReturnType<typeof inputs>,
  n: number,
  count: number,
) {
  let worst = 0;
  for (let e = 0; e < want.length; e++) {
    const [i, j] = [Math.floor(e / n), e % n];
    let size = 0;
    for (let k = 0; k < count; k++) size += Math.abs(x.a[i * count + k]! * x.b[k * n + j]!);
    worst = Math.max(worst, Math.abs(got[e]! - want[e]!) / size);
  }
  return worst;
}

const { blas } = loadBlas();
const forms = [
  { step: 1, offset: 0 },
  { step: 2, offset: 0 },
  { step: 2, offset: 1 },
] as const;

describe('Mehler series kernel', () => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it.skipIf(blas?.mehlerSeries === undefined)(
    'on native: registered, equals the float64 sum to float32 rounding (ops: 1e-6), frees its tensors',
    async () => {
      await native.create({}).activate();
      expect(tf.getKernel(MehlerSeriesKernel, tf.getBackend())).toBeDefined();
      const [m, n, count] = [37, 300, 42];
      const x = inputs(m, n, count);
      for (const form of forms) {
        const want = reference(x, m, n, count, form.step, form.offset);
        const [kernel, ops] = await expectNoLeak(() =>
          tf.tidy(() => {
            const a = tf.tensor2d(x.a, [m, count]);
            const b = tf.tensor2d(x.b, [count, n]);
            const t = tf.tensor2d(x.t, [m, n]);
            return [mehlerSeries(a, b, t, form).dataSync(), mehlerSeriesOps(a, b, t, form).dataSync()];
          }),
        );
        // Horner in float64 rounded once: half an ulp of the result, at most that of the terms' size
        expect(worstError(kernel, want, x, n, count), JSON.stringify(form)).toBeLessThan(1.2e-7);
        expect(worstError(ops, want, x, n, count), JSON.stringify(form)).toBeLessThan(1e-6);
      }
    },
  );

  it.skipIf(blas?.mehlerSeries === undefined)(
    'on native: NaN and ±∞ in t come out as from the ops (one term: a·b, as Horner begins there)',
    async () => {
      await native.create({}).activate();
      const t = Float32Array.from([Number.NaN, Number.POSITIVE_INFINITY, 0.5, Number.NEGATIVE_INFINITY]);
      for (const count of [1, 3]) {
        const a = Float32Array.from({ length: count }, (_, k) => 0.5 + k);
        const b = Float32Array.from({ length: count * 4 }, (_, e) => 1 + (e % 3));
        const [kernel, ops] = tf.tidy(() => {
          const args = [
            tf.tensor2d(a, [1, count]),
            tf.tensor2d(b, [count, 4]),
            tf.tensor2d(t, [1, 4]),
          ] as const;
          const form = { step: 2, offset: 0 } as const;
          return [mehlerSeries(...args, form).dataSync(), mehlerSeriesOps(...args, form).dataSync()];
        });
        expect(Array.from(kernel), `K = ${count}`).toEqual(Array.from(ops));
      }
    },
  );

  it.skipIf(blas?.mehlerSeries === undefined)(
    'on native: the ops under tf.grad (the kernel has no gradient), with the same values',
    async () => {
      await native.create({}).activate();
      const [m, n, count] = [5, 7, 6];
      const x = inputs(m, n, count);
      const [gradient, expected] = tf.tidy(() => {
        const a = tf.tensor2d(x.a, [m, count]);
        const b = tf.tensor2d(x.b, [count, n]);
        const t = tf.mul(tf.tensor2d(x.t, [m, n]), 0.9);
        // ∂S/∂a_i0 = Σ_j b_0j (u^0 = 1, offset 0)
        const g = tf.grad((v: tf.Tensor) => tf.sum(mehlerSeries(v, b, t, { step: 2, offset: 0 })))(a);
        return [g.dataSync(), tf.sum(b, 1).dataSync()];
      });
      for (let i = 0; i < m; i++) expect(gradient[i * count]).toBeCloseTo(expected[0]!, 5);
    },
  );

  it('on wasm and cpu: no kernel, the ops (a JavaScript loop measured slower than them)', async () => {
    for (const activate of [() => wasm.create({}).activate(), () => tf.setBackend('cpu')]) {
      await activate();
      expect(tf.getKernel(MehlerSeriesKernel, tf.getBackend())).toBeUndefined();
      const [m, n, count] = [6, 70, 9];
      const x = inputs(m, n, count);
      const got = tf.tidy(() =>
        mehlerSeries(tf.tensor2d(x.a, [m, count]), tf.tensor2d(x.b, [count, n]), tf.tensor2d(x.t, [m, n]), {
          step: 1,
          offset: 0,
        }).dataSync(),
      );
      expect(worstError(got, reference(x, m, n, count, 1, 0), x, n, count)).toBeLessThan(1e-6);
    }
  });

  it('gives an empty series for a side with no points, on every backend here (tfjs cpu’s slice of an empty tensor threw)', async () => {
    const backends = [
      () => wasm.create({}).activate(),
      () => tf.setBackend('cpu'),
      ...(blas?.mehlerSeries ? [() => native.create({}).activate()] : []),
    ];
    for (const activate of backends) {
      await activate();
      for (const [m, n] of [
        [0, 5],
        [4, 0],
        [0, 0],
      ] as const)
        for (const form of forms) {
          const [shape, length] = await expectNoLeak(() =>
            tf.tidy(() => {
              // a from concat, as the deep kernels build their coefficients: tfjs cpu's concat of
              // empty tensors holds a plain array, which its slice cannot take
              const a = tf.concat([tf.ones([m, 1]), tf.ones([m, 2])], 1);
              const s = mehlerSeries(a, tf.ones([3, n]), tf.ones([m, n]), form);
              return [s.shape, s.dataSync().length] as const;
            }),
          );
          expect(shape, `${tf.getBackend()} ${m}×${n}`).toEqual([m, n]);
          expect(length).toBe(0);
        }
    }
  });
});

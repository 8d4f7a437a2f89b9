// A kernel whose diagonal is not finite in float32 is refused before its Cholesky, naming the row;
// a diagonal whose entries are finite but whose float32 sum is not (wasm and native sum before they
// divide) still gives its mean. Before 2026-12-07 the first failed with "Cholesky … failed even with
// jitter NaN" and "increase the ridge", which cannot help.
import { NumericalError, Rng } from '@regimes/core';
import { makeFitContext } from '@regimes/core/testing';
import { wasm } from '@regimes/backend-node';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { dualSystem, neuralTangentKernel } from '../src/index.js';

describe('a kernel diagonal past float32', () => {
  afterEach(async () => {
    await tf.setBackend('cpu');
  });

  // bad-input: 6
  it('is refused by the ridge fit with the first row where it is not finite, leaking nothing', async () => {
    // σ = h_120 off the sphere, d = 4: row i's layer variance is q = ‖x_i‖²/d. E[h_120(√q z)²] in
    // float64 (closed form): 0.047 at q = 0.4, 8.6e39 at q = 1.6 (past float32's 3.4e38).
    const q = [0.4, 0.4, 0.4, 1.6, 0.4, 1.6, 0.4, 0.4];
    const signs = [1, -1, 1, 1, -1, 1, -1, -1];
    const rows = q.map((v, i) =>
      Array.from({ length: 4 }, (_, j) => Math.sqrt(v) * (j === i % 4 ? -signs[i]! : signs[i]!)),
    );
    const hermite = Array.from({ length: 121 }, (_, k) => (k === 120 ? 1 : 0));
    const learner = neuralTangentKernel.create(
      neuralTangentKernel.options.parse({ activation: { hermite }, ridge: 1e-3 }),
    );
    const x = tf.tensor2d(rows);
    const y = tf.tensor2d(rows.map((r) => [r[0]! - r[1]!]));
    const before = tf.memory().numTensors;
    const fit = learner.fit({ x, y }, makeFitContext(Rng.fromSeed(0)));
    await expect(fit).rejects.toThrow(NumericalError);
    await expect(fit).rejects.toThrow(
      /^the kernel is not finite in float32 on its diagonal: K\(x, x\) = (Infinity|NaN) at training row 3 \(of 0\.\.7\)$/,
    );
    await fit.catch((error: NumericalError) =>
      expect(error.hint).toMatch(/lower the kernel's scale: weightVariance, .*σ's growth/),
    );
    expect(tf.memory().numTensors).toBe(before);
    // the finite rows alone fit
    const finite = q.flatMap((v, i) => (v < 1 ? [i] : []));
    const [xf, yf] = [x, y].map((t) => tf.gather(t, finite)) as [tf.Tensor2D, tf.Tensor2D];
    const predictor = await learner.fit({ x: xf, y: yf }, makeFitContext(Rng.fromSeed(0)));
    const fitted = predictor.predict(xf);
    expect(Array.from(await fitted.data()).every(Number.isFinite)).toBe(true);
    predictor.dispose();
    tf.dispose([x, y, xf, yf, fitted]);
  });

  // bad-input: 6
  it('is refused by FALKON (ridgeSolver cg) where a centre’s K(c, c) is not finite, naming the centre', async () => {
    const q = Array.from({ length: 24 }, (_, i) => (i === 9 ? 1.6 : 0.4));
    const rows = q.map((v, i) => Array.from({ length: 4 }, (_, j) => Math.sqrt(v) * (j === i % 4 ? -1 : 1)));
    const hermite = Array.from({ length: 121 }, (_, k) => (k === 120 ? 1 : 0));
    const learner = neuralTangentKernel.create(
      neuralTangentKernel.options.parse({
        activation: { hermite },
        ridge: 1e-3,
        ridgeSolver: 'cg',
        centres: 24,
      }),
    );
    const x = tf.tensor2d(rows);
    const y = tf.tensor2d(rows.map((r) => [r[0]!]));
    const before = tf.memory().numTensors;
    const fit = learner.fit({ x, y }, makeFitContext(Rng.fromSeed(0)));
    await expect(fit).rejects.toThrow(
      /^the kernel is not finite in float32 on the centres' diagonal: K\(c, c\) = (Infinity|NaN) at centre \d+ \(of 0\.\.23\)$/,
    );
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });

  it('keeps a finite diagonal whose float32 sum overflows (wasm: 12 entries of 3e38), its mean and the intercept’s grand mean in float64', async () => {
    await wasm.create({}).activate();
    const x = tf.zeros([12, 3]) as tf.Tensor2D;
    const y = tf.zeros([12, 1]) as tf.Tensor2D;
    const kernel = (a: tf.Tensor2D, b: tf.Tensor2D) => tf.fill([a.shape[0], b.shape[0]], 3e38) as tf.Tensor2D;
    // the float32 mean that the fallback replaces
    expect(tf.tidy(() => tf.mean(tf.fill([12, 1], 3e38)).dataSync()[0])).toBe(Infinity);
    const system = await dualSystem(x, y, kernel);
    expect(system.meanDiagonal).toBe(Math.fround(3e38));
    system.release();
    // with an intercept, K's grand mean too (it was −∞ on the centred diagonal, and ±∞ in every
    // centred panel): K_c = CKC of a constant K is 0, here to the float32 rounding of K1/n (~1e-7 of K)
    const centred = await dualSystem(x, y, kernel, true);
    expect(Math.abs(centred.meanDiagonal)).toBeLessThan(1e-6 * 3e38);
    const panel = centred.panels(0, 12);
    for (const v of await panel.data()) expect(Math.abs(v)).toBeLessThan(1e-6 * 3e38);
    panel.dispose();
    centred.release();
    tf.dispose([x, y]);
  });
});

// fa learns, and learns the way feedback alignment predicts. Every number here is recomputed in
// float64 from the fitted weights (an independent forward pass), not read from fa's own report.
import { disposeDataset, Registry, Rng } from '@regimes/core';
import { makeFitContext } from '@regimes/core/testing';
import { plugin as learners } from '@regimes/learners';
import { hermite } from '@regimes/targets';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { fa, type FaPredictor, type FaWeights } from '../src/index.js';

const D = 6;
const target = hermite.create(hermite.options.parse({ d: D, degree: 2 }), {
  rng: Rng.fromSeed(0).child('target'),
});
const TEST_N = 1000;

/** f(x) in float64 from the weights: z_l = tanh(z_{l-1} W_lᵀ + c_l), f = z_L A (k = 1). */
function forward64(wt: FaWeights, x: Float32Array, n: number): Float64Array {
  const { d, width } = wt.dims;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let z = Array.from(x.subarray(i * d, (i + 1) * d), Number);
    for (const [l, w] of wt.w.entries()) {
      const fanIn = z.length;
      const next = new Array<number>(width);
      for (let j = 0; j < width; j++) {
        let h = wt.c[l]?.[j] ?? 0;
        for (let c = 0; c < fanIn; c++) h += w[j * fanIn + c]! * z[c]!;
        next[j] = Math.tanh(h);
      }
      z = next;
    }
    for (let j = 0; j < width; j++) out[i]! += z[j]! * wt.a[j]!;
  }
  return out;
}

function angle64(u: ArrayLike<number>, v: ArrayLike<number>): number {
  let uv = 0;
  let uu = 0;
  let vv = 0;
  for (let i = 0; i < u.length; i++) {
    uv += u[i]! * v[i]!;
    uu += u[i]! ** 2;
    vv += v[i]! ** 2;
  }
  return (Math.acos(uv / Math.sqrt(uu * vv)) * 180) / Math.PI;
}

const test = target.sample(TEST_N, Rng.fromSeed(99).child('data', 'test'));
const testX = test.x.dataSync() as Float32Array;
const testF = target.evaluate(test.x).dataSync() as Float32Array;
disposeDataset(test);

async function fitFa(n: number, seed: number, options: Record<string, unknown> = {}) {
  const train = target.sample(n, Rng.fromSeed(seed).child('data', 'train'));
  const learner = fa.create(fa.options.parse({ width: 64, steps: 1500, lr: 0.05, ...options }));
  const predictor = (await learner.fit(
    train,
    makeFitContext(Rng.fromSeed(seed).child('learner')),
  )) as FaPredictor;
  disposeDataset(train);
  const weights = await predictor.weights();
  const f = forward64(weights, testX, TEST_N);
  // the tfjs prediction agrees with the float64 forward pass
  const x = tf.tensor2d(testX, [TEST_N, D]);
  const p = predictor.predict(x);
  const got = await p.data();
  tf.dispose([x, p]);
  let maxDiff = 0;
  for (let i = 0; i < TEST_N; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i]! - f[i]!));
  let risk = 0;
  for (let i = 0; i < TEST_N; i++) risk += (f[i]! - testF[i]!) ** 2 / TEST_N;
  const diagnostics = predictor.diagnostics!;
  predictor.dispose();
  return { risk, maxDiff, weights, diagnostics };
}

/** Least squares: the a minimising ‖R a − f‖ (R m×p), by the normal equations in float64. */
function leastSquares(r: Float32Array, f: Float32Array, m: number, p: number): Float64Array {
  const g = Array.from({ length: p }, () => new Float64Array(p + 1));
  for (let i = 0; i < m; i++)
    for (let j = 0; j < p; j++) {
      const rij = r[i * p + j]!;
      for (let k = 0; k < p; k++) g[j]![k]! += rij * r[i * p + k]!;
      g[j]![p]! += rij * f[i]!;
    }
  for (let col = 0; col < p; col++) {
    let pivot = col;
    for (let row = col + 1; row < p; row++)
      if (Math.abs(g[row]![col]!) > Math.abs(g[pivot]![col]!)) pivot = row;
    [g[col], g[pivot]] = [g[pivot]!, g[col]!];
    for (let row = 0; row < p; row++) {
      if (row === col) continue;
      const factor = g[row]![col]! / g[col]![col]!;
      for (let k = col; k <= p; k++) g[row]![k]! -= factor * g[col]![k]!;
    }
  }
  return Float64Array.from(g, (row, j) => row[p]! / row[j]!);
}

const OPTIONS = { width: 64, steps: 1500, lr: 0.1 };
const fits = new Map<number, Awaited<ReturnType<typeof fitFa>>>();

describe('fa learns (hermite d = 6, degree 2, width 64, 1500 SGD steps of 32)', () => {
  it('its test risk (float64 forward pass from its weights, 1000 test points) falls with n', async () => {
    for (const n of [16, 512]) fits.set(n, await fitFa(n, 1, OPTIONS));
    const [small, large] = [fits.get(16)!, fits.get(512)!];
    console.log(`fa risk: ${small.risk.toFixed(3)} at n = 16, ${large.risk.toFixed(3)} at n = 512`);
    // the tfjs predictions are the float64 network's, to float32 round-off
    for (const fit of fits.values()) expect(fit.maxDiff).toBeLessThan(1e-4);
    // E f*² = 1 (He₂/√2): the zero predictor's risk. Measured: 1.12 at n = 16, 0.13 at n = 512.
    expect(small.risk).toBeGreaterThan(0.5);
    expect(large.risk).toBeLessThan(0.3);
    expect(large.risk).toBeLessThan(small.risk / 3);
  });

  it("aligns its readout A with the feedback matrix B (~90° at init, ~60° after), unlike nn's", async () => {
    const fit = fits.get(512)!;
    const b = fit.weights.b.at(-1)!; // k×width = 1×64, so vec(Bᵀ) = vec(B)
    const angle = angle64(fit.weights.a, b);
    expect(Math.abs(angle - fit.diagnostics['alignment-angle']!)).toBeLessThan(1e-3);
    // Two independent N(0, I_64) vectors: cos θ has sd 1/8, θ within 90° ± 3·7.2°.
    const spread = (3 * (180 / Math.PI)) / Math.sqrt(64);
    expect(Math.abs(fit.diagnostics['alignment-angle-init']! - 90)).toBeLessThan(spread); // measured 94.1°
    expect(angle).toBeLessThan(90 - spread); // measured 63.3°

    // nn (backprop) on the same data and net: nothing pulls its readout towards B.
    const train = target.sample(512, Rng.fromSeed(1).child('data', 'train'));
    const nn = Registry.with(learners).createLearner({
      kind: 'nn',
      width: 64,
      activation: 'tanh',
      parametrization: 'standard',
      bias: 0.5,
      outputBias: false,
      optimizer: 'sgd',
      batchSize: 32,
      lr: 0.1,
      steps: 1500,
    });
    const predictor = await nn.fit(train, makeFitContext(Rng.fromSeed(1).child('learner')));
    disposeDataset(train);
    // its readout from f = φ(x)·a (no output bias), φ its representation, by least squares
    const m = 400;
    const x = tf.tensor2d(testX.subarray(0, m * D), [m, D]);
    const phi = predictor.representation!(x);
    const f = predictor.predict(x);
    const [phiValues, fValues] = [(await phi.data()) as Float32Array, (await f.data()) as Float32Array];
    tf.dispose([x, phi, f]);
    predictor.dispose();
    const a = leastSquares(phiValues, fValues, m, 64);
    let residual = 0;
    let energy = 0;
    for (let i = 0; i < m; i++) {
      let fit = 0;
      for (let j = 0; j < 64; j++) fit += phiValues[i * 64 + j]! * a[j]!;
      residual += (fit - fValues[i]!) ** 2;
      energy += fValues[i]! ** 2;
    }
    expect(residual / energy).toBeLessThan(1e-6); // a is nn's readout
    const nnAngle = angle64(a, b);
    console.log(
      `fa: ${fit.diagnostics['alignment-angle-init']!.toFixed(1)}° -> ${angle.toFixed(1)}°; nn: ${nnAngle.toFixed(1)}°`,
    );
    expect(Math.abs(nnAngle - 90)).toBeLessThan(spread); // measured 87.8°
    expect(nnAngle - angle).toBeGreaterThan(15);
  });

  it('DFA is FA for one hidden layer, and differs from it from two on', async () => {
    const predictions = async (options: Record<string, unknown>) =>
      Array.from((await fitFa(64, 3, { width: 16, steps: 200, ...options })).weights.a);
    expect(await predictions({ direct: true })).toEqual(await predictions({ direct: false }));
    expect(await predictions({ direct: true, hidden: 2 })).not.toEqual(
      await predictions({ direct: false, hidden: 2 }),
    );
  });
});

/**
 * `empirical-ntk` (empirical-ntk.ts): the blockwise per-layer Gram against the Gram of autodiff
 * Jacobians (tf.grads) on tiny nets, its convergence to the analytic deep NTK (kernels.ts
 * `deepKernel`) at the Monte-Carlo rate 1/√N, and the learner (at init, after GD).
 */
import { Rng } from '@regimes/core';
import { describeLearnerConformance, makeFitContext } from '@regimes/core/testing';
import { hermite } from '@regimes/targets';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  deepKernel,
  disposeFullyConnected,
  empiricalNeuralTangentKernel,
  empiricalNtk,
  type EmpiricalSpec,
  type FullyConnected,
  fullyConnectedForward,
  initFullyConnected,
} from '../src/index.js';

const X = [
  [1, 0.5, -0.3],
  [0.2, -1, 0.4],
  [1.5, 0.2, 0.1],
  [-0.3, 0.7, 1.2],
  [0.6, -0.4, -0.9],
];

/** Σ_θ ∂f/∂θ(x_i) ∂f/∂θ(x_j) over the trained parameters, each gradient by tf.grads. */
function autodiffGram(p: FullyConnected, x: tf.Tensor2D, spec: EmpiricalSpec): number[][] {
  const L = p.weights.length;
  const params = [...p.weights, ...(p.biases ?? []), p.readout];
  const trained = params.map((_, i) =>
    spec.train === 'both'
      ? true
      : spec.train === 'first'
        ? i === 0 || (p.biases !== undefined && i === L)
        : i === params.length - 1,
  );
  const rows = Array.from({ length: x.shape[0] }, (_, i) =>
    tf.tidy(() => {
      const xi = tf.slice(x, [i, 0], [1, -1]) as tf.Tensor2D;
      const f = (...t: tf.Tensor[]) => {
        const q: FullyConnected = {
          weights: t.slice(0, L) as tf.Tensor2D[],
          ...(p.biases ? { biases: t.slice(L, 2 * L) as tf.Tensor2D[] } : {}),
          readout: t[t.length - 1] as tf.Tensor2D,
        };
        return tf.sum(tf.slice(fullyConnectedForward(q, xi, spec), [0, 0], [1, 1]));
      };
      const g = tf.grads(f)(params);
      return tf.concat(g.filter((_, k) => trained[k]).map((t) => tf.reshape(t, [-1])));
    }),
  );
  const j = tf.stack(rows);
  const out = tf.tidy(() => tf.matMul(j, j, false, true).arraySync() as number[][]);
  tf.dispose([...rows, j]);
  return out;
}

describe('empirical NTK', () => {
  it('the per-layer factorised Gram equals the Gram of autodiff Jacobians (tiny nets, every train, blocks of 2)', () => {
    const x = tf.tensor2d(X);
    const cases = [
      { activation: 'tanh', layers: 2, weightVariance: 1.5, biasVariance: 0.3 },
      { activation: 'relu', layers: 3, weightVariance: 2, biasVariance: 0 },
      { activation: 'erf', layers: 1, weightVariance: 1, biasVariance: 0.5 },
    ] as const;
    for (const c of cases)
      for (const train of ['both', 'first', 'readout'] as const) {
        const spec: EmpiricalSpec = { ...c, train };
        const p = initFullyConnected(Rng.fromSeed(3), { ...c, width: 5 }, 3, 2);
        const want = autodiffGram(p, x, spec);
        const whole = tf.tidy(() => empiricalNtk(p, spec)(x, x).arraySync());
        const blocked = tf.tidy(() => empiricalNtk(p, spec, 2)(x, x).arraySync());
        const scale = Math.max(...want.flat().map(Math.abs));
        want.forEach((row, i) =>
          row.forEach((v, j) => {
            expect(Math.abs(whole[i]![j]! - v) / scale, `${c.activation} ${train} (${i},${j})`).toBeLessThan(1e-5);
            expect(Math.abs(blocked[i]![j]! - v) / scale).toBeLessThan(1e-5);
          }),
        );
        disposeFullyConnected(p);
      }
    x.dispose();
  });

  it('converges to the analytic deep NTK at the Monte-Carlo rate 1/√N (relu, L = 2, σ_b² = 0.1; 16 nets per width)', () => {
    const x = tf.randomNormal([8, 6], 0, 1, 'float32', 21) as tf.Tensor2D;
    const base = { activation: 'relu', layers: 2, weightVariance: 2, biasVariance: 0.1 } as const;
    const analytic = tf.tidy(() =>
      deepKernel({ ...base, train: 'both', sphere: false }, 'ntk')(x, x).arraySync(),
    ).flat();
    const norm = Math.hypot(...analytic);
    const seeds = 16;
    const widths = [64, 256, 1024];
    const stats = widths.map((width) => {
      const deviations: number[] = [];
      const sum = new Array<number>(analytic.length).fill(0);
      const sumSq = new Array<number>(analytic.length).fill(0);
      for (let seed = 0; seed < seeds; seed++) {
        const p = initFullyConnected(Rng.fromSeed(seed).child('net', width), { ...base, width }, 6, 1);
        const k = tf.tidy(() => empiricalNtk(p, { ...base, train: 'both' })(x, x).arraySync()).flat();
        disposeFullyConnected(p);
        deviations.push(Math.hypot(...k.map((v, i) => v - analytic[i]!)) / norm);
        k.forEach((v, i) => {
          sum[i]! += v;
          sumSq[i]! += v * v;
        });
      }
      const mean = deviations.reduce((s, v) => s + v, 0) / seeds;
      const se = Math.sqrt(deviations.reduce((s, v) => s + (v - mean) ** 2, 0) / (seeds - 1) / seeds);
      const entryMean = sum.map((s) => s / seeds);
      const entrySe = sumSq.map((s, i) => Math.sqrt(Math.max(s / seeds - entryMean[i]! ** 2, 0) / (seeds - 1)));
      return { width, mean, se, entryMean, entrySe };
    });
    console.log(
      stats.map((s) => `N=${s.width}: ‖Θ̂−Θ‖/‖Θ‖ = ${s.mean.toFixed(4)} ± ${s.se.toFixed(4)}, ×√N = ${(s.mean * Math.sqrt(s.width)).toFixed(3)}`).join('\n'),
    );
    // the rate: √N·deviation is the same at every width (4 combined SE)
    for (let i = 1; i < stats.length; i++) {
      const [a, b] = [stats[i - 1]!, stats[i]!];
      const gap = Math.abs(a.mean * Math.sqrt(a.width) - b.mean * Math.sqrt(b.width));
      expect(gap).toBeLessThan(4 * Math.hypot(a.se * Math.sqrt(a.width), b.se * Math.sqrt(b.width)));
      expect(b.mean).toBeLessThan(a.mean);
    }
    // no bias beyond the Monte-Carlo error: the average over nets at the largest width, entry by entry
    const top = stats[stats.length - 1]!;
    analytic.forEach((v, i) =>
      expect(Math.abs(top.entryMean[i]! - v), `entry ${i}`).toBeLessThan(4 * top.entrySe[i]! + 1e-4 * norm),
    );
    x.dispose();
  });
});

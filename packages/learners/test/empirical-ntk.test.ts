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
import { trainNetwork } from '../src/kinds/empirical-ntk.js';
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
            expect(Math.abs(whole[i]![j]! - v) / scale, `${c.activation} ${train} (${i},${j})`).toBeLessThan(
              1e-5,
            );
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
    const analytic = tf
      .tidy(() => deepKernel({ ...base, train: 'both', sphere: false }, 'ntk')(x, x).arraySync())
      .flat();
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
      const entrySe = sumSq.map((s, i) =>
        Math.sqrt(Math.max(s / seeds - entryMean[i]! ** 2, 0) / (seeds - 1)),
      );
      return { width, mean, se, entryMean, entrySe };
    });
    console.log(
      stats
        .map(
          (s) =>
            `N=${s.width}: ‖Θ̂−Θ‖/‖Θ‖ = ${s.mean.toFixed(4)} ± ${s.se.toFixed(4)}, ×√N = ${(s.mean * Math.sqrt(s.width)).toFixed(3)}`,
        )
        .join('\n'),
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

describe('empirical-ntk learner', () => {
  const data = (n: number, d: number, seed: number) =>
    tf.tidy(() => {
      const x = tf.randomNormal([n, d], 0, 1, 'float32', seed) as tf.Tensor2D;
      const u = tf.slice(x, [0, 0], [-1, 1]);
      return { x, y: tf.div(tf.sub(tf.square(u), 1), Math.SQRT2) as tf.Tensor2D };
    });

  it('training is GD with step η on (W, a): one step through nn’s trainer equals the step by tf.grads', async () => {
    const train = data(6, 3, 4);
    const o = empiricalNeuralTangentKernel.options.parse({
      width: 5,
      weightVariance: 1.7,
      steps: 1,
      lr: 0.3,
    });
    const p = initFullyConnected(Rng.fromSeed(1), { layers: 1, width: 5, biasVariance: 0 }, 3, 1);
    const spec: EmpiricalSpec = { activation: 'relu', weightVariance: 1.7, biasVariance: 0, train: 'both' };
    const want = tf.tidy(() => {
      const loss = (w: tf.Tensor, a: tf.Tensor) =>
        tf.mean(
          tf.square(
            tf.sub(
              fullyConnectedForward(
                { weights: [w as tf.Tensor2D], readout: a as tf.Tensor2D },
                train.x,
                spec,
              ),
              train.y,
            ),
          ),
        );
      const [gw, ga] = tf.grads(loss)([p.weights[0]!, p.readout]);
      return [
        tf.sub(p.weights[0]!, tf.mul(gw!, 0.3)).arraySync(),
        tf.sub(p.readout, tf.mul(ga!, 0.3)).arraySync(),
      ] as number[][][];
    });
    const trained = await trainNetwork(p, o, train, makeFitContext(Rng.fromSeed(0)));
    const got = [trained.weights[0]!.arraySync(), trained.readout.arraySync()];
    got.forEach((m, k) =>
      m.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(want[k]![i]![j]!, 5))),
    );
    disposeFullyConnected(trained);
    tf.dispose([train.x, train.y]);
  });

  it('the kernel moves less in training the wider the net (lazy regime): ‖Θ̂_T − Θ̂_0‖/‖Θ̂_0‖ at N = 64 and 2048', async () => {
    const train = data(32, 6, 9);
    const change = async (width: number) => {
      const o = empiricalNeuralTangentKernel.options.parse({ width, steps: 100, lr: 1, recordEvery: 100 });
      const spec: EmpiricalSpec = { activation: 'relu', weightVariance: 1, biasVariance: 0, train: 'both' };
      const p = initFullyConnected(Rng.fromSeed(2), { layers: 1, width, biasVariance: 0 }, 6, 1);
      const before = tf.tidy(() => empiricalNtk(p, spec)(train.x, train.x).arraySync()).flat();
      const trained = await trainNetwork(p, o, train, makeFitContext(Rng.fromSeed(0)));
      const after = tf.tidy(() => empiricalNtk(trained, spec)(train.x, train.x).arraySync()).flat();
      disposeFullyConnected(trained);
      return Math.hypot(...after.map((v, i) => v - before[i]!)) / Math.hypot(...before);
    };
    const [narrow, wide] = [await change(64), await change(2048)];
    console.log(
      `relative kernel change after 100 GD steps: N=64 ${narrow.toFixed(4)}, N=2048 ${wide.toFixed(4)}`,
    );
    // the change is O(1/√N): 5.7× smaller at 32× the width; asserted at 3× (one draw each)
    expect(wide).toBeLessThan(narrow / 3);
    expect(wide).toBeLessThan(0.02);
    tf.dispose([train.x, train.y]);
  });
});

describeLearnerConformance('empirical-ntk (tanh, L = 2, width 64, at init)', {
  factory: empiricalNeuralTangentKernel,
  options: { activation: 'tanh', layers: 2, width: 64, biasVariance: 0.1, ridge: 1e-3 },
  target: { factory: hermite, options: { d: 5, degree: 2, noise: 0.1 } },
  n: 64,
});
describeLearnerConformance('empirical-ntk (relu, width 64, after 20 GD steps)', {
  factory: empiricalNeuralTangentKernel,
  options: { width: 64, steps: 20, lr: 0.5, ridge: 'gcv' },
  target: { factory: hermite, options: { d: 5, degree: 2, noise: 0.1 } },
  n: 64,
});

import { disposeDataset, parseOptions, Rng, type TrainingMonitor } from '@regimes/core';
import {
  createTarget,
  describeLearnerConformance,
  expectNoLeak,
  makeFitContext,
} from '@regimes/core/testing';
import { hermite, hierarchical } from '@regimes/targets';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { activation, deep, deepGradients } from '../src/index.js';

const target = { factory: hermite, options: { d: 5, degree: 2 } };
describeLearnerConformance('deep (joint)', {
  factory: deep,
  options: { layers: 2, width: 8, steps: 20 },
  target,
  n: 64,
});
describeLearnerConformance('deep (layerwise, sgd, no skip)', {
  factory: deep,
  options: {
    layers: 3,
    width: 8,
    steps: 30,
    training: 'layerwise',
    optimizer: 'sgd',
    batchSize: 16,
    skip: false,
    lr: 1e-3,
  },
  target,
  n: 64,
});

describe('deep', () => {
  it('has gradients equal to central finite differences of a float64 reference (L = 2, skip outputs, h_2)', () => {
    const [n, d, w] = [4, 3, 3];
    const rng = Rng.fromSeed(1);
    const draw = (name: string, size: number) =>
      Array.from(rng.child(name).normal(size, new Float64Array(size)));
    const W1 = draw('w1', w * d);
    const W2 = draw('w2', w * w);
    const v1 = draw('v1', w);
    const v2 = draw('v2', w);
    const x = draw('x', n * d);
    const y = draw('y', n);
    const h2 = (z: number) => (z * z - 1) / Math.SQRT2;
    const lossOf = (p: { W1: number[]; W2: number[]; v1: number[]; v2: number[] }) => {
      let total = 0;
      for (let i = 0; i < n; i++) {
        const a = Array.from({ length: w }, (_, j) =>
          h2(p.W1.slice(j * d, j * d + d).reduce((s, v, c) => s + v * x[i * d + c]!, 0)),
        );
        const b = Array.from({ length: w }, (_, j) =>
          h2(p.W2.slice(j * w, j * w + w).reduce((s, v, c) => s + v * a[c]!, 0)),
        );
        const f = a.reduce((s, v, j) => s + v * p.v1[j]!, 0) + b.reduce((s, v, j) => s + v * p.v2[j]!, 0);
        total += (f - y[i]!) ** 2;
      }
      return total / n;
    };
    const g = tf.tidy(() => {
      const r = deepGradients(
        {
          w: [tf.tensor2d(W1, [w, d]), tf.tensor2d(W2, [w, w])],
          v: [tf.tensor2d(v1, [w, 1]), tf.tensor2d(v2, [w, 1])],
        },
        tf.tensor2d(x, [n, d]),
        tf.tensor2d(y, [n, 1]),
        activation({ he: 2 }),
        2,
        [0, 1],
        0,
        'mse',
      );
      return {
        W1: Array.from(r.dw.get(0)!.dataSync()),
        W2: Array.from(r.dw.get(1)!.dataSync()),
        v1: Array.from(r.dv.get(0)!.dataSync()),
        v2: Array.from(r.dv.get(1)!.dataSync()),
      };
    });
    const base = { W1, W2, v1, v2 };
    const h = 1e-6;
    for (const key of ['W1', 'W2', 'v1', 'v2'] as const) {
      base[key].forEach((_, idx) => {
        const bump = (e: number) => ({ ...base, [key]: base[key].map((v, k) => (k === idx ? v + e : v)) });
        const numeric = (lossOf(bump(h)) - lossOf(bump(-h))) / (2 * h);
        expect(Math.abs(g[key][idx]! - numeric)).toBeLessThan(1e-3 * Math.max(1, Math.abs(numeric)));
      });
    }
  });

  it('refuses layerwise training of a two-layer net', () => {
    const parsed = parseOptions(deep.options, { layers: 1, training: 'layerwise' }, 'learners[0]');
    expect(parsed.ok).toBe(false);
    if (!parsed.ok)
      expect(parsed.problems[0]).toMatch(/^learners\[0\]\.training: layerwise training of a two-layer net/);
  });

  it('layerwise runs `steps` in all, the remainder to the first layers (⌈steps/L⌉ each ran more)', async () => {
    const t = createTarget(target);
    const train = t.sample(32, Rng.fromSeed(2));
    const probe = t.sample(16, Rng.fromSeed(3));
    const f = t.evaluate(probe.x);
    const trace: Record<string, number>[] = [];
    const monitor: TrainingMonitor = { test: { x: probe.x, f }, record: (e) => trace.push(e) };
    await expectNoLeak(async () => {
      const o = deep.options.parse({ layers: 3, width: 4, steps: 7, recordEvery: 1, training: 'layerwise' });
      const p = await deep.create(o).fit(train, { ...makeFitContext(Rng.fromSeed(4)), monitor });
      p.dispose();
    });
    // 7 = 3 + 2 + 2 steps (before: 3 + 3 + 3 = 9)
    expect(trace.map((e) => [e.step, e.depth])).toEqual([
      [0, 1],
      [1, 1],
      [2, 1],
      [3, 1],
      [4, 2],
      [5, 2],
      [6, 3],
      [7, 3],
    ]);
    tf.dispose(f);
    disposeDataset(train);
    disposeDataset(probe);
  });

  it('records per-layer fits of a hierarchical target’s levels, layer by layer when layerwise', async () => {
    const t = createTarget({ factory: hierarchical, options: { d: 8, k: 2, levels: 2 } });
    const train = t.sample(256, Rng.fromSeed(2));
    const probe = t.sample(128, Rng.fromSeed(3));
    const f = t.evaluate(probe.x);
    const levels = t.structure.levelFeatures!(probe.x);
    const trace: Record<string, number>[] = [];
    const monitor: TrainingMonitor = {
      test: { x: probe.x, f },
      subspace: { u: t.structure.subspace!, rank: 2 },
      levels,
      record: (e) => trace.push(e),
    };
    await expectNoLeak(async () => {
      const p = await deep
        .create(
          deep.options.parse({
            layers: 2,
            width: 16,
            steps: 40,
            recordEvery: 10,
            training: 'layerwise',
            lr: 1e-2,
          }),
        )
        .fit(train, { ...makeFitContext(Rng.fromSeed(4)), monitor });
      p.dispose();
    });
    expect(trace[0]).toHaveProperty('level-fit.1');
    expect(trace.filter((e) => e.depth === 1).every((e) => !('level-fit.2' in e))).toBe(true);
    const last = trace[trace.length - 1]!;
    expect(last.depth).toBe(2);
    for (const key of ['level-fit.1', 'level-fit.2', 'alignment', 'test-risk', 'train-risk'])
      expect(Number.isFinite(last[key])).toBe(true);
    expect(last['level-fit.1']).toBeLessThanOrEqual(1);
    tf.dispose([f, ...levels]);
    disposeDataset(train);
    disposeDataset(probe);
  });
});

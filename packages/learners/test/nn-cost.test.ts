import { describe, expect, it } from 'vitest';
import { deep, network } from '../src/index.js';

/**
 * The dry run's estimate of gradient training, against a hand count: per step 3 × the batch's
 * forward matmuls (2·N·(d + k) a point) plus the step's tfjs ops at 2·10⁵ flop-equivalents each
 * (~10 µs at ~20 GFLOP/s: cost.ts), the learning curve's records (a forward over the n training and
 * at most 2048 test points each) and the final test prediction. Ops per step counted with tf.profile: nn
 * gd 17, sgd 19 (taken 17 / 21), Adam 61, + 40 for an online draw from the target; deep joint
 * 53·L + 4 with Adam, 29·L + 4 with (S)GD, layerwise 70 / 83 with Adam and 40 / 47 with (S)GD at
 * L = 2 / 3 (cost.ts `deepStepOps`).
 */
const OP = 2e5;

describe('training cost estimates count the ops of every step, not only the flops', () => {
  it('nn of examples/papers/ghorbani-mixture.yaml (online SGD, N = 48, d = 40, 20 000 steps)', () => {
    const o = network.options.parse({
      width: 48,
      activation: 'quadratic',
      parametrization: 'mean-field',
      readout: 'scalar',
      optimizer: 'sgd',
      batchSize: 100,
      samples: 'online',
      steps: 20000,
      lr: 0.003,
      schedule: 'end-decay',
      recordEvery: 1000,
    });
    const forward = 2 * 48 * (40 + 1);
    const hand =
      20000 * (3 * 100 * forward + (21 + 40) * OP) + 21 * (16000 + 2048) * forward + 8000 * forward;
    const e = network.estimate!(o, { n: 16000, d: 40, k: 1, testN: 8000 })!;
    expect(e.flops / hand).toBeCloseTo(1, 12);
    // the ops are most of it: 20 000 × 61 × 2e5 = 244 GFLOP against 24 GFLOP of matmuls
    expect(20000 * 61 * OP).toBeGreaterThan(10 * 20000 * 3 * 100 * forward);
  });

  it('nn full-batch gd and Adam, with the default record interval (50)', () => {
    const size = { n: 1024, d: 32, k: 1, testN: 4096 };
    const forward = 2 * 256 * 33;
    const gd = network.estimate!(network.options.parse({ width: 256, steps: 500 }), size)!;
    expect(
      gd.flops / (500 * (3 * 1024 * forward + 17 * OP) + 11 * (1024 + 2048) * forward + 4096 * forward),
    ).toBeCloseTo(1, 12);
    const adam = network.estimate!(
      network.options.parse({ width: 256, optimizer: 'adam', batchSize: 128, steps: 1000 }),
      size,
    )!;
    expect(
      adam.flops / (1000 * (3 * 128 * forward + 61 * OP) + 21 * (1024 + 2048) * forward + 4096 * forward),
    ).toBeCloseTo(1, 12);
  });

  it('deep of examples/papers/allen-zhu-li.yaml (L = 2, N = 48, d = 16, k = 3, Adam on 256, 3000 steps)', () => {
    const size = { n: 4096, d: 16, k: 3, testN: 8192 };
    const forward = 2 * 48 * (16 + 48 + 2 * 3);
    // 13 records (step 0 and every 250th), each a forward over the 4096 training and 2048 test points
    const rest = 13 * (4096 + 2048) * forward + 8192 * forward;
    for (const [training, ops] of [
      ['joint', 110],
      ['layerwise', 70],
    ] as const) {
      const o = deep.options.parse({ layers: 2, width: 48, steps: 3000, training, recordEvery: 250 });
      const e = deep.estimate!(o, size)!;
      expect(e.flops / (3000 * (3 * 256 * forward + ops * OP) + rest)).toBeCloseTo(1, 12);
    }
    // joint SGD at L = 3: 29·3 + 4 = 91 ops a step
    const sgd = deep.estimate!(
      deep.options.parse({ layers: 3, width: 48, steps: 3000, optimizer: 'sgd', recordEvery: 250 }),
      size,
    )!;
    const forward3 = 2 * 48 * (16 + 2 * 48 + 3 * 3);
    expect(
      sgd.flops / (3000 * (3 * 256 * forward3 + 91 * OP) + 13 * (4096 + 2048) * forward3 + 8192 * forward3),
    ).toBeCloseTo(1, 12);
  });
});

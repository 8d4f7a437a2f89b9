// A run frees every tensor of a cell, whichever kernel call fails: the training sample, the test
// set, the monitor's probe (its f* was evaluated after its x was made, and an evaluate that failed
// left x behind until 2026-12-06), the fit and the metrics. The run itself goes on: a failure is the
// row's, never the run's. learners/test/error-paths.test.ts does the same for every learner kind.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExperiment } from '../src/engine/runner.js';
import { Registry } from '../src/registry/registry.js';
import { injectKernelFailures, type KernelFailures, silentLogger } from '../src/testing/index.js';
import { testPlugin } from './helpers.js';

let counter: KernelFailures;
beforeAll(() => {
  counter = injectKernelFailures('cpu');
});
afterAll(() => counter.restore());

/** A two-cell run of two learners. */
const run = () =>
  runExperiment(
    {
      name: 'error-paths',
      backend: 'cpu',
      target: { kind: 'linear', d: 3, noise: 0.5 },
      learners: [{ kind: 'ridge' }, { kind: 'ridge', id: 'strong', lambda: 10 }],
      metrics: ['mse'],
      sweep: { n: [8, 16] },
      test: { n: 32 },
    },
    { registry: Registry.with(testPlugin), log: silentLogger },
  );

describe('a run whose k-th kernel call fails', () => {
  it('frees every tensor it made and still ends (a two-cell run, 121 values of k)', async () => {
    await run();
    const before = tf.memory().numTensors;
    counter.calls = 0;
    const clean = await run();
    const total = counter.calls;
    expect(clean.rows.map((r) => r.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(total).toBeGreaterThan(10);
    let failedRows = 0;
    // k = 1 … 40 (the cells' data, the test set, the probe, the first fit's start), then 80 more
    // spread over the fits' 200 iterations and the metrics
    const ks = new Set(Array.from({ length: 40 }, (_, i) => i + 1));
    for (let i = 1; i <= 80; i++) ks.add(Math.round((i * total) / 81));
    ks.add(total);
    for (const k of [...ks].sort((a, b) => a - b)) {
      counter.calls = 0;
      counter.failAt = k;
      try {
        const { rows } = await run();
        failedRows += rows.filter((r) => r.status === 'error').length;
      } finally {
        counter.failAt = 0;
      }
      expect(tf.memory().numTensors, `kernel call ${k} of ${total}`).toBe(before);
    }
    // a failure inside a fit or its measurement is that row's; one in a cell's data, the cell's rows
    expect(failedRows).toBeGreaterThanOrEqual(ks.size);
  });

  it('and whose k-th read of values back to the host fails: every read of the run', async () => {
    await run();
    const before = tf.memory().numTensors;
    counter.reads = 0;
    await run();
    const reads = counter.reads;
    expect(reads).toBeGreaterThan(4);
    for (let k = 1; k <= reads; k++) {
      counter.reads = 0;
      counter.failReadAt = k;
      try {
        const { rows } = await run();
        expect(rows.filter((r) => r.status === 'error').length, `read ${k} of ${reads}`).toBeGreaterThan(0);
      } finally {
        counter.failReadAt = 0;
      }
      expect(tf.memory().numTensors, `read ${k} of ${reads}`).toBe(before);
    }
  });
});

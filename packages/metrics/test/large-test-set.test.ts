// A large test set costs the memory of one chunk: ntk's n × n_test kernel is never formed whole.
// Before chunking, ntk at n = 2048 with 32 768 test points crashed on wasm ("memory access out of
// bounds": the 2048 × 32768 kernel and its intermediates did not fit the 32-bit heap).
import { wasm } from '@regimes/backend-node';
import { datasetChunks, disposeDataset, type Predictor, Rng, TEST_CHUNK } from '@regimes/core';
import { createTarget, silentLogger } from '@regimes/core/testing';
import { neuralTangentKernel } from '@regimes/learners';
import { hermite } from '@regimes/targets';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { risk } from '../src/risks.js';

describe('ntk at n = 2048 with 32 768 test points on wasm', () => {
  let previous = '';
  let skip = '';
  beforeAll(async () => {
    previous = tf.getBackend();
    const backend = wasm.create({});
    const availability = await backend.probe();
    if (availability.available) await backend.activate();
    else skip = availability.reason ?? 'wasm unavailable';
  });
  afterAll(async () => {
    await tf.setBackend(previous);
  });

  it('runs, calling predict on at most one chunk of rows, and leaks nothing', async (ctx) => {
    if (skip) ctx.skip(skip);
    const t = createTarget({ factory: hermite, options: { d: 8, degree: 2 } });
    const seed = Rng.fromSeed(0);
    const train = t.sample(2048, seed.child('data', 'train'));
    const test = t.sample(32768, seed.child('data', 'test'));
    const before = tf.memory().numTensors;
    const options = neuralTangentKernel.options.parse({ ridge: 1e-3 });
    const fitted = await neuralTangentKernel.create(options).fit(train, {
      rng: seed.child('learner'),
      signal: new AbortController().signal,
      progress: () => {},
      log: silentLogger,
    });
    let largest = 0;
    let peakBytes = 0;
    const predictor: Predictor = {
      predict: (x) => {
        largest = Math.max(largest, x.shape[0]);
        const out = fitted.predict(x);
        peakBytes = Math.max(peakBytes, tf.memory().numBytes);
        return out;
      },
      dispose: () => fitted.dispose(),
    };
    try {
      const value = (await risk
        .create({})
        .compute(predictor, test, t, { rng: seed.child('metric'), test: datasetChunks(test) })) as Record<
        string,
        number
      >;
      expect(largest).toBe(TEST_CHUNK);
      expect(Number.isFinite(value.risk)).toBe(true);
      expect(value.risk).toBeLessThan(0.5); // n = 2048 ≫ d² = 64: most of the degree-2 target is learned
      expect(value['risk-se']! * Math.sqrt(32768)).toBeGreaterThan(0);
      // what is alive around a predict: the data, the fit (n × d, n coefficients) and one chunk's output,
      // far below the 2048 × 32768 × 4 B = 256 MiB kernel
      expect(peakBytes).toBeLessThan(64 * 2 ** 20);
    } finally {
      predictor.dispose();
      disposeDataset(train);
      disposeDataset(test);
    }
    expect(tf.memory().numTensors).toBe(before - 4);
  }, 300_000);
});

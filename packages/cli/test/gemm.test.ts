// `regimes backends`' GEMM figure: a positive rate, and its tensors freed when a product or a read fails.
import { injectKernelFailures } from '@regimes/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { gemmFigure } from '../src/backends/gemm.js';

it('gives a positive GFLOP/s figure, and frees its tensors when a kernel call or a read fails', async () => {
  expect(tf.getBackend()).toBe('cpu');
  const before = tf.memory().numTensors;
  const rate = await gemmFigure(0.01, 16);
  expect(Number.isFinite(rate) && rate > 0).toBe(true);
  expect(tf.memory().numTensors).toBe(before);
  // the warm-up's product and its read fail: how many products follow it depends on the clock
  const failures = injectKernelFailures('cpu');
  try {
    failures.failAt = 1;
    await expect(gemmFigure(0.01, 16)).rejects.toThrow('injected at kernel call 1');
    failures.failAt = 0;
    expect(tf.memory().numTensors, 'after a failed product').toBe(before);
    failures.failReadAt = 1;
    await expect(gemmFigure(0.01, 16)).rejects.toThrow('injected at read 1');
    failures.failReadAt = 0;
    expect(tf.memory().numTensors, 'after a failed read').toBe(before);
  } finally {
    failures.restore();
  }
});

import { describeBackendConformance } from '@regimes/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { wasm } from '../src/wasm.js';

describeBackendConformance('wasm', { factory: wasm });

describe('wasm backend', () => {
  it('is available from npm alone and is preferred over cpu', async () => {
    expect(await wasm.create({}).probe()).toMatchObject({ available: true, version: '4.22.0' });
    expect(wasm.priority).toBeGreaterThan(0);
  });

  it('computes transposed products through transpose-then-multiply, agreeing with cpu, without leaks', async () => {
    const a = [
      [1, 2, 3],
      [4, 5, 6],
    ];
    const b = [
      [1, 0],
      [2, 1],
      [0, 3],
    ];
    const expected = tf.tidy(() => tf.matMul(tf.tensor2d(b), tf.tensor2d(a), true, true).arraySync());
    await wasm.create({}).activate();
    try {
      const before = tf.memory().numTensors;
      const got = tf.tidy(() => tf.matMul(tf.tensor2d(b), tf.tensor2d(a), true, true).arraySync());
      expect(got).toEqual(expected);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      await tf.setBackend('cpu');
    }
  });
});

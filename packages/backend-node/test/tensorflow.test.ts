import { describeBackendConformance } from '@regimes/core/testing';
import { describe, expect, it } from 'vitest';
import { tensorflowCpu, tensorflowCuda } from '../src/tensorflow.js';

// Optional installs: exercised where installed, reported as skipped with the probe's reason elsewhere.
describeBackendConformance('tensorflow', { factory: tensorflowCpu });
describeBackendConformance('cuda', { factory: tensorflowCuda });

describe('tensorflow and cuda backends', () => {
  it.each([
    [tensorflowCpu, '@tensorflow/tfjs-node'],
    [tensorflowCuda, '@tensorflow/tfjs-node-gpu'],
  ] as const)('say how to install %s when it is absent', async (factory, pkg) => {
    const a = await factory.create({}).probe();
    if (!a.available) expect(a.reason).toContain(`npm install ${pkg}@4.22`);
  });
});

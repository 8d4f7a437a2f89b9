import { describeBackendConformance } from '@regimes/core/testing';
import { describe, expect, it } from 'vitest';
import { native } from '../src/native.js';

// Runs where the BLAS addon is built (CI installs OpenBLAS); elsewhere skipped with the probe's reason.
describeBackendConformance('native', { factory: native });

describe('native backend', () => {
  it('says what to install when the addon is missing, else names its BLAS', async () => {
    const a = await native.create({}).probe();
    if (a.available) expect(a.device).toMatch(/OpenBLAS/i);
    else expect(a.reason).toMatch(/libopenblas-dev.*npm run build:native/);
  });
});

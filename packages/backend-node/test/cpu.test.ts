import { describeBackendConformance } from '@regimes/core/testing';
import { describe, expect, it } from 'vitest';
import { cpu } from '../src/cpu.js';

describeBackendConformance('cpu', { factory: cpu });

describe('cpu backend', () => {
  it('is always available and reports its version', async () => {
    const availability = await cpu.create({}).probe();
    expect(availability).toMatchObject({ available: true, version: '4.22.0' });
  });
});

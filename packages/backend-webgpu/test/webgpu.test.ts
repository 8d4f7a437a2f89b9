import { describeBackendConformance } from '@regimes/core/testing';
import { describe, expect, it } from 'vitest';
import { webgpu } from '../src/webgpu.js';

// Runs every check where a WebGPU adapter exists; elsewhere each is reported as skipped with the probe's reason.
describeBackendConformance('webgpu', { factory: webgpu });

describe('webgpu backend', () => {
  it('explains what to install when no adapter is found', async () => {
    const availability = await webgpu.create({}).probe();
    if (!availability.available) expect(availability.reason).toMatch(/webgpu|Vulkan|adapter/i);
    else expect(availability.device).toBeTruthy();
  });
});

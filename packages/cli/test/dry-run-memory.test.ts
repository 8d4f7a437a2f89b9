// The dry run's memory figure for kernel ridge above the wasm heap (the host-memory Cholesky of
// learners' readout/host-direct.ts) and its warning when the figure exceeds the machine's memory.
import { fileURLToPath } from 'node:url';
import { hostDirectBytes } from '@regimes/learners';
import { describe, expect, it } from 'vitest';
import { planSpec } from '../src/commands/shared.js';
import { describePlan } from '../src/run/dry-run.js';

const spec = fileURLToPath(new URL('../../../examples/big/ntk-40000.yaml', import.meta.url));
const GiB = 2 ** 30;

describe('--dry-run memory of the host-memory direct solve', () => {
  it('states n² floats plus the working set at n = 40000, and warns above the machine’s memory', async () => {
    const { plan, registry } = await planSpec(spec, []);
    const bytes = hostDirectBytes({ n: 40000, d: 64, k: 1, testN: 8192 });
    // the kernel (6.4e9 bytes) dominates; the heap's working set (panels of 40000×256) is < 1 GiB
    expect(bytes).toBeGreaterThan(4 * 40000 ** 2);
    expect(bytes).toBeLessThan(4 * 40000 ** 2 + GiB);
    const roomy = describePlan(plan, registry, undefined, undefined, 64 * GiB);
    expect(roomy).toMatch(new RegExp(`ntk#0\\s+1\\s+[\\d.]+ TFLOP\\s+${(bytes / GiB).toFixed(1)} GiB`));
    expect(roomy).not.toContain('warning');
    const small = describePlan(plan, registry, undefined, undefined, 4 * GiB);
    expect(small).toContain(
      `warning: ntk#0's largest fit holds ${(bytes / GiB).toFixed(1)} GiB (+ ~0.25 GiB for the process), more than this machine's 4.0 GiB of memory`,
    );
    expect(small).toContain('ridgeSolver: auto / cg');
  });
});

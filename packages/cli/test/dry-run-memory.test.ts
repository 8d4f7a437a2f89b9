// The dry run's memory figure for kernel ridge above the wasm heap (the host-memory Cholesky of
// learners' readout/host-direct.ts) and its warning when the figure exceeds the machine's memory.
import { fileURLToPath } from 'node:url';
import { parseSpecText, planExperiment } from '@regimes/core';
import { hostDirectBytes } from '@regimes/learners';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { planSpec } from '../src/commands/shared.js';
import { createRegistry } from '../src/defaults.js';
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
    expect(roomy).not.toContain('more than this machine');
    // on this test's backend (cpu, no host LAPACK) the fit would be refused, and the dry run says so
    expect(roomy).toContain('ntk#0: 1 fit will be refused as it starts: the 40000×40000 kernel (6.0 GiB)');
    const small = describePlan(plan, registry, undefined, undefined, 4 * GiB);
    expect(small).toContain(
      `warning: ntk#0's largest fit holds ${(bytes / GiB).toFixed(1)} GiB (+ ~0.25 GiB for the process), more than this machine's 4.0 GiB of memory`,
    );
    expect(small).toContain('ridgeSolver: auto / cg');
  });
});

describe('--dry-run of fits the run would stop', () => {
  const registry = createRegistry();
  const planOf = (learner: string, n: number) =>
    planExperiment(
      parseSpecText(
        `name: t\ntarget: { kind: hermite, d: 64, degree: 2 }\nlearners: [${learner}]\nsweep: { n: [${n}] }\ntest: { n: 2048 }\n`,
        't.yaml',
      ),
      registry,
    );
  const native = { backend: 'native', gflops: 50, heapBytes: 2 ** 32 };

  // bad-input: 3
  it('warns where a fit holds more tensors than the 4 GiB WebAssembly heap, not where the kernel is in host memory', async () => {
    // a full-batch step at n = 32768 holds ~7 arrays of n × width: 5.3 GiB at width 6144 (the run
    // stopped with "memory access out of bounds"), 3.5 GiB at 4096 (ran: 3.06 GiB of RSS)
    const wide = describePlan(
      planOf('{ kind: nn, width: 6144, steps: 2 }', 32768),
      registry,
      undefined,
      native,
      64 * GiB,
    );
    expect(wide).toMatch(
      /warning: nn#0's largest fit holds 5\.\d GiB as tensors, more than the 4\.0 GiB WebAssembly heap where the native backend keeps every tensor/,
    );
    const narrow = describePlan(
      planOf('{ kind: nn, width: 4096, steps: 2 }', 32768),
      registry,
      undefined,
      native,
      64 * GiB,
    );
    expect(narrow).not.toContain('warning');
    // the n = 40000 kernel (6.4 GB) lives in host memory: only its panels are tensors
    const { plan } = await planSpec(spec, []);
    expect(describePlan(plan, registry, undefined, native, 64 * GiB)).not.toContain('as tensors');
  });

  // bad-input: 3
  it('says which fits will be refused as they start, with the way out', () => {
    // above the heap's direct solve (n > 16384): a λ chosen by gcv, or a backend without host LAPACK
    const text = describePlan(
      planOf('{ kind: ntk, ridge: 1.0e-3, ridgeSolver: cholesky }', 20000),
      registry,
      undefined,
      undefined,
      64 * GiB,
    );
    expect(tf.getBackend()).toBe('cpu'); // no host LAPACK
    expect(text).toContain(
      "warning: ntk#0: 1 fit will be refused as it starts: the 20000×20000 kernel (1.5 GiB) is above what the direct solve holds as the cpu backend's tensors (1.0 GiB), and this backend has no host LAPACK to solve it outside",
    );
    expect(text).toContain("ridgeSolver: 'auto' / 'cg' (FALKON, no n×n kernel)");
  });
});

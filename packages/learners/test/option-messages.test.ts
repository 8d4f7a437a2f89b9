// What a learner's options say when a spec writes them wrong: each message names what to write,
// and only values the option takes.
import { parseOptions } from '@regimes/core';
import { describe, expect, it } from 'vitest';
import { learnerFactories, neuralTangentOptions } from '../src/index.js';

const problems = (schema: Parameters<typeof parseOptions>[0], raw: Record<string, unknown>) => {
  const parsed = parseOptions(schema, raw, 'learners[0]');
  return parsed.ok ? [] : parsed.problems;
};

describe('learner option messages', () => {
  it("nt's renamed `layers` suggests a value `train` takes", () => {
    expect(problems(neuralTangentOptions, { layers: 'both' })).toEqual([
      'learners[0].layers: renamed: which layers train is `train` now (as in nn): write train: both',
    ]);
    // `layers: 2` (a count) is no value of train: both values are offered instead of `train: 2`
    expect(problems(neuralTangentOptions, { layers: 2 })).toEqual([
      'learners[0].layers: renamed: which layers train is `train` now (as in nn): write train: first (the first layer linearized) or train: both (and the readout)',
    ]);
  });

  // bad-input: 6
  it('ridgeSolver: cg is refused at validation outside the kernel learners, and at λ = 0 inside them', () => {
    const options = (kind: string) => learnerFactories.find((f) => f.kind === kind)!.options;
    for (const kind of ['rf', 'nt', 'damian', 'one-step', 'transfer'])
      expect(problems(options(kind), { ridgeSolver: 'cg' })).toEqual([
        "learners[0].ridgeSolver: cg (FALKON) serves the kernel learners (ntk, nngp, kernel, empirical-ntk) only: use 'auto', 'eigen' or 'cholesky' here",
      ]);
    const kernels = { ntk: {}, nngp: {}, kernel: { type: 'rbf' }, 'empirical-ntk': {} };
    for (const [kind, base] of Object.entries(kernels)) {
      expect(problems(options(kind), { ...base, ridgeSolver: 'cg', ridge: 1e-3 })).toEqual([]);
      for (const ridge of [0, [1e-3, 0]])
        expect(problems(options(kind), { ...base, ridgeSolver: 'cg', ridge })).toEqual([
          "learners[0].ridge: ridgeSolver: cg needs λ > 0: give positive values, or use ridgeSolver: 'auto' or 'eigen' for λ = 0 (the ridgeless limit, by the eigen-decomposition's pseudo-inverse, up to 16384 kernel points)",
        ]);
      // λ = 0 is the ridgeless limit on the direct solvers
      expect(problems(options(kind), { ...base, ridge: 0 })).toEqual([]);
    }
  });
});

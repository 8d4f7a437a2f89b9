// What a learner's options say when a spec writes them wrong: each message names what to write,
// and only values the option takes.
import { parseOptions } from '@regimes/core';
import { describe, expect, it } from 'vitest';
import { neuralTangentOptions } from '../src/index.js';

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
});

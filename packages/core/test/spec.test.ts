import { describe, expect, it } from 'vitest';
import { SpecError } from '../src/errors.js';
import { planExperiment } from '../src/plan.js';
import { Registry } from '../src/registry.js';
import { parseSpec, parseSpecText } from '../src/spec.js';
import { testPlugin } from './helpers.js';

const good = {
  name: 'ok',
  target: { kind: 'linear', d: 4 },
  learners: [{ kind: 'ridge' }],
  metrics: ['mse'],
  sweep: { n: [16, 32], seed: [0, 1] },
};

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof SpecError) return error.problems;
    throw error;
  }
  throw new Error('expected a SpecError');
}

const plan = (spec: unknown) => planExperiment(parseSpec(spec), Registry.with(testPlugin));

describe('spec validation: each bad spec fails before any work, naming the path and what is allowed', () => {
  it.each<[string, unknown, RegExp]>([
    [
      'misspelt top-level key',
      { ...good, learner: [] },
      /^\(root\): unknown field 'learner' \(did you mean 'learners'\?\); allowed: name, /,
    ],
    ['wrong type', { ...good, seed: 'zero' }, /^seed: expected number, received string, got "zero"$/],
    ['missing required field', { ...good, target: undefined }, /^target: required field is missing/],
    ['no learners', { ...good, learners: [] }, /^learners: Too small: expected array to have >=1 items/],
    ['bad name', { ...good, name: 'a b' }, /^name: use letters, digits/],
    ['sweep without n', { ...good, sweep: { seed: [0] } }, /^sweep\.n: required/],
    ['misspelt test key', { ...good, test: { size: 10 } }, /^test: unknown field 'size'; allowed: n$/],
  ])('%s', (_label, spec, expected) => {
    expect(problemsOf(() => parseSpec(spec))).toEqual([expect.stringMatching(expected)]);
  });

  it.each<[string, unknown, RegExp]>([
    [
      'unknown target kind',
      { ...good, target: { kind: 'linaer', d: 4 } },
      /^target\.kind: unknown target kind 'linaer' \(did you mean 'linear'\?\); registered target kinds: linear/,
    ],
    [
      'unknown learner kind',
      { ...good, learners: [{ kind: 'nn' }] },
      /^learners\[0\]\.kind: unknown learner kind 'nn'; registered learner kinds: ridge/,
    ],
    [
      'unknown metric',
      { ...good, metrics: ['mes'] },
      /^metrics\[0\]\.kind: unknown metric kind 'mes' \(did you mean 'mse'\?\)/,
    ],
    [
      'misspelt learner option',
      { ...good, learners: [{ kind: 'ridge', lamda: 1 }] },
      /^learners\[0\]: unknown field 'lamda' \(did you mean 'lambda'\?\); allowed: lambda, jitter/,
    ],
    [
      'wrong option type',
      { ...good, target: { kind: 'linear', d: 2.5 } },
      /^target\.d: expected int, received number, got 2\.5/,
    ],
    ['missing kind option', { ...good, target: { kind: 'linear' } }, /^target\.d: required field is missing/],
    [
      'bad swept value, naming the cell',
      { ...good, sweep: { n: [8], 'target.d': [2, 0] } },
      /^target\.d: Too small: expected number to be >=1, got 0 \(in cell n=8,target\.d=0\)$/,
    ],
    [
      'unknown sweep key',
      { ...good, sweep: { n: [8], sed: [1] } },
      /^sweep\.sed: unknown sweep key \(did you mean 'seed'\?\)/,
    ],
    [
      'sweep of an unknown learner',
      { ...good, sweep: { n: [8], 'learners[rigde].lambda': [1] } },
      /^sweep\.learners\[rigde\]\.lambda: no learner 'rigde' \(did you mean 'ridge'\?\); learners: ridge#0/,
    ],
    [
      'non-integer n',
      { ...good, sweep: { n: [8.5] } },
      /^sweep\.n\[0\]: sample sizes are positive integers, got 8\.5/,
    ],
    [
      'duplicate learner ids',
      {
        ...good,
        learners: [
          { kind: 'ridge', id: 'a' },
          { kind: 'ridge', id: 'a' },
        ],
      },
      /^learners: ids must be unique/,
    ],
  ])('%s', (_label, spec, expected) => {
    expect(problemsOf(() => plan(spec))).toEqual([expect.stringMatching(expected)]);
  });

  it('reports every problem at once', () => {
    const problems = problemsOf(() =>
      plan({ ...good, target: { kind: 'linear', d: -1 }, learners: [{ kind: 'ridge', lambda: -1 }] }),
    );
    expect(problems.length).toBe(2);
  });

  it('gives the line and column of a YAML syntax error', () => {
    const text = 'name: x\ntarget: { kind: linear, d: 4\nlearners: []\n';
    const problems = problemsOf(() => parseSpecText(text, 'bad.yaml'));
    expect(problems[0]).toMatch(/^line \d+, column \d+: /);
  });

  it('rejects duplicate YAML keys', () => {
    expect(problemsOf(() => parseSpecText('name: a\nname: b\n', 's.yaml'))[0]).toMatch(
      /line 2, column 1: Map keys must be unique/,
    );
  });
});

describe('planning', () => {
  it('expands the grid in spec order, with stable keys and defaults filled in', () => {
    const p = plan({ ...good, sweep: { n: [16, 32], seed: [0, 1], 'learners.lambda': [0.1] } });
    expect(p.cells.map((c) => c.key)).toEqual([
      'n=16,seed=0,learners.lambda=0.1',
      'n=16,seed=1,learners.lambda=0.1',
      'n=32,seed=0,learners.lambda=0.1',
      'n=32,seed=1,learners.lambda=0.1',
    ]);
    expect(p.cells[0]!.learners[0]).toEqual({
      id: 'ridge#0',
      kind: 'ridge',
      options: { lambda: 0.1, jitter: 0 },
    });
    expect(p.cells[0]!.target.options).toEqual({ d: 4, noise: 0 });
  });

  it('uses the spec seed when the sweep has none, and a hash that ignores the name', () => {
    const a = plan({ ...good, seed: 9, sweep: { n: [16] } });
    expect(a.cells[0]!.seed).toBe(9);
    const b = plan({ ...good, name: 'other', seed: 9, sweep: { n: [16] } });
    expect(b.specHash).toBe(a.specHash);
    expect(plan({ ...good, seed: 10, sweep: { n: [16] } }).specHash).not.toBe(a.specHash);
  });
});

import { ContainerModule } from 'inversify';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type Dataset, type FitContext, LearnerFactory } from '../src/contracts/contracts.js';
import { runExperiment } from '../src/engine/runner.js';
import { options, parseOptions } from '../src/contracts/options.js';
import { definePlugin } from '../src/registry/registry.js';
import { silentLogger } from '../src/testing/index.js';
import { planExperiment } from '../src/spec/plan.js';
import { Registry } from '../src/registry/registry.js';
import { parseSpec, parseSpecText, specData } from '../src/spec/spec.js';
import { expandRange } from '../src/spec/sweep.js';
import { problemsOf, testPlugin } from './helpers.js';

const good = {
  name: 'ok',
  target: { kind: 'linear', d: 4 },
  learners: [{ kind: 'ridge' }],
  metrics: ['mse'],
  sweep: { n: [16, 32], seed: [0, 1] },
};

const plan = (spec: unknown) => planExperiment(parseSpec(spec), Registry.with(testPlugin));

/** The test plugin's kinds and these learner kinds, registered by a plugin of their own. */
function registryWith(...learners: unknown[]): Registry {
  const r = Registry.with(testPlugin);
  r.use(
    definePlugin({
      name: 'extra-learners',
      version: '0.1.0',
      core: '^0.1.0',
      module: new ContainerModule(({ bind }) => {
        for (const learner of learners) bind(LearnerFactory).toConstantValue(learner as never);
      }),
    }),
    'test',
  );
  return r;
}

describe('spec validation: each bad spec fails before any work, naming the path and what is allowed', () => {
  it.each<[string, unknown, RegExp]>([
    [
      'misspelt top-level key',
      { ...good, learner: [] },
      /^\(root\): unknown field 'learner' \(did you mean 'learners'\?\); allowed: name, /,
    ],
    ['wrong type', { ...good, seed: 'zero' }, /^seed: expected an integer ≥ 0, got "zero"$/],
    ['missing required field', { ...good, target: undefined }, /^target: required field is missing/],
    ['no learners', { ...good, learners: [] }, /^learners: must not be empty, got \[\]$/],
    ['bad name', { ...good, name: 'a b' }, /^name: use letters, digits/],
    ['sweep without n', { ...good, sweep: { seed: [0] } }, /^sweep\.n: required/],
    ['misspelt test key', { ...good, test: { size: 10 } }, /^test: unknown field 'size'; allowed: n$/],
    [
      'a test set of one point',
      { ...good, test: { n: 1 } },
      /^test\.n: a test set needs 2 points or more \(one has no standard error\), got 1$/,
    ],
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
      'a metric listed twice (its values would be written twice in a row, every fit an error)',
      { ...good, metrics: ['mse', { kind: 'mse' }] },
      /^metrics\[1\]: 'mse' is listed already \(metrics\[0\]\); a row holds one value of each name: list each metric once$/,
    ],
    [
      'misspelt learner option',
      { ...good, learners: [{ kind: 'ridge', lamda: 1 }] },
      /^learners\[0\]: unknown field 'lamda' \(did you mean 'lambda'\?\); allowed: lambda, jitter/,
    ],
    [
      'wrong option type',
      { ...good, target: { kind: 'linear', d: 2.5 } },
      /^target\.d: expected an integer, got 2\.5$/,
    ],
    ['missing kind option', { ...good, target: { kind: 'linear' } }, /^target\.d: required field is missing/],
    [
      'bad swept value, blamed on its sweep key and value',
      { ...good, sweep: { n: [8], 'target.d': [2, 0] } },
      /^sweep\.target\.d = 0: must be ≥ 1$/,
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
      /^sweep\.n: sample sizes are positive integers, got 8\.5/,
    ],
    [
      'zipped lists of different lengths',
      { ...good, sweep: { n: [8], zip: { 'target.d': [2, 4], 'learners.lambda': [1] } } },
      /^sweep\.zip: zipped lists must have the same length, got target\.d: 2, learners\.lambda: 1$/,
    ],
    [
      'misspelt range kind',
      { ...good, sweep: { n: { logg2: [3, 5] } } },
      /^sweep\.n: unknown field 'logg2' \(did you mean 'log2'\?\); allowed: log2, linspace, /,
    ],
    [
      'a bare number where a sweep takes a list: the message lists the forms and the one-value list',
      { ...good, sweep: { n: [8], seed: 0 } },
      /^sweep\.seed: a sweep value is a list \(\[256, 1024\]; one value: \[0\]\), a range \(\{ log2: .*\) or an expression string \("d\^2"\), got 0$/,
    ],
    [
      "a learner's own sweep with a bare number",
      { ...good, learners: [{ kind: 'ridge', sweep: { lambda: 0.1 } }] },
      /^learners\[0\]\.sweep\.lambda: a sweep value is a list \(\[256, 1024\]; one value: \[0\.1\]\)/,
    ],
    [
      '`range` with four numbers',
      { ...good, sweep: { n: { range: [1, 2, 3, 4] } } },
      /^sweep\.n\.range: range takes \[a, b\] or \[a, b, step\] \(numbers\), got \[1,2,3,4\]$/,
    ],
    [
      'a range with a wrong bound list: the range branch of the union speaks',
      { ...good, sweep: { n: { log2: [6, 10, 2] } } },
      /^sweep\.n\.log2: takes at most 2 items, got \[6,10,2\]$/,
    ],
    [
      'a key swept at the top and in a zip group',
      { ...good, sweep: { n: [8, 16], zip: { n: [32, 64], 'target.d': [2, 4] } } },
      /^sweep\.zip\.n: 'n' is swept twice/,
    ],
    [
      'a list that repeats a value',
      { ...good, sweep: { n: [8, 16, 8] } },
      /^sweep: the cell n=8 comes twice: a list or range repeats a value$/,
    ],
    [
      'a range naming two kinds',
      { ...good, sweep: { n: { log2: [3, 5], linspace: [1, 2, 3] } } },
      /^sweep\.n: a range names exactly one of log2, linspace, logspace, geomspace, range, got log2 and linspace$/,
    ],
    [
      'an unknown name in a derived value',
      { ...good, sweep: { 'target.d': [2, 4], n: 'dd^2' } },
      /^sweep\.n: the symbol 'dd' is not allowed in "dd\^2" \(did you mean 'd'\?\); names in scope: d$/,
    ],
    [
      'a bare word where a list of one string was meant',
      { ...good, sweep: { n: [8], 'learners.jitter': 'gcv' } },
      /^sweep\.learners\.jitter: the symbol 'gcv' is not allowed in "gcv"; names in scope: d, n; a string in a sweep is an expression: to sweep the value 'gcv', write \[gcv\]$/,
    ],
    [
      'a derived value that uses one derived after it',
      { ...good, sweep: { n: 'lambda * 64', 'learners.lambda': 'd / 100', 'target.d': [2, 4] } },
      /^sweep\.n: "lambda \* 64" uses 'lambda', derived after it \(learners\.lambda: "d \/ 100"\); derived values are evaluated in the order they are written: move learners\.lambda above n$/,
    ],
    [
      'a derived value that uses one derived after it, which has a fixed value too',
      {
        ...good,
        target: { kind: 'linear', d: 16 },
        sweep: { n: 'd * 8', 'target.d': 'seed + 2', seed: [0, 1] },
      },
      /^sweep\.n: "d \* 8" uses 'd', derived after it \(target\.d: "seed \+ 2"\); derived values are evaluated in the order they are written: move target\.d above n$/,
    ],
    [
      'a derived value that is not finite',
      { ...good, sweep: { 'target.d': [2, 4], n: 'log(d - 2)' } },
      /^sweep\.n: "log\(d - 2\)" is not a finite number \(-Infinity\) in cell target\.d=2$/,
    ],
    [
      'an expression for n with no cell to name',
      { ...good, sweep: { n: '0/0' } },
      /^sweep\.n: "0\/0" is not a finite number \(NaN\)$/,
    ],
    [
      'a reversed range',
      { ...good, sweep: { n: { range: [5, 1] } } },
      /^sweep\.n: range \[5, 1\] gives no values: it counts up from 5 and stops before 1; write \[1, 5\] to count up from 1, or \[5, 1, -1\] to count down from 5$/,
    ],
    [
      'a range with equal ends',
      { ...good, sweep: { n: { range: [8, 8] } } },
      /^sweep\.n: range \[8, 8\] gives no values: its end is left out; write the list \[8\]$/,
    ],
    [
      'reversed powers of two',
      { ...good, sweep: { n: { log2: [10, 6] } } },
      /^sweep\.n: log2 \[10, 6\] gives no values: its powers count up; write \[6, 10\]$/,
    ],
    [
      "a learner's own sweep over an option it does not have",
      { ...good, learners: [{ kind: 'ridge', sweep: { lamda: [1, 2] } }] },
      /^learners\[0\]\.sweep\.lamda: learner kind 'ridge' has no option 'lamda' \(did you mean 'lambda'\?\); its options: lambda, jitter$/,
    ],
    [
      "n in a learner's own sweep",
      { ...good, learners: [{ kind: 'ridge', sweep: { n: [8] } }] },
      /^learners\[0\]\.sweep\.n: n is swept in the spec's sweep \(sweep\.n\), not in a learner's own sweep$/,
    ],
    [
      "a learner's timeout in its own sweep",
      { ...good, learners: [{ kind: 'ridge', sweep: { timeout: [1, 2] } }] },
      /^learners\[0\]\.sweep\.timeout: a learner's timeout cannot be swept$/,
    ],
    [
      'a sweep key naming an option the learner does not have, blamed on the key',
      { ...good, learners: [{ kind: 'ridge', id: 'a' }], sweep: { n: [8], 'learners[a].lamda': [1] } },
      /^sweep\.learners\[a\]\.lamda: learner a \(ridge\) has no option 'lamda' \(did you mean 'lambda'\?\); its options: lambda, jitter$/,
    ],
    [
      'a sweep key naming an option the target does not have',
      { ...good, sweep: { n: [8], 'target.noize': [1] } },
      /^sweep\.target\.noize: target kind 'linear' has no option 'noize' \(did you mean 'noise'\?\); its options: d, noise$/,
    ],
    [
      'a sweep nested as objects: the dotted keys to write',
      { ...good, sweep: { n: [8], target: { d: [2, 4] } } },
      /^sweep\.target: a sweep names each option by its dotted path: write 'target\.d' as a key of sweep, not target: \{ d \}$/,
    ],
    [
      "an option swept in a learner's own sweep and by the spec's sweep",
      {
        ...good,
        learners: [{ kind: 'ridge', sweep: { lambda: [1] } }],
        sweep: { n: [8], 'learners[ridge].lambda': [2] },
      },
      /^learners\[0\]\.sweep\.lambda: sweep\.learners\[ridge\]\.lambda sets lambda of ridge#0 too; sweep it in one place$/,
    ],
    [
      'a misspelt n, named beside the missing one',
      { ...good, sweep: { N: [8] } },
      /^sweep\.n: required: .*; the sweep has 'N', which is no sweep key$/,
    ],
    ['no metrics', { ...good, metrics: [] }, /^metrics: must not be empty, got \[\]$/],
    [
      'non-integer sample sizes from a range: one line, with the fix',
      { ...good, sweep: { n: { log2: [3, 4], step: 0.5 } } },
      /^sweep\.n: sample sizes are positive integers, got 11\.3137084989848 \(a range gives integers with round: true\)$/,
    ],
    [
      'a derived sample size out of range: the expression and the cell that gives it',
      { ...good, sweep: { 'target.d': [1, 2, 4], n: 'd - 2', seed: [0] } },
      /^sweep\.n: sample sizes are positive integers, got -1 \(from "d - 2" in cell target\.d=1,seed=0\), 0 \(from "d - 2" in cell target\.d=2,seed=0\)$/,
    ],
    ['an empty sweep key', { ...good, sweep: { n: [8], '': [1] } }, /^sweep\[""\]: unknown sweep key/],
    [
      'an unregistered backend',
      { ...good, backend: 'qantum' },
      /^backend: unknown backend kind 'qantum' \(did you mean 'quantum'\?\)/,
    ],
    [
      'an empty id',
      { ...good, learners: [{ kind: 'ridge', id: '' }] },
      /^learners\[0\]\.id: an id is a non-empty name/,
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

  it('lists misspelt options beside a broken sweep key (they were only found once the key was fixed)', () => {
    const problems = problemsOf(() =>
      plan({
        ...good,
        target: { kind: 'linear', d: 4, nosie: 1 },
        learners: [{ kind: 'ridge', lamda: 1 }],
        sweep: { n: [16], sede: [0], 'learners[ridge].jiter': [0.1] },
      }),
    );
    expect(problems).toEqual([
      expect.stringMatching(/^sweep\.sede: unknown sweep key \(did you mean 'seed'\?\)/),
      expect.stringMatching(
        /^sweep\.learners\[ridge\]\.jiter: learner ridge#0 \(ridge\) has no option 'jiter' \(did you mean 'jitter'\?\)/,
      ),
      expect.stringMatching(/^target: unknown field 'nosie' \(did you mean 'noise'\?\)/),
      expect.stringMatching(/^learners\[0\]: unknown field 'lamda' \(did you mean 'lambda'\?\)/),
    ]);
  });

  it('gives the line and column of a YAML syntax error', () => {
    const text = 'name: x\ntarget: { kind: linear, d: 4\nlearners: []\n';
    const problems = problemsOf(() => parseSpecText(text, 'bad.yaml'));
    expect(problems[0]).toMatch(/^line \d+, column \d+: /);
  });

  it('rejects duplicate YAML keys', () => {
    expect(problemsOf(() => parseSpecText('name: a\nname: b\n', 's.yaml'))[0]).toMatch(
      /line 2, column 1: the key 'name' comes twice in one map: keep one/,
    );
  });

  it('names a Markdown fence copied with the spec in one message, YAML or JSON, and keeps one inside a string', () => {
    const yamlText = '```yaml\nname: x\ntarget: { kind: linear, d: 4 }\nlearners: [{ kind: ridge }]\n```\n';
    expect(problemsOf(() => parseSpecText(yamlText, 's.yaml'))).toEqual([
      'lines 1, 5: a Markdown code fence (```yaml), not part of the spec',
    ]);
    expect(problemsOf(() => parseSpecText('~~~\n{ "name": "x" }\n', 's.json'))).toEqual([
      'line 1: a Markdown code fence (~~~), not part of the spec',
    ]);
    // a spec that parses is read as it is, backquotes in a block string included
    const inString = 'name: x\nlabel: |\n  ```\n  text\ntarget: { kind: linear, d: 4 }\n';
    expect(specData(inString, 's.yaml')).toMatchObject({ name: 'x', label: '```\ntext\n' });
  });
});

describe('a bad swept value is blamed on the key that gives it', () => {
  it("names the spec's sweep key or the learner's own sweep key, and each value, once per entry", () => {
    const learners = [
      { kind: 'ridge', id: 'a' },
      { kind: 'ridge', id: 'b', sweep: { lambda: [0.5, -2] } },
    ];
    expect(
      problemsOf(() =>
        plan({
          ...good,
          learners,
          sweep: { n: [8, 16], 'learners[a].lambda': [1, -1, -3], 'target.d': [4, 0] },
        }),
      ),
    ).toEqual([
      'learners[1].sweep.lambda = -2: must be ≥ 0',
      'sweep.target.d = 0: must be ≥ 1',
      'sweep.learners[a].lambda = -1, -3: must be ≥ 0',
    ]);
  });

  it('names a zip member by its group, a derived value by its expression and cell, and the learners a shared key sets', () => {
    const learners = [
      { kind: 'ridge', id: 'a' },
      { kind: 'ridge', id: 'b' },
    ];
    expect(
      problemsOf(() =>
        plan({
          ...good,
          learners,
          sweep: { n: [8], zip: [{ 'target.d': [4, 0], seed: [0, 1] }], 'learners.lambda': 'd - 5' },
        }),
      ),
    ).toEqual([
      'sweep.learners.lambda = -1 (from "d - 5" in cell n=8,target.d=4,seed=0,learners.lambda=-1), -5 (from "d - 5" in cell n=8,target.d=0,seed=1,learners.lambda=-5): must be ≥ 0 (learners[0], learners[1])',
      'sweep.zip[0].target.d = 0: must be ≥ 1',
    ]);
  });

  it('says where a list written as an option value sweeps', () => {
    expect(
      problemsOf(() =>
        plan({
          ...good,
          target: { kind: 'linear', d: [4, 8] },
          learners: [{ kind: 'ridge', lambda: [0.1, 1] }],
        }),
      ),
    ).toEqual([
      "target.d: expected a positive integer, got [4,8]; to sweep it, move the list to the spec's sweep: { target.d: [4,8] }",
      "learners[0].lambda: expected a number ≥ 0, got [0.1,1]; to sweep it, put the list in the learner's own sweep: (sweep: { lambda: [0.1,1] })",
    ]);
    // one value in a list: write it alone
    expect(problemsOf(() => plan({ ...good, target: { kind: 'linear', d: [4] } }))).toEqual([
      'target.d: expected a positive integer, got [4]; write the value alone: d: 4',
    ]);
  });

  it('holds back a check across fields while a field it reads fails its own', () => {
    const schema = options({ d: z.number().int().min(1), r: z.number().int().min(1).default(1) }).superRefine(
      (o, ctx) => {
        if (o.r > o.d)
          ctx.addIssue({ code: 'custom', path: ['r'], message: `r (${o.r}) must be at most d (${o.d})` });
      },
    );
    expect(parseOptions(schema, { d: 0 }, 'target')).toEqual({
      ok: false,
      problems: ['target.d: must be ≥ 1, got 0'],
    });
    expect(parseOptions(schema, { d: 2, r: 3 }, 'target')).toEqual({
      ok: false,
      problems: ['target.r: r (3) must be at most d (2)'],
    });
  });
});

describe('sweep grammar', () => {
  it('expands ranges like numpy: log2, linspace, logspace, geomspace, range', () => {
    expect(expandRange({ log2: [3, 6] })).toEqual([8, 16, 32, 64]);
    expect(expandRange({ log2: [8, 10], step: 0.5, round: true })).toEqual([256, 362, 512, 724, 1024]);
    expect(expandRange({ linspace: [0, 1, 5] })).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(expandRange({ logspace: [-3, 0, 4] })).toEqual([0.001, 0.01, 0.1, 1]);
    expect(expandRange({ geomspace: [100, 10000, 3] })).toEqual([100, 1000, 10000]);
    expect(expandRange({ range: [0, 5] })).toEqual([0, 1, 2, 3, 4]);
    expect(expandRange({ range: [10, 0, -4] })).toEqual([10, 6, 2]);
    expect(expandRange({ linspace: [2, 2, 1] })).toEqual([2]);
    // rounding merges neighbours: each value once
    expect(expandRange({ geomspace: [32, 40, 12], round: true })).toEqual([
      32, 33, 34, 35, 36, 37, 38, 39, 40,
    ]);
  });

  it('zips lists that advance together, crosses the rest, and derives values per cell', () => {
    const p = plan({
      ...good,
      sweep: {
        seed: { range: [0, 2] },
        zip: { 'target.d': [2, 4, 8], 'learners.lambda': [1, 0.1, 0.01] },
        n: 'd^2 + 1',
      },
    });
    expect(p.cells.map((c) => c.key)).toEqual([
      'seed=0,target.d=2,learners.lambda=1,n=5',
      'seed=0,target.d=4,learners.lambda=0.1,n=17',
      'seed=0,target.d=8,learners.lambda=0.01,n=65',
      'seed=1,target.d=2,learners.lambda=1,n=5',
      'seed=1,target.d=4,learners.lambda=0.1,n=17',
      'seed=1,target.d=8,learners.lambda=0.01,n=65',
    ]);
    expect(p.cells.map((c) => c.n)).toEqual([5, 17, 65, 5, 17, 65]);
    expect(p.cells.map((c) => c.learners[0]!.options.lambda)).toEqual([1, 0.1, 0.01, 1, 0.1, 0.01]);
    expect(p.cells.map((c) => c.index)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('rounds derived sample sizes and reads fixed target options', () => {
    const p = plan({ ...good, target: { kind: 'linear', d: 6 }, sweep: { n: '2 * d * log(d)' } });
    expect(p.cells.map((c) => c.n)).toEqual([Math.round(12 * Math.log(6))]);
  });

  it("expands a learner's own sweep inside each cell, without multiplying the other learners", () => {
    const p = plan({
      ...good,
      learners: [
        { kind: 'ridge', id: 'fixed' },
        { kind: 'ridge', id: 'grid', sweep: { lambda: { logspace: [-2, 0, 3] }, jitter: 'lambda / n' } },
      ],
      sweep: { n: [16, 32] },
    });
    expect(p.cells.length).toBe(2);
    expect(p.cells[1]!.learners.map((l) => [l.id, l.options])).toEqual([
      ['fixed', { lambda: 1e-3, jitter: 0 }],
      ['grid(lambda=0.01,jitter=0.0003125)', { lambda: 0.01, jitter: 0.0003125 }],
      ['grid(lambda=0.1,jitter=0.003125)', { lambda: 0.1, jitter: 0.003125 }],
      ['grid(lambda=1,jitter=0.03125)', { lambda: 1, jitter: 0.03125 }],
    ]);
  });

  it("warns when a top-level key sets some learners' option and the others refit the same data", () => {
    const learners = [
      { kind: 'ridge', id: 'a' },
      { kind: 'ridge', id: 'b' },
    ];
    // learners[a].lambda crossed with n and seed: b runs in 3 × 2 × 2 cells, 8 of them repeats
    const crossed = plan({
      ...good,
      learners,
      sweep: { n: [16, 32], seed: [0, 1], 'learners[a].lambda': [1, 0.1, 0.01] },
    });
    expect(crossed.warnings).toEqual([
      expect.stringMatching(
        /^sweep: learners\[a\]\.lambda sets an option of a only, yet b runs in every cell: in 8 of the 12 cells it refits data/,
      ),
    ]);
    // zipped with the dimension, every cell of b is a new one: no warning; nor for a key on all learners
    const zipped = plan({
      ...good,
      learners,
      sweep: { n: [16], zip: { 'target.d': [2, 4], 'learners[a].lambda': [1, 0.1] } },
    });
    expect(zipped.warnings).toEqual([]);
    expect(plan({ ...good, learners, sweep: { n: [16], 'learners.lambda': [1, 0.1] } }).warnings).toEqual([]);
  });

  it('says which key an ambiguous short name could mean', () => {
    const problems = problemsOf(() =>
      plan({
        ...good,
        learners: [
          { kind: 'ridge', id: 'a' },
          { kind: 'ridge', id: 'b' },
        ],
        sweep: { 'learners[a].lambda': [1], 'learners[b].lambda': [2], n: 'lambda * 8' },
      }),
    );
    expect(problems).toEqual([
      'sweep.n: \'lambda\' is ambiguous in "lambda * 8" (it names learners[a].lambda and learners[b].lambda)',
    ]);
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

describe('entries: options that hold another kind, resolved through the registry', () => {
  // a learner wrapping another one, as transfer wraps its base: the plan parses the inner entry with
  // the inner kind's own schema, so any registered kind — a plugin's too — is accepted there
  const wrapper = {
    kind: 'wrapper',
    description: 'fits the learner of its `inner` entry',
    options: z.object({ inner: z.looseObject({ kind: z.string() }).default({ kind: 'ridge' }) }),
    entries: { inner: 'learner' },
    create: (o: { inner: { kind: string } & Record<string, unknown> }) => ({
      fit: (train: Dataset, ctx: FitContext) => ctx.createLearner!(o.inner).fit(train, ctx),
    }),
  };
  const registry = () => registryWith(wrapper);
  const wrapped = (inner: unknown) =>
    planExperiment(parseSpec({ ...good, learners: [{ kind: 'wrapper', inner }] }), registry());

  it("fills the inner kind's defaults and records them", () => {
    expect(wrapped({ kind: 'ridge', lambda: 0.5 }).cells[0]!.learners[0]!.options).toEqual({
      inner: { kind: 'ridge', lambda: 0.5, jitter: 0 },
    });
    expect(wrapped(undefined).cells[0]!.learners[0]!.options).toEqual({
      inner: { kind: 'ridge', lambda: 1e-3, jitter: 0 },
    });
  });

  it('reports an unknown inner kind and a bad inner option at their paths', () => {
    expect(problemsOf(() => wrapped({ kind: 'ridg' }))).toEqual([
      expect.stringMatching(
        /^learners\[0\]\.inner\.kind: unknown learner kind 'ridg' \(did you mean 'ridge'\?\)/,
      ),
    ]);
    expect(problemsOf(() => wrapped({ kind: 'ridge', lambda: -1 }))).toEqual([
      expect.stringMatching(/^learners\[0\]\.inner\.lambda: /),
    ]);
  });

  it('names the learner that lacks an option a sweep key sets on all learners, and two keys that set one option', () => {
    const planned = (sweep: Record<string, unknown>) =>
      planExperiment(
        parseSpec({
          ...good,
          learners: [{ kind: 'ridge' }, { kind: 'wrapper' }],
          sweep: { n: [16], ...sweep },
        }),
        registry(),
      );
    expect(problemsOf(() => planned({ 'learners.lambda': [0.1, 1] }))).toEqual([
      "sweep.learners.lambda: learner wrapper#0 (wrapper) has no option 'lambda'; its options: inner; sweep learners[<id or kind>].lambda for the learners that have it",
    ]);
    expect(
      problemsOf(() => planned({ 'learners[ridge].lambda': [0.1], 'learners[ridge#0].lambda': [1] })),
    ).toEqual([
      'sweep.learners[ridge#0].lambda: sets lambda of ridge#0, which sweep.learners[ridge].lambda sets too; sweep it under one key',
    ]);
    // a key of a zip group is named with its group, as its values' problems are
    expect(
      problemsOf(() =>
        planned({ zip: [{ seed: [0, 1], 'target.noize': [0, 1] }, { 'learners[ridge].lambdaa': [1, 2] }] }),
      ),
    ).toEqual([
      "sweep.zip[0].target.noize: target kind 'linear' has no option 'noize' (did you mean 'noise'?); its options: d, noise",
      "sweep.zip[1].learners[ridge].lambdaa: learner ridge#0 (ridge) has no option 'lambdaa' (did you mean 'lambda'?); its options: lambda, jitter",
    ]);
    expect(
      problemsOf(() =>
        planned({
          'learners[ridge].lambda': [0.1, 1],
          zip: { seed: [0, 1], 'learners[ridge#0].lambda': [1, 2] },
        }),
      ),
    ).toEqual([
      'sweep.zip.learners[ridge#0].lambda: sets lambda of ridge#0, which sweep.learners[ridge].lambda sets too; sweep it under one key',
    ]);
    expect(
      problemsOf(() =>
        planExperiment(
          parseSpec({
            ...good,
            learners: [{ kind: 'ridge', sweep: { zip: [{ lambda: [1, 2] }] } }],
            sweep: { n: [16], zip: [{ seed: [0, 1], 'learners[ridge].lambda': [2, 3] }] },
          }),
          registry(),
        ),
      ),
    ).toEqual([
      'learners[0].sweep.zip[0].lambda: sweep.zip[0].learners[ridge].lambda sets lambda of ridge#0 too; sweep it in one place',
    ]);
    expect(
      problemsOf(() =>
        planExperiment(
          parseSpec({
            ...good,
            learners: [{ kind: 'ridge', sweep: { seed: [2] } }],
            sweep: { zip: [{ n: [16, 32], seed: [0, 1] }] },
          }),
          registry(),
        ),
      ),
    ).toEqual([
      "learners[0].sweep.seed: seed is swept in the spec's sweep (sweep.zip[0].seed), not in a learner's own sweep",
    ]);
  });

  it('fits the inner learner through FitContext.createLearner', async () => {
    const { rows } = await runExperiment(
      {
        ...good,
        backend: 'cpu',
        learners: [
          { kind: 'wrapper', inner: { kind: 'ridge', lambda: 0 } },
          { kind: 'ridge', lambda: 0 },
        ],
        sweep: { n: [32] },
      },
      { registry: registry(), log: silentLogger },
    );
    expect(rows.map((r) => r.status)).toEqual(['ok', 'ok']);
    // the same learner with the same options, each on its own stream: both fit y = x_1 closely
    expect(rows[0]!.metrics.mse).toBeLessThan(0.05);
    expect(rows[0]!.metrics.mse).toBeCloseTo(rows[1]!.metrics.mse!, 3);
  });
});

describe('non-finite numbers in a spec', () => {
  it.each(['.nan', '.inf', '-.inf'])('ridge-like option %s: says it is not a finite number', (value) => {
    const text = `target: { kind: linear, d: 4 }\nlearners: [{ kind: ridge, lambda: ${value} }]\nmetrics: [mse]\nsweep: { n: [8] }\n`;
    expect(problemsOf(() => plan(parseSpecText(text)))).toEqual([
      expect.stringMatching(
        /^learners\[0\]\.lambda: (NaN|Infinity|-Infinity) is not a finite number; give a finite value$/,
      ),
    ]);
  });
});

// bad-input: 6
describe('unused: an option that has no effect given the others is an error when written', () => {
  // a learner whose `momentum` only acts with `optimizer: sgd` (KindFactory.unused says so)
  const tuned = {
    kind: 'tuned',
    description: 'momentum acts under sgd only',
    options: z.object({
      optimizer: z.enum(['gd', 'sgd']).default('gd'),
      momentum: z.number().default(0.9),
    }),
    unused: (o: { optimizer: string }) =>
      o.optimizer === 'sgd' ? {} : { momentum: `with optimizer ${o.optimizer} (momentum acts under sgd)` },
    create: () => ({ fit: () => Promise.reject(new Error('not fitted here')) }),
  };
  const registry = () => registryWith(tuned);
  const planned = (learner: Record<string, unknown>, sweep: Record<string, unknown> = {}) =>
    planExperiment(
      parseSpec({ ...good, learners: [{ kind: 'tuned', ...learner }], sweep: { ...good.sweep, ...sweep } }),
      registry(),
    );

  it('accepts the default (not written) and the option where it acts', () => {
    expect(planned({}).cells[0]!.learners[0]!.options).toEqual({ optimizer: 'gd', momentum: 0.9 });
    expect(planned({ optimizer: 'sgd', momentum: 0.5 }).cells).toHaveLength(4);
  });

  it('refuses it written, or swept, where it has no effect, saying why', () => {
    const message =
      'learners[0].momentum: has no effect with optimizer gd (momentum acts under sgd); remove it';
    expect(problemsOf(() => planned({ momentum: 0.5 }))).toEqual([expect.stringContaining(message)]);
    // swept: blamed once on the key, with every value that gives it
    expect(problemsOf(() => planned({}, { 'learners.momentum': [0.1, 0.2] }))).toEqual([
      'sweep.learners.momentum = 0.1, 0.2: has no effect with optimizer gd (momentum acts under sgd); remove it',
    ]);
  });

  it("refuses a field of a nested option by its path (transfer's `source.degree`)", () => {
    const nested = {
      kind: 'nested',
      description: 'inner.level acts under inner.mode fine only',
      options: z.object({
        inner: z
          .object({ mode: z.enum(['coarse', 'fine']).default('coarse'), level: z.number().default(1) })
          .default({ mode: 'coarse', level: 1 }),
      }),
      unused: (o: { inner: { mode: string } }) =>
        o.inner.mode === 'fine' ? {} : { 'inner.level': `with inner.mode ${o.inner.mode}` },
      create: () => ({ fit: () => Promise.reject(new Error('not fitted here')) }),
    };
    const r = registryWith(nested);
    const planNested = (inner: Record<string, unknown>) =>
      planExperiment(parseSpec({ ...good, learners: [{ kind: 'nested', inner }] }), r);
    expect(planNested({ mode: 'fine', level: 3 }).cells).toHaveLength(4);
    expect(planNested({ mode: 'coarse' }).cells).toHaveLength(4);
    expect(problemsOf(() => planNested({ level: 3 }))).toEqual([
      expect.stringContaining('learners[0].inner.level: has no effect with inner.mode coarse; remove it'),
    ]);
  });

  it("names the variant of a learner's own sweep that brings a problem, and not one every variant has", () => {
    const learners = [{ kind: 'tuned', optimizer: 'gd', sweep: { momentum: [0.5, 0.7] } }];
    expect(problemsOf(() => planExperiment(parseSpec({ ...good, learners }), registry()))).toEqual([
      'learners[0].sweep.momentum = 0.5, 0.7: has no effect with optimizer gd (momentum acts under sgd); remove it',
    ]);
    const variants = [{ kind: 'tuned', momentum: 0.5, sweep: { optimizer: ['sgd', 'gd'] } }];
    expect(problemsOf(() => planExperiment(parseSpec({ ...good, learners: variants }), registry()))).toEqual([
      'learners[0].momentum: has no effect with optimizer gd (momentum acts under sgd); remove it (with learners[0].sweep optimizer=gd)',
    ]);
  });
});

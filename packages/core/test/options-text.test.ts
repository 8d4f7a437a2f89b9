import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { parseOptions } from '../src/contracts/options.js';
import { schemaText } from '../src/contracts/schema-text.js';
import { parseSpec, parseSpecText } from '../src/spec/spec.js';
import { problemsOf } from './helpers.js';

/** The problems parseOptions reports for one value of one field. */
function problems(schema: z.ZodType, value: unknown): string[] {
  const parsed = parseOptions(z.strictObject({ field: schema }), { field: value });
  if (parsed.ok) throw new Error(`expected ${JSON.stringify(value)} to be refused`);
  return parsed.problems;
}

// the shapes of regimes' own unions: ridge (number | list | enum), a stage split (literal | number),
// an activation (enum | two strict objects), a learning rate (number | strict object)
const ridge = z.union([z.number().min(0), z.array(z.number().min(0)).min(1), z.enum(['gcv', 'loo'])]);
const split = z.union([z.literal('reuse'), z.number().gt(0).lt(1)]);
const activation = z.union([
  z.enum(['relu', 'tanh']),
  z.strictObject({ he: z.number().int().min(0).max(12) }),
  z.strictObject({ hermite: z.array(z.number()).min(1) }),
]);
const lr = z.union([
  z.number().min(0),
  z.strictObject({ first: z.number().min(0), readout: z.number().min(0) }),
]);

// a recursive schema: a number or a list of trees
type Tree = number | Tree[];
const tree: z.ZodType<Tree> = z.lazy(() => z.union([z.number(), z.array(tree)]));

describe('schemaText: what a schema takes, read from its definition', () => {
  it.each<[string, z.ZodType, string]>([
    ['bounded number', z.number().min(0), 'a number ≥ 0'],
    ['open interval', z.number().gt(0).lt(1), 'a number in (0, 1)'],
    ['closed integer range', z.number().int().min(0).max(12), 'an integer in [0, 12]'],
    ['positive integer', z.number().int().positive(), 'a positive integer'],
    [
      'safe-integer cap left out',
      z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
      'an integer ≥ 0',
    ],
    ['enum', z.enum(['gcv', 'loo']), "'gcv' | 'loo'"],
    ['non-empty list', z.array(z.number().min(0)).min(1), 'a non-empty list of numbers ≥ 0'],
    ['list of objects', z.array(z.object({ a: z.number() })), 'a list, each { a: a number }'],
    [
      'small object, optional field',
      z.object({ n: z.number().int().positive().default(4) }),
      '{ n?: a positive integer }',
    ],
    ['loose object', z.looseObject({ kind: z.string().min(1) }), '{ kind: a non-empty string, … }'],
    [
      'large object',
      z.object({ a: z.number(), b: z.number(), c: z.number(), d: z.number() }),
      'an object with fields a, b, c, d',
    ],
    ['tuple', z.tuple([z.number(), z.string()]), '[a number, a string]'],
    ['union', ridge, "a number ≥ 0, a non-empty list of numbers ≥ 0 or 'gcv' | 'loo'"],
    ['wrapped in default', split.default('reuse'), "'reuse' or a number in (0, 1)"],
    ['recursive, cut off', tree, 'a number or a list, each a number or a list'],
  ])('%s', (_label, schema, text) => {
    expect(schemaText(schema)).toBe(text);
  });
});

describe('union and type errors say what the field takes', () => {
  it.each<[string, z.ZodType, unknown, string[]]>([
    [
      'a value no form takes lists every form',
      ridge,
      { value: 1 },
      ["field: expected a number ≥ 0, a non-empty list of numbers ≥ 0 or 'gcv' | 'loo', got {\"value\":1}"],
    ],
    [
      'a misspelt string gets did-you-mean and every form',
      ridge,
      'gvc',
      [
        "field: expected a number ≥ 0, a non-empty list of numbers ≥ 0 or 'gcv' | 'loo' (did you mean 'gcv'?), got \"gvc\"",
      ],
    ],
    [
      'a list is reported inside the list form',
      ridge,
      [0.1, 'gcv'],
      ['field[1]: expected a number ≥ 0, got "gcv"'],
    ],
    [
      'a string where a literal or a number fits',
      split,
      'half',
      ['field: expected \'reuse\' or a number in (0, 1), got "half"'],
    ],
    ['a number out of the bound', split, 2, ['field: must be < 1, got 2']],
    [
      "an object whose key is near a form's key",
      activation,
      { hermit: [0, 1] },
      [
        "field: expected 'relu' | 'tanh', { he: an integer in [0, 12] } or { hermite: a non-empty list of numbers } (did you mean 'hermite' for 'hermit'?), got {\"hermit\":[0,1]}",
      ],
    ],
    [
      'an enum value with a word added',
      z.enum(['constant', 'cosine', 'inverse-sqrt']),
      'cosine-decay',
      [
        "field: expected 'constant' | 'cosine' | 'inverse-sqrt' (did you mean 'cosine'?), got \"cosine-decay\"",
      ],
    ],
    [
      'an enum typo',
      z.enum(['gd', 'sgd', 'adam']),
      'adamw',
      ["field: expected 'gd' | 'sgd' | 'adam' (did you mean 'adam'?), got \"adamw\""],
    ],
    [
      'a number where only strings and objects fit',
      activation,
      3,
      [
        "field: expected 'relu' | 'tanh', { he: an integer in [0, 12] } or { hermite: a non-empty list of numbers }, got 3",
      ],
    ],
    [
      'an object: the form whose keys it uses',
      activation,
      { he: 'two' },
      ['field.he: expected an integer in [0, 12], got "two"'],
    ],
    [
      'a string for a number-or-object',
      lr,
      'fast',
      ['field: expected a number ≥ 0 or { first: a number ≥ 0, readout: a number ≥ 0 }, got "fast"'],
    ],
    [
      'a strict object made without options() lists its keys',
      lr,
      { first: 1, readot: 2 },
      [
        'field.readout: required field is missing (expected a number ≥ 0)',
        "field: unknown field 'readot' (did you mean 'readout'?); allowed: first, readout",
      ],
    ],
    ['an empty list', z.array(z.number()).min(1), [], ['field: must not be empty, got []']],
    ['a too-long list', z.array(z.number()).max(2), [1, 2, 3], ['field: takes at most 2 items, got [1,2,3]']],
    ['a non-integer', z.number().int(), 2.5, ['field: expected an integer, got 2.5']],
    [
      'a string for an object with a kind',
      z.looseObject({ kind: z.string() }),
      'hermite',
      ['field: expected { kind: a string, … }, such as { kind: hermite }, got "hermite"'],
    ],
    [
      'a number for a one-field object',
      z.object({ n: z.number() }),
      1024,
      ['field: expected { n: a number }, such as { n: 1024 }, got 1024'],
    ],
  ])('%s', (_label, schema, value, expected) => {
    expect(problems(schema, value)).toEqual(expected);
  });

  it("keeps a schema's own message", () => {
    const own = z.union([z.number(), z.string()], { error: () => 'seconds or a duration' });
    expect(problems(own, {})).toEqual(['field: seconds or a duration, got {}']);
  });
});

describe('spec files and values: the shape to write', () => {
  const spec = {
    name: 'x',
    target: { kind: 'linear', d: 4 },
    learners: [{ kind: 'ridge' }],
    sweep: { n: [16] },
  };
  it.each<[string, unknown, string]>([
    [
      'a bare target kind',
      { ...spec, target: 'linear' },
      'target: expected { kind: a non-empty string, … }, such as { kind: linear }, got "linear"',
    ],
    [
      'a bare learner kind',
      { ...spec, learners: ['ntk'] },
      'learners[0]: expected an object with fields kind, id, sweep, timeout, such as { kind: ntk, … }, got "ntk"',
    ],
    [
      'a bare test size',
      { ...spec, test: 1024 },
      'test: expected { n?: an integer ≥ 2 }, such as { n: 1024 }, got 1024',
    ],
    [
      'a number in metrics',
      { ...spec, metrics: [1] },
      'metrics[0]: expected a string or { kind: a non-empty string, … }, got 1',
    ],
    [
      'a timeout as an object',
      { ...spec, learners: [{ kind: 'ridge', timeout: { s: 5 } }] },
      'learners[0].timeout: expected seconds (a number) or a string with a unit (500ms, 30s, 10m, 2h), got {"s":5}',
    ],
    [
      'a zip that is not a group',
      { ...spec, sweep: { n: [16], zip: 'target.d' } },
      'sweep.zip: zip takes a group of axes that advance together ({ n: [256, 1024], target.d: [8, 16] }) or a list of such groups, got "target.d"',
    ],
    [
      'a list inside a sweep list',
      { ...spec, sweep: { n: [[16]] } },
      'sweep.n[0]: expected a number, a string or a boolean, got [16]',
    ],
    [
      'a zip group nested as objects',
      { ...spec, sweep: { zip: [{ n: [16, 32], target: { d: [2, 4] } }] } },
      "sweep.zip[0].target: a sweep names each option by its dotted path: write 'target.d' as a key of sweep.zip[0], not target: { d }",
    ],
    [
      'a list where the sweep map goes',
      { ...spec, sweep: [16] },
      'sweep: expected a map from sweep keys to values, such as { n: [256, 1024], seed: [0, 1] }, got [16]',
    ],
    [
      'one line for a seed past the safe integers',
      { ...spec, seed: 1e300 },
      'seed: must be ≤ 9007199254740991, got 1e+300',
    ],
    [
      'NaN inside a list printed as NaN, not null',
      { ...spec, sweep: { n: [16], 'target.d': { range: [1, Number.NaN] } } },
      'sweep.target.d.range: range takes [a, b] or [a, b, step] (numbers), got [1,NaN]',
    ],
  ])('%s', (_label, value, expected) => {
    expect(problemsOf(() => parseSpec(value))).toEqual([expected]);
  });

  it.each<[string, string, string, string | string[]]>([
    [
      'an empty file',
      'empty.yaml',
      '',
      'the file is empty: a spec needs name, target, learners and sweep (examples/quickstart.yaml is one)',
    ],
    [
      'a comment only',
      'c.yaml',
      '# nothing yet\n',
      'the file is empty: a spec needs name, target, learners and sweep (examples/quickstart.yaml is one)',
    ],
    [
      'two YAML documents',
      'two.yaml',
      'name: a\n---\nname: b\n',
      "line 2, column 1: a spec file holds one YAML document: remove the '---' line, or put each spec in its own file",
    ],
    [
      'a repeated key, its position once',
      'dup.yaml',
      'name: a\nname: b\n',
      "line 2, column 1: the key 'name' comes twice in one map: keep one",
    ],
    [
      'a repeated quoted key in a flow map',
      'dup2.yaml',
      'target: { kind: hermite, "d": 8, "d": 16 }\n',
      "line 1, column 34: the key 'd' comes twice in one map: keep one",
    ],
    [
      'a repeated key in JSON, which JSON.parse would take silently',
      'dup.json',
      '{\n  "name": "t",\n  "target": { "kind": "hermite", "d": 8, "d": 16 }\n}\n',
      "line 3, column 42: the key 'd' comes twice in one map: keep one",
    ],
    [
      'a bracketed sweep key in a flow map, one line for the three of the parser',
      'flow.yaml',
      'name: a\nsweep: { n: [64], learners[rf].ridge: [0.1, 1] }\n',
      'line 2: the key learners[rf].ridge has brackets, which YAML reads as a list inside { … }: quote it ("learners[rf].ridge": …), or write the map one key per line',
    ],
    [
      'two bracketed sweep keys in a flow map, and a plain key written twice there',
      'flow2.yaml',
      'name: a\nsweep: { n: [64], n: [128], learners[rf].ridge: [0.1], learners[rf].width: [2] }\n',
      [
        "line 2, column 19: the key 'n' comes twice in one map: keep one",
        'line 2: the keys learners[rf].ridge, learners[rf].width have brackets, which YAML reads as a list inside { … }: quote them ("learners[rf].ridge": …, "learners[rf].width": …), or write the map one key per line',
      ],
    ],
    [
      'a bracketed sweep key in a flow map over several lines, after a quoted brace and a comment',
      'flow3.yaml',
      "name: 'a {' # it's {\nsweep: {\n  n: [64],\n  learners[rf].ridge: [0.1, 1]\n}\n",
      'line 4: the key learners[rf].ridge has brackets, which YAML reads as a list inside { … }: quote it ("learners[rf].ridge": …), or write the map one key per line',
    ],
    [
      'a bracketed sweep key in a block map, its line with another error: that error, not the flow hint',
      'block.yaml',
      "name: it's a run {\nsweep:\n  learners[rf].width: [8, 16]]\n",
      "line 3, column 30: a ']' that closes no '[': remove it, or add the '[' it closes",
    ],
    [
      'a block map after a block scalar with a brace in its text: the other error, not the flow hint',
      'block2.yaml',
      'notes: |\n  { a brace\n\n  more\nsweep:\n  learners[rf].width: [8, 16]]\n',
      "line 6, column 30: a ']' that closes no '[': remove it, or add the '[' it closes",
    ],
    [
      'a flow map after a folded block scalar with brackets in its text: the flow hint',
      'flow4.yaml',
      'notes: >-\n  [ { text\nsweep: { n: [64], learners[rf].ridge: [0.1, 1] }\n',
      'line 3: the key learners[rf].ridge has brackets, which YAML reads as a list inside { … }: quote it ("learners[rf].ridge": …), or write the map one key per line',
    ],
    [
      'a merge key whose anchor comes later',
      'late.yaml',
      'learners:\n  - { <<: *rf, id: b }\n  - &rf { kind: rf }\n',
      'line 2, column 11: the alias *rf comes before its anchor &rf: set the anchor first',
    ],
    [
      'a repeated JSON key written with an escape, named as read',
      'esc.json',
      '{"target": {"d": 8, "\\u0064": 9}}',
      "line 1, column 21: the key 'd' comes twice in one map: keep one",
    ],
    [
      'an alias without its anchor',
      'alias.yaml',
      'name: *nope\n',
      'line 1, column 7: the alias *nope has no anchor &nope',
    ],
  ])('%s', (_label, source, text, expected) => {
    const problems = problemsOf(() => parseSpecText(text, source));
    expect(problems).toEqual([expected].flat());
  });

  it('keeps a JSON error on one line and says when the file is YAML', () => {
    let hint: string | undefined;
    try {
      parseSpecText('name: t\ntarget: x\n', 'spec.json');
    } catch (error) {
      hint = (error as { hint?: string }).hint;
      expect((error as { problems: string[] }).problems).toEqual([expect.not.stringContaining('\n')]);
    }
    expect(hint).toBe('the file reads as YAML: name it .yaml');
  });

  it("gives a JSON syntax error's line and column, not its character offset", () => {
    const [problem] = problemsOf(() => parseSpecText('{\n "name": "x",\n}\n', 'bad.json'));
    expect(problem).toMatch(/^JSON syntax error: .* at line 3, column 1$/);
  });

  it.each([
    ['Node 20', 'Expected double-quoted property name in JSON at position 16'],
    ['Node 22 and later', 'Expected double-quoted property name in JSON at position 16 (line 3 column 1)'],
  ])("turns the offset of %s's JSON message into one line and column", (_node, message) => {
    const parse = vi.spyOn(JSON, 'parse').mockImplementationOnce(() => {
      throw new SyntaxError(message);
    });
    try {
      expect(problemsOf(() => parseSpecText('{\n "name": "x",\n}\n', 'bad.json'))).toEqual([
        'JSON syntax error: Expected double-quoted property name in JSON at line 3, column 1',
      ]);
    } finally {
      parse.mockRestore();
    }
  });

  it('leaves out root keys named x-…, a home for anchors', () => {
    const text =
      'name: m\nx-base: &base { kind: ridge, lambda: 0.5 }\ntarget: { kind: linear, d: 4 }\n' +
      'learners:\n  - { <<: *base, id: a }\n  - { <<: *base, id: b, lambda: 2 }\nsweep: { n: [16] }\n';
    const spec = parseSpecText(text, 'x.yaml');
    expect(spec.learners.map((l) => [l.id, (l as { lambda?: number }).lambda])).toEqual([
      ['a', 0.5],
      ['b', 2],
    ]);
    expect(spec).not.toHaveProperty('x-base');
  });

  it('reads YAML merge keys, the keys beside `<<` winning', () => {
    const text =
      'name: m\ntarget: { kind: linear, d: 4 }\nlearners:\n  - &base { kind: ridge, lambda: 0.5, jitter: 1 }\n' +
      '  - { <<: *base, id: other, lambda: 2 }\nsweep: { n: [16] }\n';
    expect(parseSpecText(text, 'merge.yaml').learners[1]).toEqual({
      kind: 'ridge',
      id: 'other',
      lambda: 2,
      jitter: 1,
    });
  });
});

/**
 * The sweep grammar: lists, ranges, zip groups and derived values, and their expansion into
 * cells. A sweep maps keys (`n`, `seed`, `target.d`, `learners[nn].width`, or a learner's own
 * option names inside a learner's `sweep:`) to
 *   - a list of values: `[256, 1024]`;
 *   - a range: `{ log2: [8, 14] }`, `{ linspace: [0, 1, 5] }`, `{ logspace: [-4, 0, 5] }`,
 *     `{ geomspace: [100, 10000, 5] }`, `{ range: [0, 10, 2] }` (optional `round: true`);
 *   - an expression of the other values, evaluated per cell: `"d^2"`, `"round(2*d*log(d))"`.
 * `zip:` (one group, or a list of groups) holds lists that advance together instead of being
 * crossed. Every other list or range is one axis of the grid.
 */
import { z } from '../../deps/zod.js';
import { closestMatch } from '../registry/closest.js';
import { evaluateExpression, parseExpression } from '@regimes/numerics';
import { options } from '../contracts/options.js';

export type Scalar = number | string | boolean;

const scalar = z.union([z.number(), z.string(), z.boolean()]);
const pair = z.tuple([z.number(), z.number()]);
const triple = z.tuple([z.number(), z.number(), z.number().int().min(1)]);

const rangeKinds = ['log2', 'linspace', 'logspace', 'geomspace', 'range'] as const;

export const SweepRangeSchema = options({
  log2: pair.describe('[a, b]: 2^a, 2^(a+step), ..., 2^b (step 1 unless `step` is given)').optional(),
  linspace: triple.describe('[a, b, k]: k evenly spaced values from a to b, both included').optional(),
  logspace: triple.describe('[a, b, k]: k values from 10^a to 10^b, evenly spaced in log').optional(),
  geomspace: triple.describe('[a, b, k]: k values from a to b, evenly spaced in log').optional(),
  range: z
    .union([pair, z.tuple([z.number(), z.number(), z.number()])], {
      error: () => 'range takes [a, b] or [a, b, step] (numbers)',
    })
    .describe('[a, b] or [a, b, step]: a, a+step, ... below b (b excluded, like Python)')
    .optional(),
  step: z.number().positive().describe('step of `log2` (exponent units)').optional(),
  round: z.boolean().describe('round every value to the nearest integer').optional(),
}).superRefine((value, ctx) => {
  const given = rangeKinds.filter((k) => value[k] !== undefined);
  // an unknown key (a misspelt kind) has been reported already, with did-you-mean
  if (ctx.issues.some((i) => i.code === 'unrecognized_keys')) return;
  if (given.length !== 1)
    ctx.addIssue({
      code: 'custom',
      message: `a range names exactly one of ${rangeKinds.join(', ')}${given.length ? `, got ${given.join(' and ')}` : ''}`,
    });
  if (value.step !== undefined && value.log2 === undefined)
    ctx.addIssue({ code: 'custom', message: '`step` goes with `log2` (range takes [a, b, step])' });
});
export type SweepRange = z.output<typeof SweepRangeSchema>;

/** What a swept key takes, for the message of a value that is none of them (a bare number, say). */
function sweepValueForms(input: unknown): string {
  const one = typeof input === 'number' || typeof input === 'boolean' ? `[${String(input)}]` : '[256]';
  return (
    `a sweep value is a list ([256, 1024]; one value: ${one}), a range ({ log2: [8, 14] }, ` +
    '{ range: [0, 10] }, { linspace: [0, 1, 5] }, ...) or an expression string ("d^2")'
  );
}

export const SweepValueSchema = z.union(
  [
    z.array(scalar).min(1).describe('the values, one axis of the grid'),
    SweepRangeSchema,
    z.string().min(1).describe('an expression of the other swept values, evaluated per cell, e.g. "d^2"'),
  ],
  { error: (issue) => sweepValueForms(issue.input) },
);
export type SweepValue = z.output<typeof SweepValueSchema>;

const zipGroup = z
  .record(z.string(), SweepValueSchema)
  .describe('lists of equal length that advance together (one axis of the grid)');

export const SweepSchema = z
  .object(
    {
      zip: z
        .union([zipGroup, z.array(zipGroup).min(1)], {
          error: () =>
            'zip takes a group of axes that advance together ({ n: [256, 1024], target.d: [8, 16] }) or a list of such groups',
        })
        .optional(),
    },
    {
      error: (issue) =>
        issue.code === 'invalid_type'
          ? 'expected a map from sweep keys to values, such as { n: [256, 1024], seed: [0, 1] }'
          : undefined,
    },
  )
  .catchall(SweepValueSchema);
export type Sweep = z.output<typeof SweepSchema>;

/**
 * The head of a sweep key that sets an option: `target` or `learners` (`learners[rf]`, the learner's
 * id or kind captured), before its `.option`.
 */
const OPTION_HEAD = '(target|learners(?:\\[([^\\]]+)\\])?)';
const OPTION_KEY = new RegExp(`^${OPTION_HEAD}\\.(.*)$`);
/** A head alone (`target`, `learners[rf]`): a sweep written as nested objects. */
const HEAD_ONLY = new RegExp(`^${OPTION_HEAD}$`);

/**
 * The parts of a sweep key that sets an option, by its form: `learners[rf].ridge` → `{ head:
 * 'learners', ref: 'rf', option: 'ridge' }`; undefined for any other key (`n`, `seed`, a typo).
 */
export function optionKeyParts(
  key: string,
): { head: 'target' | 'learners'; ref?: string; option: string } | undefined {
  const m = OPTION_KEY.exec(key);
  if (!m) return undefined;
  const head = m[1] === 'target' ? 'target' : 'learners';
  return { head, ...(m[2] === undefined ? {} : { ref: m[2] }), option: m[3]! };
}

/** A sweep key that sets an option (`target.d`, `learners.width`, `learners[rf].ridge`), by its form. */
export const isOptionKey = (key: string): boolean => OPTION_KEY.test(key);

/**
 * A sweep written as nested objects (`target: { d: [8, 16] }`, `learners[rf]: { ridge: [1] }`) where
 * its keys are dotted paths (`target.d: [8, 16]`): one problem per such key, saying what to write.
 */
export function nestedSweepKeys(sweep: unknown, path: string): string[] {
  if (typeof sweep !== 'object' || sweep === null || Array.isArray(sweep)) return [];
  return Object.entries(sweep).flatMap(([key, value]) => {
    if (key === 'zip')
      return Array.isArray(value)
        ? value.flatMap((group, i) => nestedSweepKeys(group, `${path}.zip[${i}]`))
        : nestedSweepKeys(value, `${path}.zip`);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
    // the heads of dotted keys; any other key holding an object is a range (perhaps misspelt)
    if (!HEAD_ONLY.test(key)) return [];
    const inner = Object.keys(value);
    if (!inner.length) return [];
    const dotted = inner.map((k) => `'${key}.${k}'`).join(', ');
    return [
      `${path}.${key}: a sweep names each option by its dotted path: write ${dotted} as ${inner.length > 1 ? 'keys' : 'a key'} of ${path}, not ${key}: { ${inner.join(', ')} }`,
    ];
  });
}

/** The most values one list or range of a sweep may give, and the most cells a grid may have. */
export const SWEEP_LIMITS = { axis: 100_000, cells: 1_000_000 } as const;

/** How many values a range gives, counted without making them (an upper bound before rounding). */
export function rangeLength(range: SweepRange): number {
  if (range.log2)
    return Math.max(0, Math.floor((range.log2[1] - range.log2[0]) / (range.step ?? 1) + 1e-9) + 1);
  const spaced = range.linspace ?? range.logspace ?? range.geomspace;
  if (spaced) return spaced[2];
  if (range.range) {
    const [a, b, step = 1] = range.range;
    return step === 0 ? 0 : Math.max(0, Math.ceil((b - a) / step - 1e-12));
  }
  return 0;
}

/** Why a range gives no values, and what to write instead. */
function emptyRange(range: SweepRange): string {
  const list = (v: readonly number[]) => `[${v.join(', ')}]`;
  if (range.range) {
    const [a, b, step = 1] = range.range;
    if (a === b)
      return `range ${list(range.range)} gives no values: its end is left out; write the list [${a}]`;
    const [way, other] = step > 0 ? ['up', 'down'] : ['down', 'up'];
    return (
      `range ${list(range.range)} gives no values: it counts ${way} from ${a} and stops before ${b}; ` +
      `write ${list([b, a, ...(range.range.length > 2 ? [step] : [])])} to count ${way} from ${b}, ` +
      `or ${list([a, b, -step])} to count ${other} from ${a}`
    );
  }
  if (range.log2 && range.log2[0] > range.log2[1])
    return `log2 ${list(range.log2)} gives no values: its powers count up; write ${list([range.log2[1], range.log2[0]])}`;
  return 'the range is empty';
}

/** The values of a range, in order. Throws a message (string) when the range gives none or too many. */
export function expandRange(range: SweepRange): number[] {
  const count = rangeLength(range);
  if (!(count <= SWEEP_LIMITS.axis))
    throw `the range gives ${count} values (at most ${SWEEP_LIMITS.axis} per list); sweep fewer values, or split the sweep into specs`;
  let values: number[] = [];
  if (range.log2) {
    const [a, b] = range.log2;
    const step = range.step ?? 1;
    for (let i = 0; a + i * step <= b + 1e-9; i++) values.push(2 ** (a + i * step));
  } else if (range.linspace) {
    const [a, b, k] = range.linspace;
    values = Array.from({ length: k }, (_, i) => (k === 1 ? a : a + ((b - a) * i) / (k - 1)));
  } else if (range.logspace) {
    const [a, b, k] = range.logspace;
    values = Array.from({ length: k }, (_, i) => 10 ** (k === 1 ? a : a + ((b - a) * i) / (k - 1)));
  } else if (range.geomspace) {
    const [a, b, k] = range.geomspace;
    if (!(a > 0 && b > 0)) throw 'geomspace needs positive ends';
    values = Array.from({ length: k }, (_, i) =>
      k === 1 ? a : Math.exp(Math.log(a) + ((Math.log(b) - Math.log(a)) * i) / (k - 1)),
    );
    // exact ends, free of exp/log round-off
    values[0] = a;
    if (k > 1) values[k - 1] = b;
  } else if (range.range) {
    const [a, b, step = 1] = range.range;
    if (step === 0) throw 'range step cannot be 0';
    for (let v = a, i = 0; step > 0 ? v < b - 1e-12 : v > b + 1e-12; v = a + ++i * step) values.push(v);
  }
  // 10 ** -4 is 0.00009999999999999999: keep 15 significant digits, as a user would write them
  values = values.map((v) => Number(v.toPrecision(15)));
  // powers and spaces of integers land a few ulps off: snap values within 1e-9 of an integer
  values = values.map((v) =>
    Math.abs(v - Math.round(v)) <= 1e-9 * Math.max(1, Math.abs(v)) ? Math.round(v) : v,
  );
  // rounding can merge neighbours (geomspace over a short range): each value once, in order
  if (range.round) values = [...new Set(values.map(Math.round))];
  if (!values.length) throw emptyRange(range);
  return values;
}

/** An axis of the grid: one or more keys whose values advance together. */
interface Axis {
  keys: string[];
  rows: Scalar[][];
}

interface Derived {
  key: string;
  text: string;
}

/** The short name an expression uses for a key: `target.d` → `d`, `learners[nn].width` → `width`. */
export function shortName(key: string): string {
  const m = /([A-Za-z_][A-Za-z0-9_]*)$/.exec(key);
  return m ? m[1]! : key;
}

export interface ExpandOptions {
  /** Where the sweep sits in the spec, for messages (`sweep`, `learners[0].sweep`). */
  readonly path: string;
  /** Values expressions may use besides the swept ones (fixed options, outer cell values). */
  readonly scope?: Readonly<Record<string, Scalar>>;
  /** Keys whose values are rounded to integers when derived (sample sizes, seeds). */
  readonly integerKeys?: readonly string[];
}

export interface Expansion {
  /** Keys in spec order (zip members in place, derived values in place). */
  readonly keys: readonly string[];
  /** One object per cell, keys in `keys` order. */
  readonly cells: Record<string, Scalar>[];
}

/** Expand a sweep into its cells; problems are added to `problems` (nothing is thrown). */
export function expandSweep(sweep: Sweep, opts: ExpandOptions, problems: Set<string>): Expansion {
  const { axes, derived, keys } = sweepAxes(sweep, opts.path, problems);
  const cellCount = axes.reduce((product, axis) => product * axis.rows.length, 1);
  if (cellCount > SWEEP_LIMITS.cells) {
    problems.add(
      `${opts.path}: the grid has ${cellCount.toExponential(2)} cells (${axes.map((a) => `${a.keys.join('+')}: ${a.rows.length}`).join(' × ')}; at most ${SWEEP_LIMITS.cells}); sweep fewer values, or split the sweep over specs or shards`,
    );
    return { keys, cells: [] };
  }
  let partial: Record<string, Scalar>[] = [{}];
  for (const axis of axes) {
    partial = partial.flatMap((cell) =>
      axis.rows.map((row) => {
        const next = { ...cell };
        axis.keys.forEach((k, i) => (next[k] = row[i]!));
        return next;
      }),
    );
  }
  // Derived values, in spec order; each sees the fixed scope, the grid, and earlier derived values.
  const short = new Map<string, string[]>();
  for (const k of keys) short.set(shortName(k), [...(short.get(shortName(k)) ?? []), k]);
  derived.forEach((d, i) => deriveValues(d, partial, short, opts, problems, derived.slice(i + 1)));
  // every cell lists its values in spec order
  const cells = partial.map((cell) =>
    Object.fromEntries(keys.filter((k) => k in cell).map((k) => [k, cell[k]!])),
  );
  return { keys, cells };
}

/**
 * The grid's axes (a key with its list or range, or a zip group advancing together), the derived
 * keys (expressions, computed per cell afterwards) and every key in spec order.
 */
function sweepAxes(
  sweep: Sweep,
  path: string,
  problems: Set<string>,
): { axes: Axis[]; derived: Derived[]; keys: string[] } {
  const axes: Axis[] = [];
  const derived: Derived[] = [];
  const keys: string[] = [];
  const seen = new Set<string>();
  // a key's list of values; undefined for a derived key (recorded), [] for a bad range (a problem)
  const values = (key: string, value: SweepValue, where: string): Scalar[] | undefined => {
    if (seen.has(key))
      problems.add(`${where}: '${key}' is swept twice (at the top and in a zip group, or in two groups)`);
    seen.add(key);
    keys.push(key);
    if (Array.isArray(value)) return value;
    if (typeof value === 'string') {
      derived.push({ key, text: value });
      return undefined;
    }
    try {
      return expandRange(value);
    } catch (message) {
      problems.add(`${where}: ${String(message)}`);
      return [];
    }
  };
  for (const [key, value] of Object.entries(sweep)) {
    if (key !== 'zip') {
      const list = values(key, value as SweepValue, `${path}.${key}`);
      if (list) axes.push({ keys: [key], rows: list.map((v) => [v]) });
      continue;
    }
    const groups = Array.isArray(value) ? value : [value];
    groups.forEach((group, g) => {
      const where = `${path}.zip${Array.isArray(value) ? `[${g}]` : ''}`;
      const axis = zipAxis(group as Record<string, SweepValue>, where, values, problems);
      if (axis?.keys.length) axes.push(axis);
    });
  }
  return { axes, derived, keys };
}

/** One zip group as one axis: its lists advance together, so they must have one length. */
function zipAxis(
  group: Record<string, SweepValue>,
  where: string,
  values: (key: string, value: SweepValue, where: string) => Scalar[] | undefined,
  problems: Set<string>,
): Axis | undefined {
  const axis: Axis = { keys: [], rows: [] };
  const columns: Scalar[][] = [];
  for (const [k, v] of Object.entries(group)) {
    const list = values(k, v, `${where}.${k}`);
    if (!list) continue;
    axis.keys.push(k);
    columns.push(list);
  }
  const lengths = columns.map((c) => c.length);
  if (new Set(lengths).size > 1) {
    problems.add(
      `${where}: zipped lists must have the same length, got ${axis.keys.map((k, i) => `${k}: ${lengths[i]}`).join(', ')}`,
    );
    return undefined;
  }
  for (let i = 0; i < (lengths[0] ?? 0); i++) axis.rows.push(columns.map((c) => c[i]!));
  return axis;
}

/**
 * Set a derived key in every cell by evaluating its expression over the names in scope: numeric
 * fixed values and the swept keys whose short name is unambiguous. A parse error names what is
 * ambiguous or unknown (with did-you-mean); a non-finite value names its cell.
 */
function deriveValues(
  d: Derived,
  cells: Record<string, Scalar>[],
  short: ReadonlyMap<string, string[]>,
  opts: ExpandOptions,
  problems: Set<string>,
  later: readonly Derived[],
): void {
  const where = `${opts.path}.${d.key}`;
  // a key derived after this one has no value yet: not in scope, nor the fixed value it will replace
  const pending = new Set(later.map((l) => shortName(l.key)));
  const names = [
    ...new Set([
      ...Object.keys(opts.scope ?? {}).filter((k) => typeof opts.scope![k] === 'number'),
      ...[...short.keys()].filter((s) => short.get(s)!.length === 1 && short.get(s)![0] !== d.key),
    ]),
  ].filter((s) => !pending.has(s));
  let expr;
  try {
    expr = parseExpression(d.text, names, where);
  } catch (error) {
    const ambiguous = [...short.entries()].find(
      ([s, ks]) => ks.length > 1 && new RegExp(`\\b${s}\\b`).test(d.text),
    );
    const unknown = /the symbol '([^']+)'/.exec((error as Error).message)?.[1];
    const derivedLater = later.find((l) => shortName(l.key) === unknown);
    const near = unknown && !ambiguous ? closestMatch(unknown, names) : undefined;
    const first = (error as { problems?: string[] }).problems?.[0] ?? (error as Error).message;
    problems.add(
      ambiguous
        ? `${where}: '${ambiguous[0]}' is ambiguous in ${JSON.stringify(d.text)} (it names ${ambiguous[1].join(' and ')})`
        : derivedLater
          ? `${where}: ${JSON.stringify(d.text)} uses '${unknown}', derived after it (${derivedLater.key}: ${JSON.stringify(derivedLater.text)}); derived values are evaluated in the order they are written: move ${derivedLater.key} above ${d.key}`
          : `${first.split('; allowed')[0]}${near ? ` (did you mean '${near}'?)` : ''}; names in scope: ${names.join(', ') || '(none)'}` +
            // a bare word is most likely a value (an activation, `gcv`), which a sweep lists
            (unknown && !near && unknown === d.text.trim()
              ? `; a string in a sweep is an expression: to sweep the value '${unknown}', write [${unknown}]`
              : ''),
    );
    return;
  }
  for (const cell of cells) {
    const lookup = (name: string): number => {
      const k = short.get(name)?.[0];
      const v = k !== undefined && k in cell ? cell[k] : opts.scope?.[name];
      return typeof v === 'number' ? v : Number.NaN;
    };
    let v = Number(evaluateExpression(expr, names.map(lookup)).toPrecision(15));
    if (opts.integerKeys?.includes(d.key)) v = Math.round(v);
    if (!Number.isFinite(v)) {
      problems.add(
        `${where}: ${JSON.stringify(d.text)} is not a finite number (${v})${keyOf(cell) ? ` in cell ${keyOf(cell)}` : ''}`,
      );
      break;
    }
    cell[d.key] = v;
  }
}

/** `k=v,k=v` in the order of the object's keys. */
export function keyOf(values: Readonly<Record<string, Scalar>>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

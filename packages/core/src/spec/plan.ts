/**
 * From a validated spec to the list of cells to run: expands the sweep grid, applies swept
 * values to the target and learners, and checks every resolved option against the schema its
 * kind registered — all before any work, so a bad value in the last cell fails at once.
 */
import { createHash } from 'node:crypto';
import { closestMatch } from '../registry/closest.js';
import { SpecError } from '../contracts/errors.js';
import { parseOptions } from '../contracts/options.js';
import type { Registry } from '../registry/registry.js';
import type { Spec } from './spec.js';
import { expandSweep, keyOf, type Scalar, shortName } from './sweep.js';

export interface KindPlan {
  readonly kind: string;
  /** Options after the kind's schema (defaults filled in), as recorded in results rows. */
  readonly options: Record<string, unknown>;
}

export interface LearnerPlan extends KindPlan {
  /** The spec's id, followed by `(k=v,...)` for a value of the learner's own sweep. */
  readonly id: string;
}

export interface Cell {
  /** Position in the plan (0-based): shards take the cells with index ≡ i − 1 (mod N). */
  readonly index: number;
  /** Stable key, e.g. `n=1024,seed=1`: the swept values in the order the spec lists them. */
  readonly key: string;
  readonly values: Readonly<Record<string, Scalar>>;
  readonly n: number;
  readonly seed: number;
  readonly target: KindPlan;
  readonly learners: readonly LearnerPlan[];
}

export interface Plan {
  readonly spec: Spec;
  readonly specHash: string;
  readonly cells: readonly Cell[];
  readonly metrics: readonly KindPlan[];
}

type SweepTarget =
  | { kind: 'n' }
  | { kind: 'seed' }
  | { kind: 'target'; option: string }
  | { kind: 'learners'; ids: string[]; option: string };

/** The cells of shard `index` of `count` (1-based): cell indices ≡ index − 1 (mod count); all without a shard. */
export function shardCells(
  cells: readonly Cell[],
  shard?: { readonly index: number; readonly count: number },
): readonly Cell[] {
  return shard ? cells.filter((c) => c.index % shard.count === shard.index - 1) : cells;
}

/** The (cell, learner) rows these cells give (a learner's own sweep counts each of its values). */
export function rowCount(cells: readonly Cell[]): number {
  return cells.reduce((sum, c) => sum + c.learners.length, 0);
}

/** The opaque unique key of a row: its cell, learner id and variant. */
export function rowKey(cellKey: string, learnerId: string, variant?: string): string {
  return `${cellKey}|${learnerId}${variant === undefined ? '' : `:${variant}`}`;
}

/**
 * Each (cell, learner) of these cells — keyed as `learnerKey` keys a row — with its rank in plan order (cells by index, learners in spec order).
 */
export function planOrder(cells: readonly Cell[]): Map<string, number> {
  const order = new Map<string, number>();
  let rank = 0;
  for (const c of cells) for (const l of c.learners) order.set(rowKey(c.key, l.id), rank++);
  return order;
}

/** The id of each learner: its `id`, else `<kind>#<k>` with k counting learners of that kind. */
export function learnerIds(spec: Pick<Spec, 'learners'>): string[] {
  const seen = new Map<string, number>();
  return spec.learners.map((l) => {
    if (l.id) return l.id;
    const k = seen.get(l.kind) ?? 0;
    seen.set(l.kind, k + 1);
    return `${l.kind}#${k}`;
  });
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** A hash of everything in the spec that changes the numbers (not its name or description). */
export function specHash(spec: Spec): string {
  const { name: _name, description: _description, ...science } = spec;
  return createHash('sha256')
    .update(JSON.stringify(canonical(science)))
    .digest('hex')
    .slice(0, 16);
}

function parseSweepKey(key: string, ids: string[], kinds: string[]): SweepTarget | string {
  if (key === 'n' || key === 'seed') return { kind: key };
  let m = /^target\.(.+)$/.exec(key);
  if (m) return m[1] === 'kind' ? 'the target kind cannot be swept' : { kind: 'target', option: m[1]! };
  m = /^learners(?:\[([^\]]+)\])?\.(.+)$/.exec(key);
  if (m) {
    const option = m[2]!;
    if (option === 'kind' || option === 'id') return `learners' ${option} cannot be swept`;
    if (m[1] === undefined) return { kind: 'learners', ids, option };
    const ref = m[1];
    if (ids.includes(ref)) return { kind: 'learners', ids: [ref], option };
    const byKind = ids.filter((_, i) => kinds[i] === ref);
    if (byKind.length) return { kind: 'learners', ids: byKind, option };
    const near = closestMatch(ref, [...new Set([...ids, ...kinds])]);
    return `no learner '${ref}'${near ? ` (did you mean '${near}'?)` : ''}; learners: ${ids.join(', ')}`;
  }
  const near = closestMatch(key, ['n', 'seed', 'target.', 'learners.']);
  return (
    `unknown sweep key${near ? ` (did you mean '${near}'?)` : ''}; ` +
    'use n, seed, target.<option>, learners.<option> or learners[<id or kind>].<option>'
  );
}

const strip = (entry: Record<string, unknown>, ...keys: string[]) =>
  Object.fromEntries(Object.entries(entry).filter(([k]) => !keys.includes(k)));

/** Expand and check a spec against the registered kinds. Throws SpecError listing every problem. */
export function planExperiment(spec: Spec, registry: Registry, source?: string): Plan {
  const problems = new Set<string>();
  const ids = learnerIds(spec);
  const kinds = spec.learners.map((l) => l.kind);
  if (new Set(ids).size !== ids.length) problems.add(`learners: ids must be unique, got ${ids.join(', ')}`);

  const kindProblem = (path: string, point: 'target' | 'learner' | 'metric', kind: string) => {
    try {
      registry.get(point, kind);
      return false;
    } catch (error) {
      problems.add(`${path}.kind: ${(error as Error).message}`);
      return true;
    }
  };
  const targetUnknown = kindProblem('target', 'target', spec.target.kind);
  const learnerUnknown = spec.learners.map((l, i) => kindProblem(`learners[${i}]`, 'learner', l.kind));

  const metrics: KindPlan[] = [];
  spec.metrics.forEach((entry, i) => {
    const raw = typeof entry === 'string' ? { kind: entry } : entry;
    if (kindProblem(`metrics[${i}]`, 'metric', raw.kind)) return;
    const parsed = parseOptions(
      registry.get('metric', raw.kind).options,
      strip(raw, 'kind'),
      `metrics[${i}]`,
    );
    if (parsed.ok) metrics.push({ kind: raw.kind, options: parsed.value as Record<string, unknown> });
    else for (const p of parsed.problems) problems.add(p);
  });

  const sweepKeys = Object.keys(spec.sweep).flatMap((k) =>
    k === 'zip' ? [spec.sweep.zip ?? []].flat().flatMap((g) => Object.keys(g)) : [k],
  );
  const targets = new Map<string, SweepTarget>();
  for (const key of sweepKeys) {
    const parsed = parseSweepKey(key, ids, kinds);
    if (typeof parsed === 'string') problems.add(`sweep.${key}: ${parsed}`);
    else targets.set(key, parsed);
  }
  const targetBase = strip(spec.target, 'kind');
  const expansion = expandSweep(
    spec.sweep,
    { path: 'sweep', scope: targetBase as Record<string, Scalar>, integerKeys: ['n', 'seed'] },
    problems,
  );
  for (const values of problems.size ? [] : expansion.cells) {
    const n = values.n;
    const seed = values.seed;
    if (!(typeof n === 'number' && Number.isInteger(n) && n >= 1))
      problems.add(`sweep.n: sample sizes are positive integers, got ${JSON.stringify(n)}`);
    if (seed !== undefined && !(typeof seed === 'number' && Number.isSafeInteger(seed) && seed >= 0))
      problems.add(`sweep.seed: seeds are integers >= 0, got ${JSON.stringify(seed)}`);
  }

  const cells: Cell[] = [];
  // A problem found in some cells only is reported with the first such cell; one found in
  // every cell comes from the spec itself and is reported once, without a cell.
  const cellProblems = new Map<string, string[]>();
  const addCellProblem = (problem: string, cellKey: string) =>
    cellProblems.set(problem, [...(cellProblems.get(problem) ?? []), cellKey]);
  let cellCount = 0;
  const cellKeys = new Set<string>();
  if (!problems.size) {
    for (const values of expansion.cells) {
      const key = keyOf(values);
      cellCount++;
      const targetRaw = { ...targetBase };
      const learnerRaw = spec.learners.map((l) => strip(l, 'kind', 'id', 'sweep'));
      for (const [k, v] of Object.entries(values)) {
        const t = targets.get(k)!;
        if (t.kind === 'target') targetRaw[t.option] = v;
        if (t.kind === 'learners') for (const id of t.ids) learnerRaw[ids.indexOf(id)]![t.option] = v;
      }
      let target: KindPlan | undefined;
      if (!targetUnknown) {
        const parsed = parseOptions(registry.get('target', spec.target.kind).options, targetRaw, 'target');
        if (parsed.ok) target = { kind: spec.target.kind, options: parsed.value as Record<string, unknown> };
        else for (const p of parsed.problems) addCellProblem(p, key);
      }
      const learners: LearnerPlan[] = [];
      let learnersOk = true;
      spec.learners.forEach((l, i) => {
        if (learnerUnknown[i]) return;
        // a learner's own sweep: its options only, with the cell's values in scope
        let variants: { suffix: string; values: Record<string, Scalar> }[] = [{ suffix: '', values: {} }];
        if (l.sweep) {
          const scope: Record<string, Scalar> = { ...(targetRaw as Record<string, Scalar>) };
          for (const [k, v] of Object.entries(values)) scope[shortName(k)] = v;
          Object.assign(scope, learnerRaw[i]);
          const found = new Set<string>();
          const own = expandSweep(l.sweep, { path: `learners[${i}].sweep`, scope }, found);
          for (const p of found) addCellProblem(p, key);
          if (found.size) {
            learnersOk = false;
            return;
          }
          variants = own.cells.map((v) => ({ suffix: `(${keyOf(v)})`, values: v }));
        }
        for (const variant of variants) {
          const parsed = parseOptions(
            registry.get('learner', l.kind).options,
            { ...learnerRaw[i], ...variant.values },
            `learners[${i}]`,
          );
          if (parsed.ok)
            learners.push({
              id: `${ids[i]!}${variant.suffix}`,
              kind: l.kind,
              options: parsed.value as Record<string, unknown>,
            });
          else {
            learnersOk = false;
            for (const p of parsed.problems) addCellProblem(p, key);
          }
        }
      });
      const variantIds = learners.map((l) => l.id);
      const repeated = variantIds.find((id, i) => variantIds.indexOf(id) !== i);
      if (repeated) {
        addCellProblem(`learners: '${repeated}' twice in a cell: a learner's sweep repeats a value`, key);
        learnersOk = false;
      }
      if (cellKeys.has(key)) {
        problems.add(`sweep: the cell ${key} comes twice: a list or range repeats a value`);
        learnersOk = false;
      }
      if (target && learnersOk && !learnerUnknown.some(Boolean)) {
        const n = values.n as number;
        const seed = (values.seed as number | undefined) ?? spec.seed;
        cells.push({ index: cells.length, key, values, n, seed, target, learners });
        cellKeys.add(key);
      }
    }
  }
  for (const [problem, where] of cellProblems) {
    if (where.length === cellCount) problems.add(problem);
    else {
      const more = where.length > 1 ? ` and ${where.length - 1} more` : '';
      problems.add(`${problem} (in cell ${where[0]}${more})`);
    }
  }
  if (problems.size) {
    throw new SpecError([...problems], source ? { source } : {});
  }
  return { spec, specHash: specHash(spec), cells, metrics };
}

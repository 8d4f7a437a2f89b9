/**
 * From a validated spec to the list of cells to run: expands the sweep grid, applies swept
 * values to the target and learners, and checks every resolved option against the schema its
 * kind registered — all before any work, so a bad value in the last cell fails at once.
 */
import { createHash } from 'node:crypto';
import { closestMatch } from '../registry/closest.js';
import { SpecError } from '../contracts/errors.js';
import { fieldTakesList, optionNames, parseOptions } from '../contracts/options.js';
import type { ExtensionPoint } from '../contracts/contracts.js';
import { inlineIdentity } from '../contracts/define.js';
import type { Registry } from '../registry/registry.js';
import { parseSpec, type Spec } from './spec.js';
import { expandSweep, keyOf, optionKeyParts, type Scalar, shortName } from './sweep.js';

export interface KindPlan {
  readonly kind: string;
  /** Options after the kind's schema (defaults filled in), as recorded in results rows. */
  readonly options: Record<string, unknown>;
}

export interface LearnerPlan extends KindPlan {
  /** The spec's id, followed by `(k=v,...)` for a value of the learner's own sweep. */
  readonly id: string;
  /** The spec's `timeout` for this learner, in seconds; absent: the run's (RunOptions.timeout), if any. */
  readonly timeout?: number;
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
  /** What the spec does that it likely does not mean (refits it could avoid); run and validate print them. */
  readonly warnings: readonly string[];
  /**
   * The spec's kinds defined in code (`point:kind`), whose identities its hash covers; none for a
   * spec of registered kinds only.
   */
  readonly inlineKinds: readonly string[];
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

/** The keys a sweep sets (zip members included), sorted: which values it takes is left out. */
function sweptKeys(sweep: Spec['sweep'] | undefined): string[] | undefined {
  return sweep && sweepKeysOf(sweep).sort();
}

/**
 * What makes a row's numbers, given its cell: the spec without its name and description, and of
 * each sweep only the keys it sets. A row is fixed by this and its cell key (which holds every swept
 * value), so a spec that adds n values or seeds keeps its hash and its rows; anything else changed
 * (an option, a metric, the test set, a swept key added) gives a new hash.
 */
function hashedPart(spec: Spec): Record<string, unknown> {
  const { name: _name, description: _description, sweep, learners, ...rest } = spec;
  return {
    ...rest,
    sweep: sweptKeys(sweep),
    // nor a learner's time budget: adding a `timeout` to a run that hung resumes the same results
    learners: learners.map(({ sweep: own, timeout: _timeout, ...l }) =>
      own ? { ...l, sweep: sweptKeys(own) } : l,
    ),
  };
}

const sha16 = (value: unknown) =>
  createHash('sha256')
    .update(JSON.stringify(canonical(value)))
    .digest('hex')
    .slice(0, 16);

/** A hash of everything in the spec that changes the numbers of a row (not which cells the sweep has). */
export function specHash(spec: Spec): string {
  return sha16(hashedPart(spec));
}

/**
 * The hash before sweeps could grow (0.1.0: the sweep's values included). A results file written
 * then keeps it: a run that resumes such a file writes its rows under this hash.
 */
export function legacySpecHash(spec: Spec): string {
  const { name: _name, description: _description, ...science } = spec;
  return sha16({ ...science, learners: science.learners.map(({ timeout: _timeout, ...l }) => l) });
}

/**
 * What differs between two specs in what the hash covers, one line per path (`learners[0].width:
 * 512 → 1024`): why rows of `before` cannot be resumed under `after`.
 */
export function specChanges(before: Spec, after: Spec): string[] {
  const changes: string[] = [];
  const walk = (a: unknown, b: unknown, path: string) => {
    if (JSON.stringify(canonical(a)) === JSON.stringify(canonical(b))) return;
    const objects = a && b && typeof a === 'object' && typeof b === 'object';
    if (
      objects &&
      Array.isArray(a) === Array.isArray(b) &&
      !(Array.isArray(a) && a.length !== (b as unknown[]).length)
    ) {
      const keys = [...new Set([...Object.keys(a as object), ...Object.keys(b as object)])].sort();
      for (const k of keys)
        walk(
          (a as Record<string, unknown>)[k],
          (b as Record<string, unknown>)[k],
          Array.isArray(a) ? `${path}[${k}]` : path ? `${path}.${k}` : k,
        );
      return;
    }
    const show = (v: unknown) => (v === undefined ? '(absent)' : JSON.stringify(v));
    changes.push(`${path || '(spec)'}: ${show(a)} → ${show(b)}`);
  };
  walk(hashedPart(before), hashedPart(after), '');
  return changes;
}

function parseSweepKey(key: string, ids: string[], kinds: string[]): SweepTarget | string {
  if (key === 'n' || key === 'seed') return { kind: key };
  const parts = optionKeyParts(key);
  if (parts?.option && parts.head === 'target')
    return parts.option === 'kind'
      ? 'the target kind cannot be swept'
      : { kind: 'target', option: parts.option };
  if (parts?.option) {
    const { option, ref } = parts;
    if (option === 'kind' || option === 'id' || option === 'timeout')
      return `learners' ${option} cannot be swept`;
    if (ref === undefined) return { kind: 'learners', ids, option };
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
  const known = (path: string, point: KindPoint, kind: string) =>
    kindProblem(registry, path, point, kind, problems);
  const targetKnown = known('target', 'target', spec.target.kind);
  const learnersKnown = spec.learners.map((l, i) => known(`learners[${i}]`, 'learner', l.kind));
  const metrics = planMetrics(spec, registry, problems);
  if (targetKnown) missingTasks(spec, registry, learnersKnown, problems);
  // a backend the spec names must be registered (whether it is available here is the run's question)
  if (spec.backend !== undefined && registry.all('backend').length) {
    try {
      registry.get('backend', spec.backend);
    } catch (error) {
      problems.add(`backend: ${(error as Error).message}`);
    }
  }
  // problems so far (unknown kinds, metrics) do not stop the cells from being checked, so one run
  // of `validate` lists misspelt options beside an unknown kind; repeated ids or a broken sweep do
  const early = problems.size;
  if (new Set(ids).size !== ids.length) problems.add(`learners: ids must be unique, got ${ids.join(', ')}`);
  const targets = sweepTargets(spec, ids, registry, problems);
  const targetBase = strip(spec.target, 'kind');
  const ownSweep = spec.learners.map((l, i) =>
    l.sweep
      ? ownSweepProblems(registry, spec.sweep, targets, ids[i]!, l.kind, l.sweep, `learners[${i}].sweep`)
      : [],
  );
  const planner: CellPlanner = {
    spec,
    registry,
    ids,
    targets,
    targetBase,
    targetKnown,
    learnersKnown,
    ownSweep,
    ...sweptFields(spec, targets, ids),
  };
  const expansion = expandSweep(
    spec.sweep,
    { path: 'sweep', scope: targetBase as Record<string, Scalar>, integerKeys: ['n', 'seed'] },
    problems,
  );
  if (problems.size === early) checkSizesAndSeeds(expansion.cells, spec.sweep, problems);
  const cells: Cell[] = [];
  const cellProblems = new CellProblems();
  if (problems.size === early) {
    const cellKeys = new Set<string>();
    for (const values of expansion.cells) {
      const key = keyOf(values);
      const planned = planCell(planner, values, key, cellProblems);
      if (cellKeys.has(key))
        problems.add(`sweep: the cell ${key} comes twice: a list or range repeats a value`);
      else if (planned && learnersKnown.every(Boolean)) {
        const seed = (values.seed as number | undefined) ?? spec.seed;
        cells.push({ index: cells.length, key, values, n: values.n as number, seed, ...planned });
        cellKeys.add(key);
      }
    }
    cellProblems.report(expansion.cells.length, problems);
  } else if (!problems.has(`learners: ids must be unique, got ${ids.join(', ')}`)) {
    // the cells cannot be planned: the entries as written are still checked for misspelt options
    // (and those a sweep key names), so that one validate lists them beside the first problems
    const base = new CellProblems();
    // the first cell's values of the keys that parsed, where the grid could be expanded
    const first = Object.entries(expansion.cells[0] ?? {}).filter(([k]) => targets.has(k));
    planCell(planner, Object.fromEntries(first), '', base);
    base.report(1, problems, (problem) => /unknown field/.test(problem));
  }
  if (problems.size) throw new SpecError([...problems], source ? { source } : {});
  // kinds defined in code: their identities join the hash, so that editing one (its f, its d)
  // gives another hash rather than resuming rows it no longer computes; a spec without them keeps
  // `specHash`'s
  const inline = inlineKindsOf(spec, registry);
  const inlineKinds = Object.keys(inline);
  return {
    spec,
    specHash: inlineKinds.length ? sha16({ ...hashedPart(spec), inline }) : specHash(spec),
    cells,
    metrics,
    warnings: refitWarnings(cells, targets, ids),
    inlineKinds,
  };
}

/**
 * The kinds of the spec defined in code (`inline:` plugins), each with its identity: its source
 * text and declared fields (define.ts), which the spec's `{ kind }` entry does not hold.
 */
function inlineKindsOf(spec: Spec, registry: Registry): Record<string, string> {
  const used: [ExtensionPoint, string][] = [
    ['target', spec.target.kind],
    ...spec.learners.map((l) => ['learner', l.kind] as [ExtensionPoint, string]),
    ...spec.metrics.map((m) => ['metric', typeof m === 'string' ? m : m.kind] as [ExtensionPoint, string]),
  ];
  const found: Record<string, string> = {};
  for (const [point, kind] of used) {
    const identity = registry.has(point, kind) ? inlineIdentity(registry.get(point, kind)) : undefined;
    if (identity !== undefined) found[`${point}:${kind}`] = identity;
  }
  return found;
}

/**
 * For a spec whose schema fails in `sweep` alone (which stops it before planning): the misspelt
 * option names and kinds of its entries, found by planning it with a one-cell sweep. What a
 * command adds to the sweep's problems, so that one `validate` lists both; [] where the rest of
 * the spec does not parse either, or its entries are sound.
 */
export function entryProblemsBeside(data: unknown, registry: Registry): string[] {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return [];
  let spec: Spec;
  try {
    spec = parseSpec({ ...data, sweep: { n: [1] } });
  } catch {
    return [];
  }
  try {
    planExperiment(spec, registry);
    return [];
  } catch (error) {
    if (!(error instanceof SpecError)) return [];
    // the swept options are absent from this one cell: only what is wrong whatever the sweep says
    return error.problems.filter((p) => /: (unknown fields? |unknown (target|learner|metric) kind )/.test(p));
  }
}

/**
 * A top-level sweep key that sets some learners' option (`learners[rf].ridge`) is an axis of the
 * grid: every other learner runs in each of its cells, fitting the same data again (another
 * init). One warning per learner that does, with how many of its fits repeat another.
 */
function refitWarnings(cells: readonly Cell[], targets: Map<string, SweepTarget>, ids: string[]): string[] {
  const warnings: string[] = [];
  for (const id of ids) {
    const foreign = [...targets].filter(
      (entry): entry is [string, Extract<SweepTarget, { kind: 'learners' }>] =>
        entry[1].kind === 'learners' && !entry[1].ids.includes(id),
    );
    if (!foreign.length) continue;
    const keys = foreign.map(([k]) => k);
    const views = new Set(
      cells.map((c) => JSON.stringify(Object.entries(c.values).filter(([k]) => !keys.includes(k)))),
    );
    const repeated = cells.length - views.size;
    if (!repeated) continue;
    const owners = [...new Set(foreign.flatMap(([, t]) => t.ids))].join(', ');
    warnings.push(
      `sweep: ${keys.join(', ')} ${keys.length === 1 ? 'sets an option' : 'set options'} of ${owners} only, yet ` +
        `${id} runs in every cell: in ${repeated} of the ${cells.length} cells it refits data it fits in another. ` +
        `Sweeping it in ${owners}'s own sweep: (docs/spec.md, "A learner's own sweep") fits ${id} once per cell`,
    );
  }
  return warnings;
}

type KindPoint = 'target' | 'learner' | 'metric';

/**
 * A learner kind that reads a related task of the target (transfer: `source`) on a target kind
 * that declares it does not give it: refused here, not at every row of the run. A target kind that
 * declares no `tasks` (a plugin's) is taken.
 */
function missingTasks(spec: Spec, registry: Registry, learnersKnown: boolean[], problems: Set<string>): void {
  const given = registry.get('target', spec.target.kind).tasks;
  if (!given) return;
  spec.learners.forEach((entry, i) => {
    if (!learnersKnown[i]) return;
    const lacking = (registry.get('learner', entry.kind).needsTasks ?? []).filter(
      (task) => !given.includes(task),
    );
    if (!lacking.length) return;
    const giving = registry
      .all('target')
      .filter((f) => lacking.every((task) => f.tasks?.includes(task)))
      .map((f) => f.kind);
    const tasks = lacking.map((t) => `'${t}'`).join(' and ');
    problems.add(
      `learners[${i}].kind: learner kind '${entry.kind}' needs a target with a ${tasks} task${lacking.length > 1 ? 's' : ''}, and target kind ` +
        `'${spec.target.kind}' gives ${given.length ? given.map((t) => `'${t}'`).join(', ') + ' only' : 'none'}` +
        (giving.length ? `; target kinds that do: ${giving.join(', ')}` : ''),
    );
  });
}

/** Whether the kind is registered; if not, the registry's message (with did-you-mean) is a problem at `path.kind`. */
function kindProblem(
  registry: Registry,
  path: string,
  point: KindPoint,
  kind: string,
  problems: Set<string>,
): boolean {
  try {
    registry.get(point, kind);
    return true;
  } catch (error) {
    const message = (error as Error).message;
    const plugin = message.includes('did you mean')
      ? ''
      : `; if a plugin provides '${kind}', list it under \`plugins:\` in the spec or pass --plugin <package or path>`;
    problems.add(`${path}.kind: ${message}${plugin}`);
    return false;
  }
}

/**
 * A kind's options parsed by its schema (defaults filled in), with the fields its factory declares
 * as `entries` — another kind's `{ kind, ...options }`, such as transfer's base learner — resolved
 * through the registry and parsed by that kind's schema in turn, so plugin kinds work there too.
 */
export function parseKindOptions(
  registry: Registry,
  point: KindPoint,
  kind: string,
  raw: Record<string, unknown>,
  path: string,
): { ok: true; value: Record<string, unknown> } | { ok: false; problems: string[] } {
  const factory = registry.get(point, kind);
  const parsed = parseOptions(factory.options, raw, path);
  if (!parsed.ok)
    return { ok: false, problems: parsed.problems.map((p) => sweepHint(p, path, raw, factory.options)) };
  const value = { ...(parsed.value as Record<string, unknown>) };
  const problems: string[] = [];
  // a field of a nested object is named by its path (transfer's `source.degree`)
  const written = (field: string) =>
    field.split('.').reduce<unknown>((at, key) => (at as Record<string, unknown> | undefined)?.[key], raw);
  for (const [field, why] of Object.entries(factory.unused?.(parsed.value) ?? {}))
    if (written(field) !== undefined) problems.push(`${path}.${field}: has no effect ${why}; remove it`);
  for (const [field, nestedPoint] of Object.entries(factory.entries ?? {})) {
    const entry = value[field] as { kind?: unknown } | undefined;
    if (entry === undefined) continue;
    const where = `${path}.${field}`;
    if (typeof entry !== 'object' || entry === null || typeof entry.kind !== 'string') {
      problems.push(`${where}: expected an entry { kind: ..., <options> }, got ${JSON.stringify(entry)}`);
      continue;
    }
    const found = new Set<string>();
    if (!kindProblem(registry, where, nestedPoint, entry.kind, found)) {
      problems.push(...found);
      continue;
    }
    if (factory.entryNeeds?.[field] === 'representation') {
      const nestedFactory = registry.get(nestedPoint, entry.kind) as { representation?: boolean };
      if (nestedFactory.representation === false) {
        const able = registry
          .all('learner')
          .filter((f) => (f as { representation?: boolean }).representation)
          .map((f) => f.kind);
        problems.push(
          `${where}.kind: learner kind '${entry.kind}' exposes no representation to transfer (its predictors have no features); kinds that do: ${able.join(', ')}`,
        );
        continue;
      }
    }
    const nested = parseKindOptions(registry, nestedPoint, entry.kind, strip(entry, 'kind'), where);
    if (nested.ok) value[field] = { kind: entry.kind, ...nested.value };
    else problems.push(...nested.problems);
  }
  return problems.length ? { ok: false, problems } : { ok: true, value };
}

/**
 * A list written as the value of an option that takes one value (`width: [16, 32]`) is most likely
 * meant as a sweep: the problem says where a list sweeps.
 */
function sweepHint(problem: string, path: string, raw: Record<string, unknown>, schema: unknown): string {
  const field = problem.startsWith(`${path}.`) ? problem.slice(path.length + 1, problem.indexOf(': ')) : '';
  const value = raw[field];
  if (!/^\w+$/.test(field) || !Array.isArray(value) || !value.length) return problem;
  if (!value.every((v) => ['number', 'string', 'boolean'].includes(typeof v))) return problem;
  if (!problem.slice(problem.indexOf(': ')).startsWith(': expected') || fieldTakesList(schema, field))
    return problem;
  if (value.length === 1) return `${problem}; write the value alone: ${field}: ${JSON.stringify(value[0])}`;
  const list = JSON.stringify(value);
  if (path === 'target')
    return `${problem}; to sweep it, move the list to the spec's sweep: { target.${field}: ${list} }`;
  if (/^learners\[\d+\]$/.test(path))
    return `${problem}; to sweep it, put the list in the learner's own sweep: (sweep: { ${field}: ${list} })`;
  return problem;
}

function planMetrics(spec: Spec, registry: Registry, problems: Set<string>): KindPlan[] {
  const metrics: KindPlan[] = [];
  const listed = new Map<string, number>();
  spec.metrics.forEach((entry, i) => {
    // a kind listed twice writes the same value names twice, which a row holds once: every fit
    // would end as an error row
    const raw = typeof entry === 'string' ? { kind: entry } : entry;
    if (listed.has(raw.kind)) {
      problems.add(
        `metrics[${i}]: '${raw.kind}' is listed already (metrics[${listed.get(raw.kind)}]); a row holds one value of each name: list each metric once`,
      );
      return;
    }
    listed.set(raw.kind, i);
    if (!kindProblem(registry, `metrics[${i}]`, 'metric', raw.kind, problems)) return;
    const parsed = parseKindOptions(registry, 'metric', raw.kind, strip(raw, 'kind'), `metrics[${i}]`);
    if (parsed.ok) metrics.push({ kind: raw.kind, options: parsed.value });
    else for (const p of parsed.problems) problems.add(p);
  });
  return metrics;
}

/**
 * A sweep map's keys, those of its zip groups in place of `zip`, each with where it is written
 * (`sweep.n`, `sweep.zip[0].target.d`, `sweep.zip.seed` for a single group) and its value.
 */
function sweepEntries(
  sweep: Record<string, unknown>,
  path: string,
): { key: string; at: string; value: unknown }[] {
  return Object.entries(sweep).flatMap(([key, value]) => {
    if (key !== 'zip') return [{ key, at: sweepPath(path, key), value }];
    const groups = [value ?? []].flat() as Record<string, unknown>[];
    return groups.flatMap((group, i) => {
      const at = Array.isArray(value) ? `${path}.zip[${i}]` : `${path}.zip`;
      return Object.entries(group).map(([k, v]) => ({ key: k, at: sweepPath(at, k), value: v }));
    });
  });
}

/** A sweep's keys, those of its zip groups in place of `zip`. */
const sweepKeysOf = (sweep: Spec['sweep']): string[] => sweepEntries(sweep, 'sweep').map((e) => e.key);

/** `sweep.key`, or `sweep[""]` for a key that prints as nothing. */
const sweepPath = (path: string, key: string) => (key ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`);

/**
 * Why `option` is none of the options of this kind, or undefined when it is one (or the kind is
 * unknown, reported elsewhere, or its schema takes any key).
 */
function noSuchOption(
  registry: Registry,
  point: KindPoint,
  kind: string,
  option: string,
): string | undefined {
  let names: string[] | undefined;
  try {
    names = optionNames(registry.get(point, kind).options);
  } catch {
    return undefined;
  }
  if (!names || names.includes(option)) return undefined;
  const near = closestMatch(option, names);
  return `has no option '${option}'${near ? ` (did you mean '${near}'?)` : ''}; its options: ${names.join(', ') || '(none)'}`;
}

/** The key of the spec's sweep already setting `option` of learner `id`, if any. */
function setterOf(targets: ReadonlyMap<string, SweepTarget>, id: string, option: string): string | undefined {
  for (const [key, t] of targets)
    if (t.kind === 'learners' && t.option === option && t.ids.includes(id)) return key;
  return undefined;
}

/** What each sweep key (zip groups' keys included) sets: n, seed, a target option or learners' options. */
function sweepTargets(
  spec: Spec,
  ids: string[],
  registry: Registry,
  problems: Set<string>,
): Map<string, SweepTarget> {
  const kinds = spec.learners.map((l) => l.kind);
  const targets = new Map<string, SweepTarget>();
  for (const key of sweepKeysOf(spec.sweep)) {
    const where = sweepEntry(spec.sweep, key, 'sweep').at;
    const parsed = parseSweepKey(key, ids, kinds);
    if (typeof parsed === 'string') {
      problems.add(`${where}: ${parsed}`);
      continue;
    }
    // an option the kind does not have is named here, at the sweep key, not as a misspelt field of the entry
    if (parsed.kind === 'target') {
      const missing = noSuchOption(registry, 'target', spec.target.kind, parsed.option);
      if (missing) {
        problems.add(`${where}: target kind '${spec.target.kind}' ${missing}`);
        continue;
      }
    }
    if (parsed.kind === 'learners') {
      const lacking = parsed.ids.flatMap((id) => {
        const kind = kinds[ids.indexOf(id)]!;
        const missing = noSuchOption(registry, 'learner', kind, parsed.option);
        return missing ? [{ id, kind, missing }] : [];
      });
      if (lacking.length === 1) {
        const { id, kind, missing } = lacking[0]!;
        const others =
          parsed.ids.length > 1
            ? `; sweep learners[<id or kind>].${parsed.option} for the learners that have it`
            : '';
        problems.add(`${where}: learner ${id} (${kind}) ${missing}${others}`);
        continue;
      }
      if (lacking.length > 1) {
        const named = lacking.map(({ id, kind }) => `${id} (${kind})`).join(', ');
        problems.add(
          `${where}: learners ${named} have no option '${parsed.option}'; sweep learners[<id or kind>].${parsed.option} for those that have it`,
        );
        continue;
      }
      // two keys that set one learner's option (learners.width and learners[rf].width): which wins is
      // not for the order of the keys to decide (one key written twice, at the top and in a zip
      // group, is the expansion's "swept twice")
      const twice = targets.has(key)
        ? []
        : parsed.ids.flatMap((id) => {
            const other = setterOf(targets, id, parsed.option);
            return other === undefined ? [] : [{ id, other }];
          });
      if (twice.length) {
        problems.add(
          `${where}: sets ${parsed.option} of ${twice.map((t) => t.id).join(', ')}, which ${sweepEntry(spec.sweep, twice[0]!.other, 'sweep').at} sets too; sweep it under one key`,
        );
        continue;
      }
    }
    targets.set(key, parsed);
  }
  return targets;
}

/**
 * Keys a learner's own sweep cannot take: n and seed (the spec's sweep has them), kind, id and
 * timeout, and options its kind does not have.
 */
function ownSweepProblems(
  registry: Registry,
  specSweep: Spec['sweep'],
  targets: ReadonlyMap<string, SweepTarget>,
  id: string,
  kind: string,
  sweep: Spec['sweep'],
  path: string,
): string[] {
  return sweepKeysOf(sweep).flatMap((key) => {
    const where = sweepEntry(sweep, key, path).at;
    // an option swept both here and by a key of the spec's sweep: the own sweep would silently win
    const top = setterOf(targets, id, key);
    if (top !== undefined)
      return [
        `${where}: ${sweepEntry(specSweep, top, 'sweep').at} sets ${key} of ${id} too; sweep it in one place`,
      ];
    if (key === 'n' || key === 'seed')
      return [
        `${where}: ${key} is swept in the spec's sweep (${sweepEntry(specSweep, key, 'sweep').at}), not in a learner's own sweep`,
      ];
    if (key === 'kind' || key === 'id' || key === 'timeout')
      return [`${where}: a learner's ${key} cannot be swept`];
    const missing = noSuchOption(registry, 'learner', kind, key);
    return missing ? [`${where}: learner kind '${kind}' ${missing}`] : [];
  });
}

function checkSizesAndSeeds(
  cells: readonly Record<string, Scalar>[],
  sweep: Spec['sweep'],
  problems: Set<string>,
): void {
  // one line per key, with every bad value (a linspace of n gives several at once); a derived
  // value names its expression and the first cell that gives it, as a derived option does. Keyed by
  // the value: a list of 10⁵ bad sizes stays one lookup each
  const badN = new Map<string, string>();
  const badSeed = new Map<string, string>();
  const add = (bad: Map<string, string>, key: 'n' | 'seed', cell: Record<string, Scalar>) => {
    const text = JSON.stringify(cell[key]);
    if (bad.has(text)) return;
    const derived = (sweep as Record<string, unknown>)[key];
    const others = Object.entries(cell).filter(([k]) => k !== key);
    bad.set(
      text,
      typeof derived !== 'string'
        ? text
        : `${text} (from ${JSON.stringify(derived)} in cell ${others.map(([k, v]) => `${k}=${v}`).join(',') || '(the only one)'})`,
    );
  };
  for (const cell of cells) {
    const { n, seed } = cell;
    if (!(typeof n === 'number' && Number.isInteger(n) && n >= 1)) add(badN, 'n', cell);
    if (seed !== undefined && !(typeof seed === 'number' && Number.isSafeInteger(seed) && seed >= 0))
      add(badSeed, 'seed', cell);
  }
  const got = (values: Map<string, string>) =>
    [...values.values()].slice(0, 5).join(', ') + (values.size > 5 ? ', …' : '');
  const round = [...badN.keys()].some((v) => Number.isFinite(Number(v)) && Number(v) >= 1)
    ? ' (a range gives integers with round: true)'
    : '';
  if (badN.size) problems.add(`sweep.n: sample sizes are positive integers, got ${got(badN)}${round}`);
  if (badSeed.size) problems.add(`sweep.seed: seeds are integers >= 0, got ${got(badSeed)}`);
}

/**
 * Problems found cell by cell: one found in some cells only is reported with the first such cell;
 * one found in every cell comes from the spec itself and is reported once, without a cell.
 */
class CellProblems {
  /**
   * Each problem's cells; for one blamed on a sweep key, also the key, the values that give it and
   * the entries (learners[0], …) that refuse them.
   */
  private readonly found = new Map<
    string,
    { problem: string; cells: string[]; at?: SweptOrigin; values: string[]; entries: string[] }
  >();
  private entry(id: string, problem: string, at?: SweptOrigin) {
    let e = this.found.get(id);
    if (!e)
      this.found.set(
        id,
        (e = { problem, cells: [], values: [], entries: [], ...(at === undefined ? {} : { at }) }),
      );
    return e;
  }
  add(problem: string, cellKey: string): void {
    const e = this.entry(problem, problem);
    if (e.cells.at(-1) !== cellKey) e.cells.push(cellKey); // a learner's variants are one cell
  }
  /**
   * A parse's problems: one at an option a sweep key set in this cell (`swept`: the option's path →
   * where the value was written) is blamed on that key and its values, where the user wrote them,
   * instead of on a cell: `sweep.learners.width = 0: must be ≥ 1 (learners[0], learners[1])`. Any
   * other gets `context` (a learner's own-sweep variant) where given.
   */
  addParsed(
    parsed: readonly string[],
    cellKey: string,
    swept: SweptFields,
    values: Readonly<Record<string, Scalar>>,
    context?: (problem: string) => string | undefined,
  ): void {
    for (const problem of parsed) {
      const path = problem.slice(0, problem.indexOf(': '));
      const field = /^((?:target|learners\[\d+\])\.[^.[]+)/.exec(path)?.[1];
      const from = field === undefined ? undefined : swept.get(field);
      if (!from) {
        const where = context?.(problem);
        this.add(where ? `${problem} (${where})` : problem, cellKey);
        continue;
      }
      // at the option itself: its message, without the value it ends on (the line starts with it)
      const own = path === field;
      const message = own
        ? problem.slice(path.length + 2).replace(/, got (?:"(?:[^"\\]|\\.)*"|[^\s,]+)$/, '')
        : problem;
      const e = this.entry(`${from.at}\u0000${message}`, message, from);
      const written = values[from.key];
      let value = typeof written === 'string' ? JSON.stringify(written) : String(written);
      if (from.derived !== undefined) value += ` (from ${JSON.stringify(from.derived)} in cell ${cellKey})`;
      if (!e.values.includes(value)) e.values.push(value);
      const entryPath = field!.slice(0, field!.lastIndexOf('.'));
      if (own && !e.entries.includes(entryPath)) e.entries.push(entryPath);
      if (e.cells.at(-1) !== cellKey) e.cells.push(cellKey);
    }
  }
  report(cellCount: number, problems: Set<string>, keep: (problem: string) => boolean = () => true): void {
    for (const { problem, cells, at, values, entries } of this.found.values()) {
      let text = problem;
      if (at) {
        const shown = values.length > 4 ? [...values.slice(0, 3), `${values.length - 3} more`] : values;
        text = `${at.at} = ${shown.join(', ')}: ${problem}`;
        // a key that sets several learners' option: which of them refuse it
        if ((at.learners ?? 1) > 1 && entries.length) {
          text += ` (${entries.join(', ')})`;
          if (entries.length < at.learners!)
            text += `; to set it for some learners only, sweep learners[<id or kind>].${at.option}`;
        }
      }
      if (!keep(text)) continue;
      if (at !== undefined || cells.length === cellCount) problems.add(text);
      else {
        const more = cells.length > 1 ? ` and ${cells.length - 1} more` : '';
        problems.add(`${text} (in cell ${cells[0]}${more})`);
      }
    }
  }
}

/**
 * Where the values of a swept option are written, the same in every cell: the key's path
 * (`sweep.zip[0].target.d`, `learners[1].sweep.lr`), the key in a cell's values, the option, the
 * expression the values are derived from, and how many learners the key sets.
 */
interface SweptOrigin {
  readonly at: string;
  readonly key: string;
  readonly option: string;
  readonly derived?: string;
  readonly learners?: number;
}
/** An option's path in a parse's problems (`target.d`, `learners[0].width`) → where it is swept. */
type SweptFields = ReadonlyMap<string, SweptOrigin>;

/**
 * Where a key of a sweep map is written, and what is written there: the map's own key before a zip
 * group's, the first group that has it, or (a key it lacks) where it would be written.
 */
function sweepEntry(
  sweep: Record<string, unknown>,
  key: string,
  path: string,
): { at: string; value: unknown } {
  const written = sweepEntries(sweep, path).filter((e) => e.key === key);
  const top = sweepPath(path, key);
  return written.find((e) => e.at === top) ?? written[0] ?? { at: top, value: undefined };
}

function origin(
  sweep: Record<string, unknown>,
  key: string,
  path: string,
  option: string,
  learners?: number,
): SweptOrigin {
  const written = sweepEntry(sweep, key, path);
  return {
    at: written.at,
    key,
    option,
    ...(typeof written.value === 'string' ? { derived: written.value } : {}),
    ...(learners === undefined ? {} : { learners }),
  };
}

/** The options the spec's sweep and each learner's own sweep set, and where: once per spec. */
function sweptFields(
  spec: Spec,
  targets: ReadonlyMap<string, SweepTarget>,
  ids: readonly string[],
): { swept: SweptFields; learnerSwept: SweptFields[] } {
  const swept = new Map<string, SweptOrigin>();
  for (const [key, t] of targets) {
    if (t.kind === 'target') swept.set(`target.${t.option}`, origin(spec.sweep, key, 'sweep', t.option));
    if (t.kind === 'learners') {
      const from = origin(spec.sweep, key, 'sweep', t.option, t.ids.length);
      for (const id of t.ids) swept.set(`learners[${ids.indexOf(id)}].${t.option}`, from);
    }
  }
  const learnerSwept = spec.learners.map((l, i) => {
    const own = new Map(swept);
    for (const option of l.sweep ? sweepKeysOf(l.sweep) : [])
      own.set(`learners[${i}].${option}`, origin(l.sweep!, option, `learners[${i}].sweep`, option));
    return own;
  });
  return { swept, learnerSwept };
}

interface CellPlanner {
  readonly spec: Spec;
  readonly registry: Registry;
  readonly ids: readonly string[];
  readonly targets: ReadonlyMap<string, SweepTarget>;
  readonly targetBase: Record<string, unknown>;
  readonly targetKnown: boolean;
  readonly learnersKnown: readonly boolean[];
  /** Each learner's own-sweep key problems, found once for the spec (not per cell). */
  readonly ownSweep: readonly (readonly string[])[];
  /** Where the spec's sweep writes each option it sets (`target.d`, `learners[0].width`). */
  readonly swept: SweptFields;
  /** The same for each learner, with its own sweep's options added. */
  readonly learnerSwept: readonly SweptFields[];
}

/** One cell's target and learners with the swept values applied and parsed; undefined on a problem. */
function planCell(
  p: CellPlanner,
  values: Record<string, Scalar>,
  key: string,
  problems: CellProblems,
): { target: KindPlan; learners: LearnerPlan[] } | undefined {
  const targetRaw = { ...p.targetBase };
  const learnerRaw = p.spec.learners.map((l) => strip(l, 'kind', 'id', 'sweep', 'timeout'));
  for (const [k, v] of Object.entries(values)) {
    const t = p.targets.get(k)!;
    if (t.kind === 'target') targetRaw[t.option] = v;
    if (t.kind === 'learners') for (const id of t.ids) learnerRaw[p.ids.indexOf(id)]![t.option] = v;
  }
  let target: KindPlan | undefined;
  if (p.targetKnown) {
    const parsed = parseKindOptions(p.registry, 'target', p.spec.target.kind, targetRaw, 'target');
    if (parsed.ok) target = { kind: p.spec.target.kind, options: parsed.value };
    else problems.addParsed(parsed.problems, key, p.swept, values);
  }
  const learners: LearnerPlan[] = [];
  let learnersOk = true;
  p.spec.learners.forEach((l, i) => {
    if (!p.learnersKnown[i]) return;
    const planned = planLearner(
      p,
      i,
      { ...targetRaw, ...learnerScope(values) },
      learnerRaw[i]!,
      key,
      problems,
      values,
    );
    if (planned) learners.push(...planned);
    else learnersOk = false;
  });
  const variantIds = learners.map((l) => l.id);
  const repeated = variantIds.find((id, i) => variantIds.indexOf(id) !== i);
  if (repeated) {
    problems.add(`learners: '${repeated}' twice in a cell: a learner's sweep repeats a value`, key);
    learnersOk = false;
  }
  return target && learnersOk ? { target, learners } : undefined;
}

/** The cell's values by the short names a learner's own sweep may use (`target.d` → `d`). */
function learnerScope(values: Record<string, Scalar>): Record<string, Scalar> {
  const scope: Record<string, Scalar> = {};
  for (const [k, v] of Object.entries(values)) scope[shortName(k)] = v;
  return scope;
}

/**
 * Learner `i` of one cell: one plan, or one per value of its own sweep (its options only, with the
 * cell's values and its fixed options in scope), each id suffixed `(k=v,...)`. Undefined on a problem.
 */
function planLearner(
  p: CellPlanner,
  i: number,
  cellScope: Record<string, unknown>,
  raw: Record<string, unknown>,
  key: string,
  problems: CellProblems,
  values: Record<string, Scalar>,
): LearnerPlan[] | undefined {
  const l = p.spec.learners[i]!;
  let variants: { suffix: string; values: Record<string, Scalar> }[] = [{ suffix: '', values: {} }];
  if (l.sweep) {
    const keyProblems = p.ownSweep[i]!;
    for (const problem of keyProblems) problems.add(problem, key);
    if (keyProblems.length) return undefined;
    const scope = { ...cellScope, ...raw } as Record<string, Scalar>;
    const found = new Set<string>();
    const own = expandSweep(l.sweep, { path: `learners[${i}].sweep`, scope }, found);
    for (const problem of found) problems.add(problem, key);
    if (found.size) return undefined;
    variants = own.cells.map((v) => ({ suffix: `(${keyOf(v)})`, values: v }));
  }
  const planned: LearnerPlan[] = [];
  const failed: { variant: (typeof variants)[number]; problems: string[] }[] = [];
  for (const variant of variants) {
    const parsed = parseKindOptions(
      p.registry,
      'learner',
      l.kind,
      { ...raw, ...variant.values },
      `learners[${i}]`,
    );
    if (parsed.ok)
      planned.push({
        id: `${p.ids[i]!}${variant.suffix}`,
        kind: l.kind,
        options: parsed.value,
        ...(l.timeout === undefined ? {} : { timeout: l.timeout }),
      });
    else failed.push({ variant, problems: parsed.problems });
  }
  // a problem some variants of the learner's own sweep have and others not names the variant
  const everywhere = (problem: string) =>
    failed.length === variants.length && failed.every((f) => f.problems.includes(problem));
  for (const { variant, problems: found } of failed) {
    const context = (problem: string) =>
      variant.suffix && !everywhere(problem)
        ? `with learners[${i}].sweep ${keyOf(variant.values)}`
        : undefined;
    problems.addParsed(found, key, p.learnerSwept[i]!, { ...values, ...variant.values }, context);
  }
  const ok = !failed.length;
  return ok ? planned : undefined;
}

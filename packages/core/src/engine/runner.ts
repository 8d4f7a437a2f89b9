/**
 * runExperiment: spec → plan → for each cell and learner, fit, measure, append a row.
 * Used by the CLI and directly from TypeScript.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { activateBackend } from '../registry/backends.js';
import type { Dataset, FitContext, Logger, Predictor, Target } from '../contracts/contracts.js';
import { disposeDataset } from '../contracts/contracts.js';
import { registerInlineKinds } from '../contracts/define.js';
import { DivergenceError, RegimesError } from '../contracts/errors.js';
import {
  type Cell,
  type LearnerPlan,
  type Plan,
  planExperiment,
  planOrder,
  rowCount,
  rowKey,
  shardCells,
} from '../spec/plan.js';
import { runInWorkers } from './pool.js';
import { loadPlugins } from '../registry/plugins.js';
import type { Registry } from '../registry/registry.js';
import { latestRows, learnerKey, type ResultRow, ResultsWriter, readResults } from './results.js';
import { Rng } from '../rng/rng.js';
import { parseSpec, type Spec, type SpecInput } from '../spec/spec.js';
import { coreVersion } from '../version.js';

export interface RunOptions {
  /** The plugins to use (targets, learners, metrics, backends); the spec's `plugins:` are added to it. */
  readonly registry: Registry;
  /** Results file (JSONL). Absent: rows are only returned. */
  readonly out?: string;
  /** Overrides the spec's `backend:`; REGIMES_BACKEND is used when neither is set. */
  readonly backend?: string;
  /** Redo every row, emptying the results file first. Default: skip rows already present. */
  readonly force?: boolean;
  /** Folder that relative plugin paths in the spec are resolved from (the spec file's folder). */
  readonly baseDir?: string;
  /** Name of the spec's source, for messages. */
  readonly source?: string;
  readonly log?: Logger;
  readonly signal?: AbortSignal;
  /** Called after each learner's rows are written, and for each learner skipped on resume. */
  readonly onRow?: (row: ResultRow, done: number, total: number, skipped: boolean) => void;
  /** Called once the rows to run are known: `total` rows in this run, `resumed` of them already present. */
  readonly onStart?: (total: number, resumed: number) => void;
  /** Called as a long fit advances (`done` of `total` steps) — for progress bars. */
  readonly onFitProgress?: (key: string, done: number, total: number) => void;
  /** Run only the cells of shard `index` of `count` (1-based): those with cell index ≡ index − 1 mod count. */
  readonly shard?: { readonly index: number; readonly count: number };
  /**
   * Run cells in this many worker processes (default 1: in this process). Rows are the same as
   * with one; they are written as cells finish. Needs `workers`.
   */
  readonly jobs?: number;
  /** How a worker process rebuilds the registry: a module exporting `createRegistry()`, plus plugins. */
  readonly workers?: { readonly registryModule: string; readonly plugins?: readonly string[] };
}

export interface ExperimentResult {
  readonly plan: Plan;
  /** The cells this run covered: all of the plan's, or a shard's. */
  readonly cells: readonly Cell[];
  /** Every row of this spec: those run now and those already in the results file. */
  readonly rows: ResultRow[];
  readonly ran: number;
  readonly skipped: number;
  readonly failed: number;
  readonly backend: string;
  readonly out?: string;
}

export const stderrLogger: Logger = {
  debug: (m) => {
    if (process.env.REGIMES_DEBUG) process.stderr.write(`debug: ${m}\n`);
  },
  info: (m) => process.stderr.write(`${m}\n`),
  warn: (m) => process.stderr.write(`warning: ${m}\n`),
};

const resumable = (row: ResultRow) => row.status === 'ok' || row.status === 'diverged';

export async function runExperiment(input: SpecInput | Spec, options: RunOptions): Promise<ExperimentResult> {
  const log = options.log ?? stderrLogger;
  const { registry } = options;
  const spec = parseSpec(registerInlineKinds(input, registry), options.source);
  await loadPlugins(registry, spec.plugins, options.baseDir ?? process.cwd());
  const plan = planExperiment(spec, registry, options.source);
  const jobs = Math.max(1, Math.floor(options.jobs ?? 1));
  if (jobs > 1) {
    if (!options.workers)
      throw new RegimesError('jobs > 1 needs `workers`: the module that rebuilds the registry in a worker');
    const inline = registry.plugins.filter((p) => p.manifest.name.startsWith('inline:'));
    if (inline.length)
      throw new RegimesError(
        `kinds defined in code (${inline.map((p) => p.manifest.name.slice(7)).join(', ')}) cannot run in worker processes`,
        {
          hint: 'publish them as a plugin (a package or a local module listed in `plugins:`), or run with jobs: 1',
        },
      );
  }
  const shard = options.shard;
  if (
    shard &&
    !(Number.isInteger(shard.count) && shard.count >= 1 && shard.index >= 1 && shard.index <= shard.count)
  )
    throw new RegimesError(`shard ${shard.index}/${shard.count}: use i/N with 1 <= i <= N`);
  const cells = shardCells(plan.cells, shard);

  const previous = new Map<string, ResultRow>();
  let writer: ResultsWriter | undefined;
  if (options.out) {
    writer = new ResultsWriter(options.out);
    if (options.force) writer.truncate();
    const { rows, badLines } = readResults(options.out);
    if (badLines.length)
      log.warn(
        `${options.out}: ignoring ${badLines.length} unreadable line(s) (${badLines.join(', ')}); their rows will be rerun`,
      );
    const foreign = rows.find((r) => r.specHash !== plan.specHash);
    if (foreign) {
      throw new RegimesError(
        `${options.out} holds rows of a different spec (hash ${foreign.specHash}, this spec is ${plan.specHash})`,
        { hint: 'use --force to overwrite it, or --out to write somewhere else' },
      );
    }
    for (const row of latestRows(rows)) previous.set(row.key, row);
    // A row cut off by a kill leaves no newline; the next row must start on its own line.
    const text = existsSync(options.out) ? readFileSync(options.out, 'utf8') : '';
    if (text.length && !text.endsWith('\n')) writer.appendRaw('\n');
  }

  const { kind: backendKind } = await activateBackend(
    registry,
    options.backend ?? spec.backend ?? process.env.REGIMES_BACKEND,
  );
  const versions = versionsOf(registry);

  const total = rowCount(cells);
  const rows: ResultRow[] = [];
  let done = 0;
  let ran = 0;
  let skipped = 0;
  let failed = 0;
  // A learner's rows: one keyed `<cell>|<id>`, or one per variant keyed `<cell>|<id>:<label>`.
  // Grouped once by cell and learner id, so resuming a large sweep is not quadratic.
  const previousByLearner = new Map<string, ResultRow[]>();
  for (const row of previous.values()) {
    const group = learnerKey(row);
    previousByLearner.set(group, [...(previousByLearner.get(group) ?? []), row]);
  }
  const work: { cell: Cell; todo: LearnerPlan[] }[] = [];
  for (const cell of cells) {
    const todo: LearnerPlan[] = [];
    for (const l of cell.learners) {
      const old = previousByLearner.get(rowKey(cell.key, l.id)) ?? [];
      if (old.length && old.every(resumable)) {
        rows.push(...old);
        skipped += old.length;
        options.onRow?.(old[old.length - 1]!, ++done, total, true);
      } else todo.push(l);
    }
    if (todo.length) work.push({ cell, todo });
  }
  options.onStart?.(total, done);
  const onLearnerRows = (learnerRows: ResultRow[]) => {
    for (const row of learnerRows) {
      writer?.append(row);
      rows.push(row);
      ran++;
      if (row.status !== 'ok') failed++;
    }
    options.onRow?.(learnerRows[learnerRows.length - 1]!, ++done, total, false);
  };
  const context: CellContext = {
    registry,
    backend: backendKind,
    versions,
    log,
    signal: options.signal,
    onLearnerRows,
    onFitProgress: options.onFitProgress,
  };
  if (jobs > 1 && work.length > 1) {
    await runInWorkers(plan, work, context, {
      jobs: Math.min(jobs, work.length),
      spec,
      backend: backendKind,
      registryModule: options.workers!.registryModule,
      plugins: [...(options.workers!.plugins ?? [])],
      baseDir: options.baseDir ?? process.cwd(),
      ...(options.source ? { source: options.source } : {}),
    });
  } else {
    for (const { cell, todo } of work) {
      options.signal?.throwIfAborted();
      await runCell(plan, cell, todo, context);
    }
  }
  // plan order, whatever order the workers finished in
  const order = planOrder(cells);
  const rank = (r: ResultRow) => order.get(learnerKey(r)) ?? 0;
  rows.sort((a, b) => rank(a) - rank(b));
  return {
    plan,
    cells,
    rows,
    ran,
    skipped,
    failed,
    backend: backendKind,
    ...(options.out ? { out: options.out } : {}),
  };
}

/** The package versions recorded in every row. */
export function versionsOf(registry: Registry): Record<string, string> {
  const versions: Record<string, string> = {
    '@regimes/core': coreVersion,
    '@tensorflow/tfjs-core': tf.version_core,
  };
  for (const p of registry.plugins) versions[p.manifest.name] = p.manifest.version;
  return versions;
}

export interface CellContext {
  registry: Registry;
  backend: string;
  versions: Record<string, string>;
  log: Logger;
  signal: AbortSignal | undefined;
  /** Receives each learner's rows as soon as they exist (written and flushed by the caller). */
  onLearnerRows: (rows: ResultRow[]) => void;
  onFitProgress?: ((key: string, done: number, total: number) => void) | undefined;
}

/** The part of a row that does not depend on the fit. */
export function rowBase(
  plan: Plan,
  cell: Cell,
  l: LearnerPlan,
  backend: string,
  versions: Record<string, string>,
) {
  return {
    spec: plan.spec.name,
    specHash: plan.specHash,
    key: rowKey(cell.key, l.id),
    cellKey: cell.key,
    cell: { ...cell.values },
    learner: { id: l.id, kind: l.kind, ...l.options },
    target: { kind: cell.target.kind, ...cell.target.options },
    seed: cell.seed,
    backend,
    versions,
    startedAt: new Date().toISOString(),
  };
}

/** The row of a learner that could not run. */
export function failedRow(
  plan: Plan,
  cell: Cell,
  l: LearnerPlan,
  backend: string,
  versions: Record<string, string>,
  error: unknown,
): ResultRow {
  return {
    ...rowBase(plan, cell, l, backend, versions),
    metrics: {},
    timing: { fit_s: 0, eval_s: 0 },
    status: 'error',
    error: errorMessage(error),
    finishedAt: new Date().toISOString(),
  };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Fit and measure the given learners of one cell; each learner's rows go to `c.onLearnerRows`. */
export async function runCell(
  plan: Plan,
  cell: Cell,
  learners: readonly LearnerPlan[],
  c: CellContext,
): Promise<void> {
  const seedRng = Rng.fromSeed(cell.seed);
  const base = (l: LearnerPlan) => rowBase(plan, cell, l, c.backend, c.versions);
  const failed = (l: LearnerPlan, error: unknown) => failedRow(plan, cell, l, c.backend, c.versions, error);

  let target: Target;
  let train: Dataset | undefined;
  let test: Dataset | undefined;
  try {
    const factory = c.registry.get('target', cell.target.kind);
    // The target's random structure depends on the replicate seed only: the same U for every n.
    target = factory.create(cell.target.options, { rng: seedRng.child('target') });
    train = target.sample(cell.n, seedRng.child('data', 'train'));
    test = target.sample(plan.spec.test.n, seedRng.child('data', 'test'));
  } catch (error) {
    if (train) disposeDataset(train);
    c.log.warn(`cell ${cell.key}: the target failed: ${errorMessage(error)}`);
    for (const l of learners) c.onLearnerRows([failed(l, error)]);
    return;
  }

  try {
    for (const l of learners) {
      c.signal?.throwIfAborted();
      c.onLearnerRows(await runLearner(plan, cell, l, target, train, test, seedRng, c, base(l), failed));
    }
  } finally {
    disposeDataset(train);
    disposeDataset(test);
  }
}

async function runLearner(
  plan: Plan,
  cell: Cell,
  l: LearnerPlan,
  target: Target,
  train: Dataset,
  test: Dataset,
  seedRng: Rng,
  c: CellContext,
  base: Omit<ResultRow, 'metrics' | 'timing' | 'status' | 'finishedAt'>,
  failedRow: (l: LearnerPlan, error: unknown) => ResultRow,
): Promise<ResultRow[]> {
  const fitProgress = c.onFitProgress;
  const tensorsBefore = tf.memory().numTensors;
  let predictor: Predictor | undefined;
  const monitorTensors: tf.Tensor[] = [];
  const trace: ({ step: number } & Record<string, number>)[] = [];
  try {
    const learner = c.registry.get('learner', l.kind).create(l.options);
    // Learning curves are measured on (at most) the first 2048 test points against the noiseless f*.
    const probeRows = Math.min(2048, test.x.shape[0]);
    const probeX = tf.slice(test.x, [0, 0], [probeRows, -1]) as tf.Tensor2D;
    monitorTensors.push(probeX, target.evaluate(probeX));
    const { subspace, subspaceRank, levelFeatures } = target.structure;
    const levels = levelFeatures?.(probeX);
    if (levels) monitorTensors.push(...levels);
    const ctx: FitContext = {
      rng: seedRng.child('cell', cell.key).child('learner', l.id),
      signal: c.signal ?? new AbortController().signal,
      progress: fitProgress ? (done, total) => fitProgress(base.key, done, total) : () => {},
      log: c.log,
      monitor: {
        test: { x: probeX, f: monitorTensors[1]! as tf.Tensor2D },
        ...(subspace
          ? { subspace: { u: subspace, rank: subspaceRank ?? subspace.length / target.dim } }
          : {}),
        ...(levels ? { levels } : {}),
        record: (entry) => trace.push({ ...entry }),
      },
      ...(target.structure.tasks ? { tasks: target.structure.tasks } : {}),
    };
    const t0 = performance.now();
    predictor = await learner.fit(train, ctx);
    const fitSeconds = (performance.now() - t0) / 1000;
    const measure = async (p: Predictor, rowBase: typeof base): Promise<ResultRow> => {
      const t1 = performance.now();
      const metrics: Record<string, number> = {};
      const problems: string[] = [];
      for (const m of plan.metrics) {
        const value = await c.registry
          .get('metric', m.kind)
          .create(m.options)
          .compute(p, test, target, { rng: seedRng.child('cell', cell.key).child('metric', m.kind) });
        for (const [name, v] of typeof value === 'number'
          ? [[m.kind, value] as const]
          : Object.entries(value)) {
          metrics[name] = v;
          if (!Number.isFinite(v)) problems.push(`metric '${name}' is not finite (${v})`);
        }
      }
      const diagnostics = p.diagnostics ? { ...p.diagnostics } : undefined;
      return {
        ...rowBase,
        metrics,
        ...(diagnostics ? { diagnostics } : {}),
        ...(trace.length ? { trace } : {}),
        timing: { fit_s: fitSeconds, eval_s: (performance.now() - t1) / 1000 },
        status: problems.length ? 'error' : 'ok',
        ...(problems.length
          ? { error: `${problems.join('; ')}: the fit produced non-finite predictions` }
          : {}),
        finishedAt: new Date().toISOString(),
      };
    };
    if (!predictor.variants?.length) return [await measure(predictor, base)];
    const rows: ResultRow[] = [];
    for (const v of predictor.variants) {
      rows.push(
        await measure(v.predictor, {
          ...base,
          key: rowKey(base.cellKey, l.id, v.label),
          variant: v.label,
          learner: { ...base.learner, ...v.options },
        }),
      );
    }
    return rows;
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    c.log.warn(`${base.key}: ${errorMessage(error)}`);
    const row = failedRow(l, error);
    if (trace.length) row.trace = trace;
    if (error instanceof DivergenceError) {
      row.status = 'diverged';
      row.diagnostics = {
        ...(error.step !== undefined ? { step: error.step } : {}),
        ...(error.lastFiniteLoss !== undefined ? { lastFiniteLoss: error.lastFiniteLoss } : {}),
      };
    }
    return [row];
  } finally {
    predictor?.dispose();
    tf.dispose(monitorTensors);
    const leaked = tf.memory().numTensors - tensorsBefore;
    if (leaked > 0) c.log.warn(`${base.key}: learner '${l.kind}' leaked ${leaked} tensor(s)`);
  }
}

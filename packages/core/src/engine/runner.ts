/**
 * runExperiment: spec → plan → for each cell and learner, fit, measure, append a row.
 * Used by the CLI and directly from TypeScript.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { activateBackend } from '../registry/backends.js';
import type { Logger } from '../contracts/contracts.js';
import { type ExperimentInput, registerInlineKinds } from '../contracts/define.js';
import { RegimesError } from '../contracts/errors.js';
import {
  type Cell,
  type LearnerPlan,
  type Plan,
  legacySpecHash,
  planExperiment,
  planOrder,
  rowCount,
  rowKey,
  shardCells,
  specChanges,
} from '../spec/plan.js';
import { type CellContext, failedRow, runCell, versionsOf } from './cell.js';
import { memoryBudget } from './budget.js';
import { lockResults, type ResultsLock } from './lock.js';
import { LocalCellTimes, runInWorkers, shareBlasThreads } from './pool.js';
import {
  clearCrashes,
  clearInFlight,
  CRASH_HINT,
  type CrashRecord,
  markInFlight,
  readCrashes,
  readInFlight,
  recordCrash,
} from './supervise.js';
import { loadPlugins } from '../registry/plugins.js';
import type { Registry } from '../registry/registry.js';
import {
  badLinesText,
  completeRows,
  incompleteText,
  learnerKey,
  type ResultRow,
  ResultsWriter,
  readResults,
} from './results.js';
import { parseSpec, type Spec } from '../spec/spec.js';
import { MAX_DURATION_S } from '../spec/duration.js';

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
  /**
   * Called for each row once written, and for each row found present on resume (`skipped`). A fit
   * (a cell's learner) may give several rows (one per λ of a ridge list): `done` and `total` count
   * fits, so its rows come with the same `done`.
   */
  readonly onRow?: (row: ResultRow, done: number, total: number, skipped: boolean) => void;
  /** Called once the fits to run are known: `total` fits in this run, `resumed` of them already present. */
  readonly onStart?: (total: number, resumed: number) => void;
  /**
   * Called once the results file is locked, before anything is written to it or emptied (`force`),
   * with the hashes this spec's rows carry (the plan's and a legacy one): a check that throws stops
   * the run with the file as it was (the CLI refuses a folder of another spec's results).
   */
  readonly beforeWriting?: (specHashes: readonly string[]) => void;
  /** Called as a long fit advances (`done` of `total` steps) — for progress bars. */
  readonly onFitProgress?: (key: string, done: number, total: number) => void;
  /** Run only the cells of shard `index` of `count` (1-based): those with cell index ≡ index − 1 mod count. */
  readonly shard?: { readonly index: number; readonly count: number };
  /**
   * Run cells in this many worker processes (default 1: in this process). Rows are the same as
   * with one; they are written as cells finish. Needs `workers`.
   */
  readonly jobs?: number;
  /**
   * Bytes the run may use (default: the memory free at its start), shared by its worker processes: a
   * fit whose estimate and data exceed its share is refused as an error row before it starts.
   */
  readonly memory?: number;
  /** How a worker process rebuilds the registry: a module exporting `createRegistry()`, plus plugins. */
  readonly workers?: { readonly registryModule: string; readonly plugins?: readonly string[] };
  /**
   * Time budget of each fit, in seconds, for learners without their own `timeout:` (default: none).
   * A fit past its budget is aborted through its AbortSignal, and killed with its worker process if
   * it ignores that; it is an error row. With a budget, `jobs: 1` fits in one worker process too
   * (when `workers` is given and no kind is defined in code).
   */
  readonly timeout?: number;
  /**
   * Rerun the fits recorded as crashing the process that ran them (`<results>.crashed`), in a worker
   * process. Default: their error rows stand, so one fit that kills its process cannot stop a sweep.
   */
  readonly retryCrashed?: boolean;
}

export interface ExperimentResult {
  readonly plan: Plan;
  /** The cells this run covered: all of the plan's, or a shard's. */
  readonly cells: readonly Cell[];
  /** Every row of this spec: those run now and those already in the results file. */
  readonly rows: ResultRow[];
  /** Rows computed now, and found present (resumed). */
  readonly ran: number;
  readonly skipped: number;
  /** Rows of this run, computed or resumed, whose status is not ok (error or diverged). */
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

/** The runs of this process, one after another: the last one's end. */
let queue: Promise<unknown> = Promise.resolve();

/**
 * Run a spec's cells (the whole sweep, or a shard), writing each fit's rows to `out` as they come
 * and resuming the rows already there. Runs of one process go one at a time, in the order they
 * were started (two at once would switch each other's backend and see each other's tensors as
 * leaks): a run started while another is under way waits for it — so a fit must not start one.
 */
export function runExperiment(input: ExperimentInput | Spec, options: RunOptions): Promise<ExperimentResult> {
  const turn = queue.then(() => runAlone(input, options));
  queue = turn.catch(() => {});
  return turn;
}

async function runAlone(input: ExperimentInput | Spec, options: RunOptions): Promise<ExperimentResult> {
  const log = options.log ?? stderrLogger;
  const { registry } = options;
  const spec = parseSpec(registerInlineKinds(input, registry), options.source);
  await loadPlugins(registry, spec.plugins, options.baseDir ?? process.cwd());
  const plan = planExperiment(spec, registry, options.source);
  const jobs = checkJobs(options);
  checkTimeout(options.timeout);
  checkMemory(options.memory);
  const cells = shardCells(plan.cells, checkShard(options.shard));
  // with jobs > 1 this process runs cells beside its workers: its BLAS gets their share of the cores,
  // set before the backend loads OpenBLAS, which reads it once. Set after, this process kept every
  // core while its workers had their share, and LAPACK's threaded factorizations round differently
  // with the thread count: a cell's numbers depended on which process ran it (a helper's audit,
  // 2026-12-07: nngp with loo, risk 0.14063390 or 0.14063410 from run to run under --jobs 2). The
  // share is among the processes that can have a cell: no more than there are cells.
  const restoreThreads = shareBlasThreads(Math.min(jobs, cells.length));
  try {
    // the backend before the results file's folder, lock or file: a misspelt or absent one writes nothing
    const named = options.backend ?? spec.backend;
    const { kind: backendKind } = await activateBackend(
      registry,
      named ?? process.env.REGIMES_BACKEND,
      named === undefined && process.env.REGIMES_BACKEND ? 'REGIMES_BACKEND' : undefined,
    );
    const lock = options.out ? lockResults(options.out) : undefined;
    try {
      return await execute({ spec, plan, cells, jobs, log, backendKind, lock }, options);
    } finally {
      lock?.();
    }
  } finally {
    restoreThreads();
  }
}

/** The run proper, on the cells of this run (a shard's or all), with the results file locked. */
async function execute(
  {
    spec,
    plan: planned,
    cells,
    jobs,
    log,
    backendKind,
    lock,
  }: {
    spec: Spec;
    plan: Plan;
    cells: readonly Cell[];
    jobs: number;
    log: Logger;
    backendKind: string;
    lock: ResultsLock | undefined;
  },
  options: RunOptions,
): Promise<ExperimentResult> {
  const { registry } = options;
  const { writer, previous, specHash } = openResults(options, spec, planned, log, lock?.check);
  for (const warning of planned.warnings) log.warn(warning);
  // the hash the rows carry: the plan's, or a legacy file's own
  const plan = specHash === planned.specHash ? planned : { ...planned, specHash };
  const total = rowCount(cells);
  const progress = { rows: [] as ResultRow[], done: 0, ran: 0, skipped: 0, failed: 0 };
  const crashes = options.out ? readCrashes(options.out, specHash) : new Map<string, CrashRecord>();
  const kept = options.retryCrashed ? new Map<string, CrashRecord>() : crashes;
  const work = resumeWork(cells, previous, backendKind, log, kept, (old) => {
    progress.rows.push(...old);
    progress.skipped += old.length;
    // a crash's row, kept, and a diverged fit's, resumed (it diverges again): failed rows of the results
    progress.failed += old.filter((r) => r.status !== 'ok').length;
    const done = ++progress.done;
    for (const row of old) options.onRow?.(row, done, total, true);
  });
  if (progress.skipped && plan.inlineKinds.length)
    log.warn(
      `${progress.skipped} row(s) resumed from ${options.out}, of a spec with kinds defined in code (${plan.inlineKinds.join(', ')}): its hash covers their source text and declared fields (d, structure), not values their functions read from outside them (a closure's variables); after changing one of those, run with force: true or another out`,
    );
  const keptCrashes = [...kept.keys()].filter((fit) => previous.get(fit)?.status === 'error');
  if (keptCrashes.length)
    log.warn(
      `${keptCrashes.length} fit(s) crashed the process running them in an earlier run and are not rerun (${keptCrashes.slice(0, 3).join(', ')}${keptCrashes.length > 3 ? ', ...' : ''}); --retry-crashed reruns them`,
    );
  options.onStart?.(total, progress.done);
  const context: CellContext = {
    registry,
    backend: backendKind,
    versions: versionsOf(registry),
    memory: memoryBudget(options.memory) / jobs,
    log,
    signal: options.signal,
    ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
    onLearnerRows: (learnerRows) => {
      for (const computed of learnerRows) {
        // a file written before sweeps could grow keeps its hash (workers stamp the plan's)
        const row = computed.specHash === specHash ? computed : { ...computed, specHash };
        writer?.append(row);
        progress.rows.push(row);
        progress.ran++;
        if (row.status !== 'ok') progress.failed++;
      }
      const done = ++progress.done;
      for (const row of learnerRows) options.onRow?.(row, done, total, false);
    },
    onFitProgress: options.onFitProgress,
  };
  const workersUsable = Boolean(options.workers) && !inlineKinds(registry).length;
  const pool = (items: readonly WorkItem[], n: number, local?: CellContext) =>
    runInWorkers(plan, items, context, {
      ...(local ? { local } : {}),
      jobs: n,
      spec,
      backend: backendKind,
      registryModule: options.workers!.registryModule,
      plugins: [...(options.workers!.plugins ?? [])],
      baseDir: options.baseDir ?? process.cwd(),
      ...(options.source ? { source: options.source } : {}),
      ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
      onCrash: (cell, learners, reason) => {
        if (options.out)
          for (const l of learners)
            recordCrash(options.out, { specHash: plan.specHash, fit: rowKey(cell.key, l.id), reason });
      },
    });
  const budgeted = options.timeout !== undefined || cells.some((c) => c.learners.some((l) => l.timeout));
  // a process that exits in the middle of the run (a plugin's process.exit outside its fit) must not exit 0
  const onExit = (code: number) => {
    process.stderr.write(
      `error: the process exited (code ${code}) in the middle of the run: something (a plugin?) called process.exit; rerun to resume\n`,
    );
    if (!code) process.exitCode = 1;
  };
  process.on('exit', onExit);
  try {
    // fits in flight when an earlier run died, and crashed fits retried on request: alone, in a worker
    const suspects = takeSuspects(work, options, plan, crashes, log);
    // a retried crash that dies again is recorded anew
    if (options.out && suspects.retried.size) clearCrashes(options.out, suspects.retried);
    if (suspects.items.length) {
      if (workersUsable) await pool(suspects.items, 1);
      // without worker processes: rerun in this process, and a second death in a row is a crash
      else if (suspects.deaths >= 2) {
        const reason = `the process died with it in flight in ${suspects.deaths} runs in a row`;
        for (const { cell, todo } of suspects.items)
          for (const l of todo) {
            const error = new RegimesError(
              `learner ${l.id} crashed: ${reason}; resume does not rerun this fit`,
              {
                hint: CRASH_HINT,
              },
            );
            context.onLearnerRows([failedRow(plan, cell, l, backendKind, context.versions, error)]);
            if (options.out)
              recordCrash(options.out, { specHash: plan.specHash, fit: rowKey(cell.key, l.id), reason });
          }
      } else work.unshift(...suspects.items);
    }
    if (options.out) clearInFlight(options.out);
    if (jobs > 1 && work.length > 1) {
      // Built-in kinds without time budgets: this process runs cells too (as with -j 1, its fits
      // in flight are marked for a rerun to retry), so only jobs − 1 workers pay the start-up and
      // this process does not idle. Plugins' fits and budgeted fits stay isolated in workers.
      const plugins = spec.plugins.length + (options.workers?.plugins?.length ?? 0);
      const local =
        !budgeted && !plugins
          ? {
              ...context,
              ...(options.out
                ? {
                    busy: (cell: Cell, learners: readonly LearnerPlan[]) => {
                      if (holds(lock)) markInFlight(options.out!, plan.specHash, cell, learners);
                    },
                  }
                : {}),
            }
          : undefined;
      await pool(work, Math.min(jobs, work.length), local);
    } else if (budgeted && workersUsable && work.length) await pool(work, 1);
    else {
      if (budgeted && work.length)
        log.warn(
          'time budgets in this process: a fit past its budget is aborted and then abandoned, but one that never yields (a busy loop) cannot be stopped here; worker processes (`workers`, no kinds defined in code) can kill it',
        );
      const inSuspects = (cell: Cell, learners: readonly LearnerPlan[]) =>
        suspects.items.some((i) => i.cell === cell && learners.every((l) => i.todo.includes(l)));
      if (options.out) {
        const out = options.out;
        context.busy = (cell, learners) => {
          // the marker file is shared with whichever run holds the lock: written only while this
          // one does (one that does not stops at its next row, where the writer checks again)
          if (!holds(lock)) return;
          markInFlight(
            out,
            plan.specHash,
            cell,
            learners,
            inSuspects(cell, learners) ? suspects.deaths + 1 : 1,
          );
        };
      }
      const local = new LocalCellTimes();
      for (const { cell, todo } of work) {
        options.signal?.throwIfAborted();
        await local.time(() => runCell(plan, cell, todo, context));
      }
      if (work.length) log.debug(local.describe());
    }
  } catch (error) {
    // the rows written before the error reach the disk before it is reported
    await writer?.settle().catch(() => undefined);
    throw error;
  } finally {
    process.off('exit', onExit);
    // a run whose lock was taken over leaves the new holder's marker where it is
    if (options.out) clearInFlight(options.out, holds(lock));
  }
  await writer?.settle();
  // plan order, whatever order the workers finished in
  const order = planOrder(cells);
  const rank = (r: ResultRow) => order.get(learnerKey(r)) ?? 0;
  const { rows, ran, skipped, failed } = progress;
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

type WorkItem = { cell: Cell; todo: LearnerPlan[] };

/** The kinds defined in code (`defineTarget`, ... in the spec object): they cannot cross a process boundary. */
function inlineKinds(registry: Registry) {
  return registry.plugins.filter((p) => p.manifest.name.startsWith('inline:'));
}

function checkMemory(memory: number | undefined): void {
  if (memory !== undefined && !(Number.isFinite(memory) && memory > 0))
    throw new RegimesError(`memory ${memory}: give the bytes this run may use, a number above 0`);
}

function checkTimeout(timeout: number | undefined): void {
  if (timeout !== undefined && !(timeout > 0 && timeout <= MAX_DURATION_S))
    throw new RegimesError(`timeout ${timeout}: give a time budget in seconds, above 0 and at most 30 days`);
}

/**
 * The fits to run first, each alone in a worker process: those named in `<results>.inflight` (a run
 * died while they ran: they crashed it, or it was killed from outside — a rerun in a worker tells
 * which, without risking this process), and with `retryCrashed` the fits recorded as crashes.
 * They are taken out of `work`.
 */
function takeSuspects(
  work: WorkItem[],
  options: RunOptions,
  plan: Plan,
  crashes: ReadonlyMap<string, CrashRecord>,
  log: Logger,
): { items: WorkItem[]; deaths: number; retried: Set<string> } {
  const items: WorkItem[] = [];
  const retried = new Set<string>();
  if (!options.out) return { items, deaths: 0, retried };
  const marker = readInFlight(options.out);
  const take = (pick: (cell: Cell, l: LearnerPlan) => boolean) => {
    for (const item of work) {
      const taken = item.todo.filter((l) => pick(item.cell, l));
      if (!taken.length) continue;
      item.todo = item.todo.filter((l) => !taken.includes(l));
      items.push({ cell: item.cell, todo: taken });
    }
  };
  if (marker && marker.specHash === plan.specHash) {
    take((cell, l) => cell.key === marker.cellKey && marker.learners.includes(l.id));
    if (items.length)
      log.warn(
        `the last run on ${options.out} died while fitting ${items.flatMap((i) => i.todo.map((l) => rowKey(i.cell.key, l.id))).join(', ')} (killed, or crashed by the fit): rerunning it first, alone${options.workers ? ' in a worker process' : ''}; if it dies again it is recorded as a crash and skipped`,
      );
  }
  if (options.retryCrashed) {
    take((cell, l) => {
      const fit = rowKey(cell.key, l.id);
      if (crashes.has(fit)) retried.add(fit);
      return crashes.has(fit);
    });
  }
  for (let i = work.length - 1; i >= 0; i--) if (!work[i]!.todo.length) work.splice(i, 1);
  return { items, deaths: marker?.deaths ?? 0, retried };
}

/** The number of worker processes asked for; more than one needs a registry module and no inline kinds. */
function checkJobs(options: RunOptions): number {
  if (options.jobs !== undefined && !(Number.isInteger(options.jobs) && options.jobs >= 1))
    throw new RegimesError(`jobs ${options.jobs}: give a whole number of processes, 1 or more`);
  const jobs = options.jobs ?? 1;
  if (jobs > 1) {
    if (!options.workers)
      throw new RegimesError('jobs > 1 needs `workers`: the module that rebuilds the registry in a worker');
    const inline = inlineKinds(options.registry);
    if (inline.length)
      throw new RegimesError(
        `kinds defined in code (${inline.map((p) => p.manifest.name.slice(7)).join(', ')}) cannot run in worker processes`,
        {
          hint: 'publish them as a plugin (a package or a local module listed in `plugins:`), or run with jobs: 1',
        },
      );
  }
  return jobs;
}

function checkShard(shard: RunOptions['shard']): RunOptions['shard'] {
  if (
    shard &&
    !(
      Number.isInteger(shard.count) &&
      Number.isInteger(shard.index) &&
      shard.count >= 1 &&
      shard.index >= 1 &&
      shard.index <= shard.count
    )
  )
    throw new RegimesError(`shard ${shard.index}/${shard.count}: use i/N with whole numbers 1 <= i <= N`);
  return shard;
}

/** Whether the run still holds its lock (true without one). */
function holds(lock: ResultsLock | undefined): boolean {
  try {
    lock?.check();
    return true;
  } catch {
    return false;
  }
}

/**
 * The results file's writer, the rows already in it that stand (`latestRows`) by key, and the spec
 * hash its rows carry. A spec that only adds sweep values (n, seeds) has the same hash, so its rows
 * resume and only the new cells run; a file of another spec is refused with the list of what changed
 * (from the spec.json beside it), unless `force`, which empties it. A file written before sweeps
 * could grow (`legacySpecHash`) resumes under its old hash.
 */
function openResults(
  options: RunOptions,
  spec: Spec,
  plan: Plan,
  log: Logger,
  guard?: () => void,
): { writer: ResultsWriter | undefined; previous: Map<string, ResultRow>; specHash: string } {
  const previous = new Map<string, ResultRow>();
  if (!options.out) return { writer: undefined, previous, specHash: plan.specHash };
  options.beforeWriting?.([plan.specHash, legacySpecHash(spec)]);
  // each row is written only while the run's lock is its own (lock.ts: a holder paused past its
  // heartbeat is taken over elsewhere)
  const writer = new ResultsWriter(options.out, guard);
  if (options.force) {
    writer.truncate();
    clearCrashes(options.out);
    clearInFlight(options.out);
  }
  const { rows, rowLines, problems } = readResults(options.out);
  // the damaged lines stay (nothing written is rewritten); their fits are rerun
  if (problems.length) log.warn(`${badLinesText(options.out, problems)}; their fits will be rerun`);
  const hashes = new Set(rows.map((r) => r.specHash));
  // (a spec with kinds defined in code has none: that hash never covered their definitions)
  const legacy = plan.inlineKinds.length ? undefined : legacySpecHash(spec);
  const specHash = legacy && hashes.size === 1 && hashes.has(legacy) ? legacy : plan.specHash;
  const foreign = rows.find((r) => r.specHash !== specHash);
  if (foreign && rows.some((r) => r.specHash === specHash)) {
    // mostly this spec's rows, with some of another pasted or appended in: those lines
    const lines = rowLines.filter((_, i) => rows[i]!.specHash !== specHash);
    const shown = `${lines.slice(0, 10).join(', ')}${lines.length > 10 ? `, … (${lines.length} in all)` : ''}`;
    throw new RegimesError(
      `${options.out} holds ${rows.length - lines.length} row(s) of this spec (hash ${specHash}) and ${lines.length} of another (hash ${foreign.specHash}) on line(s) ${shown}`,
      {
        hint: `remove those lines (a results file holds one spec's rows; keep them in a file of their own), or start over with --force, or write elsewhere with --out (RunOptions.force, .out in code)`,
      },
    );
  }
  if (foreign) throw foreignRows(options.out, foreign.specHash, spec, plan.specHash, plan.inlineKinds);
  const { rows: complete, incomplete } = completeRows(rows);
  checkKeyOrder(options.out, complete, plan);
  if (incomplete.length) log.warn(`${options.out}: ${incompleteText(incomplete)}; they will be rerun`);
  for (const row of complete) previous.set(row.key, row);
  // A row cut off by a kill leaves no newline; the next row must start on its own line.
  const text = existsSync(options.out) ? readFileSync(options.out, 'utf8') : '';
  if (text.length && !text.endsWith('\n')) writer.appendRaw('\n');
  return { writer, previous, specHash };
}

/** A `k=v,k=v` key with its parts in one order: the same cell (or variant) however the spec orders them. */
const partsSorted = (key: string) => key.split(',').sort().join(',');
/** A learner id with its own sweep's `(k=v,…)` suffix in one order. */
const idSorted = (id: string) => id.replace(/\((.*)\)$/, (_, inner: string) => `(${partsSorted(inner)})`);
const keysOf = (key: string) => key.split(',').map((part) => part.slice(0, part.indexOf('=')));

/**
 * Refuses rows of this spec's cells written under another order of the sweep's axes (or of a
 * learner's own sweep). The hash leaves the order out, but a cell's random draws (its data, the
 * learners' initialisation, the test points) are seeded by its key, which lists the axes in the
 * spec's order: resumed, such a file ran every cell again under new draws beside its old rows (a
 * helper's audit, 2026-12-07: 48 rows became 96, and the report counted 4 runs of 2 seeds).
 */
function checkKeyOrder(out: string, rows: readonly ResultRow[], plan: Plan): void {
  const cells = new Map(plan.cells.map((c) => [partsSorted(c.key), c]));
  const hint = (what: string, order: string) =>
    `write ${what} in the order of those rows (${order}), or write elsewhere with --out, or start over with --force (RunOptions.out / .force in code)`;
  const drawn =
    "a cell's random draws (data, initialisation, test points) are seeded by its key, so they would be drawn anew and the rows doubled";
  for (const row of rows) {
    const cell = cells.get(partsSorted(row.cellKey));
    if (!cell) continue;
    if (cell.key !== row.cellKey)
      throw new RegimesError(
        `${out} holds rows of the cell ${row.cellKey}, which this spec writes ${cell.key}: its sweep lists the same axes in another order, and ${drawn}`,
        { hint: hint("the sweep's axes", keysOf(row.cellKey).join(', ')) },
      );
    const id = row.learner.id;
    const planned = cell.learners.find((l) => l.id !== id && idSorted(l.id) === idSorted(id));
    if (planned)
      throw new RegimesError(
        `${out} holds rows of ${id} in the cell ${row.cellKey}, which this spec writes ${planned.id}: that learner's sweep lists the same options in another order, and ${drawn}`,
        { hint: hint("that learner's sweep", keysOf(id.slice(id.indexOf('(') + 1, -1)).join(', ')) },
      );
  }
}

/** The refusal of a file of another spec: what changed, when the spec.json beside it says. */
function foreignRows(
  out: string,
  theirs: string,
  spec: Spec,
  ours: string,
  inline: readonly string[],
): RegimesError {
  let changes: string[] = [];
  const copy = join(dirname(out), 'spec.json');
  try {
    // plugin paths in the copy are made absolute: not a change of the science
    const before = parseSpec(JSON.parse(readFileSync(copy, 'utf8')));
    changes = specChanges({ ...before, plugins: spec.plugins }, spec);
  } catch {
    // no copy, or one that no longer parses: the hashes alone
  }
  const what = changes.length
    ? `; what changed (${copy}):\n  ${changes.slice(0, 20).join('\n  ')}${changes.length > 20 ? `\n  … ${changes.length - 20} more` : ''}`
    : inline.length
      ? `; the hash also covers the kinds defined in code (${inline.join(', ')}): their source text and declared fields (d, structure)`
      : '';
  return new RegimesError(
    `${out} holds rows of a different spec (hash ${theirs}, this spec is ${ours})${what}`,
    {
      hint: 'adding sweep values (n, seeds) resumes; any other change needs --force (recompute all) or --out (a new folder); in code RunOptions.force / .out',
    },
  );
}

/**
 * The learners of each cell still to run: a learner whose rows (one, or one per variant) are all
 * present and resumable is handed to `resumed` instead. Grouped once by cell and learner id, so
 * resuming a large sweep is not quadratic.
 */
function resumeWork(
  cells: readonly Cell[],
  previous: ReadonlyMap<string, ResultRow>,
  backend: string,
  log: Logger,
  crashes: ReadonlyMap<string, CrashRecord>,
  resumed: (rows: ResultRow[]) => void,
): WorkItem[] {
  const previousByLearner = new Map<string, ResultRow[]>();
  for (const row of previous.values()) {
    const group = learnerKey(row);
    previousByLearner.set(group, [...(previousByLearner.get(group) ?? []), row]);
  }
  const work: WorkItem[] = [];
  const otherBackends = new Map<string, number>();
  for (const cell of cells) {
    const todo: LearnerPlan[] = [];
    for (const l of cell.learners) {
      const fit = rowKey(cell.key, l.id);
      const old = previousByLearner.get(fit) ?? [];
      // the backend is part of a row's identity: float32 round-off differs between backends
      const elsewhere = old.find((r) => r.backend !== backend);
      if (elsewhere) otherBackends.set(elsewhere.backend, (otherBackends.get(elsewhere.backend) ?? 0) + 1);
      // a fit recorded as crashing its process keeps its error row (unless retryCrashed)
      if (old.length && (crashes.has(fit) || (!elsewhere && old.every(resumable)))) resumed(old);
      else todo.push(l);
    }
    if (todo.length) work.push({ cell, todo });
  }
  for (const [other, count] of otherBackends)
    log.warn(
      `${count} fit(s) in the results were computed on backend ${other}: rerun on ${backend} (run with -b ${other} to resume them instead)`,
    );
  return work;
}

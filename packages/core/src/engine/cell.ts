/**
 * One cell of a plan: build its target and data from the cell's seed, then fit and measure each
 * learner, giving one row per learner (or per variant of a fit). Runs in the parent with
 * `jobs: 1` and in each worker process otherwise.
 */
import { hostValues } from '@regimes/numerics';
import tf from '@regimes/numerics/tfjs';
import type {
  Dataset,
  FitContext,
  Logger,
  MetricValue,
  Predictor,
  Target,
  TestChunks,
} from '../contracts/contracts.js';
import { datasetChunks, sampledChunks, TEST_CHUNK } from '../contracts/chunks.js';
import { disposeDataset } from '../contracts/contracts.js';
import { DivergenceError, NumericalError, PluginError, RegimesError } from '../contracts/errors.js';
import { checkDataBudget, checkFitBudget, fitSize } from './budget.js';
import {
  budgetOf,
  armDeadline,
  FitTimeoutError,
  graceSeconds,
  LONG_FIT_NOTICE_S,
  longFitNotice,
  longTimer,
  scopedFit,
  watchUnsettled,
} from './supervise.js';
import type { Registry } from '../registry/registry.js';
import { Rng } from '../rng/rng.js';
import { type Cell, type LearnerPlan, type Plan, rowKey } from '../spec/plan.js';
import { coreVersion } from '../version.js';
import type { ResultRow } from './results.js';

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
  /** Bytes one fit may use (the run's budget shared by its worker processes). */
  memory: number;
  log: Logger;
  signal: AbortSignal | undefined;
  /** Receives each learner's rows as soon as they exist (written and flushed by the caller). */
  onLearnerRows: (rows: ResultRow[]) => void;
  onFitProgress?: ((key: string, done: number, total: number) => void) | undefined;
  /** The run's time budget of a fit, in seconds, for learners without their own `timeout`. */
  timeout?: number | undefined;
  /**
   * Whether a fit that ignores its abort signal past its budget is stopped from outside (a worker
   * process, killed by the pool). Otherwise the fit's promise is abandoned after the grace period.
   */
  killable?: boolean;
  /**
   * Names the learners whose rows a death of this process would now cost: all of the cell's while
   * its data are drawn, then each learner from its fit to its rows (with its fit's budget while it
   * fits). For the in-flight marker (in-process) and the pool's watchdog (in a worker).
   */
  busy?: (cell: Cell, learners: readonly LearnerPlan[], phase: 'data' | 'fit', budget?: number) => void;
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
    fitRows: 1,
    metrics: {},
    timing: { fit_s: 0, eval_s: 0 },
    status: 'error',
    error: errorMessage(error),
    finishedAt: new Date().toISOString(),
  };
}

function errorMessage(error: unknown): string {
  if (error instanceof RegimesError && error.hint) return `${error.message} (${error.hint})`;
  const message = error instanceof Error ? error.message : String(error);
  // the wasm and native backends' tensors live in one WebAssembly heap of at most 4 GiB: a fit that
  // needs more stops with the engine's own words for it
  return /memory access out of bounds|Maximum memory size exceeded|Cannot enlarge memory|Aborted\(OOM\)/.test(
    message,
  )
    ? `${message}: the fit outgrew the WebAssembly heap (4 GiB at most) where the wasm and native backends keep every tensor (fit fewer points, a narrower width or a minibatch (batchSize:); \`regimes run --dry-run\` gives each fit's memory and warns above the heap)`
    : message;
}

/**
 * The first entry of `t` (row-major) that is not finite, or −1. Whether every entry is finite is
 * decided on the backend (IsFinite, then All), so only that one boolean is read back; the entries are
 * read only to locate a bad one. Reading every input back had cost a host copy of the training set
 * per cell (n×d floats, kept until the collector ran), and on a GPU its whole transfer. Not Σ 0·t
 * (NaN where an entry is not finite): WGSL lets a shader assume no ∞ or NaN in its arithmetic, where
 * tfjs-webgpu's IsFinite tests NaN by its bits.
 */
export async function firstNonFinite(t: tf.Tensor): Promise<{ at: number; value?: number }> {
  const probe = await hostValues(tf.tidy(() => tf.all(tf.isFinite(t))));
  if (probe[0]) return { at: -1 };
  const values = await t.data();
  const at = values.findIndex((v) => !Number.isFinite(v));
  return { at, value: values[at] };
}

/**
 * A target whose samples are not finite is the target's fault, said with its options before a
 * learner is blamed: an input (a plugin's sampler; on wasm and native a NaN input could even pass
 * a kernel's cosine clip as −1 and give finite predictions), or f* (`z1/0`, `exp(1000*z1)`).
 */
async function checkData(cell: Cell, data: Dataset, which: string): Promise<void> {
  const options = JSON.stringify(cell.target.options);
  const named = `target ${cell.target.kind} ${options.length > 160 ? `${options.slice(0, 160)}…` : options}`;
  const input = await firstNonFinite(data.x);
  if (input.at >= 0) {
    const [bad, d] = [input.at, data.x.shape[1]];
    throw new NumericalError(
      `${named} gives a non-finite input (${input.value}) at ${which} sample ${Math.floor(bad / d)}, coordinate ${bad % d}`,
      { hint: "fix the target's sampling (a plugin's sample()): every input must be a finite number" },
    );
  }
  const { at, value } = await firstNonFinite(data.y);
  if (at < 0) return;
  throw new NumericalError(
    `${named} gives a non-finite label (${value}) at ${which} sample ${Math.floor(at / data.y.shape[1])}: f* (or its noise) overflows or divides by zero there`,
    {
      hint: 'change the target: keep its expression finite for every Gaussian input (e.g. no division by a variable, no exp of a large multiple)',
    },
  );
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
  const failed = (l: LearnerPlan) => (error: unknown) =>
    failedRow(plan, cell, l, c.backend, c.versions, error);

  let target: Target;
  let train: Dataset | undefined;
  let test: CellTestSet | undefined;
  try {
    c.busy?.(cell, learners, 'data');
    checkDataBudget(fitSize(c.registry, plan, cell), c.memory);
    const factory = c.registry.get('target', cell.target.kind);
    // The target's random structure depends on the replicate seed only: the same U for every n.
    target = factory.create(cell.target.options, { rng: seedRng.child('target') });
    train = target.sample(cell.n, seedRng.child('data', 'train'));
    // inputs or f* not finite are the target's fault (a test set drawn by chunks is not read here)
    await checkData(cell, train, 'training');
    test = cellTestSet(target, plan.spec.test.n, seedRng.child('data', 'test'));
    if (test.held) await checkData(cell, test.data, 'test');
  } catch (error) {
    if (train) disposeDataset(train);
    test?.dispose();
    c.log.warn(`cell ${cell.key}: the target failed: ${errorMessage(error)}`);
    for (const l of learners) c.onLearnerRows([failed(l)(error)]);
    return;
  }

  try {
    for (const [i, l] of learners.entries()) {
      // the event loop between two fits: with -j n the command's own cells are a slot of the pool,
      // and it answers its workers' `done` (with their next cells) only when its loop turns (Node
      // only: a page, the dashboard's engine, has no setImmediate and no workers to answer)
      if (i > 0 && typeof setImmediate === 'function') await new Promise((resolve) => setImmediate(resolve));
      c.signal?.throwIfAborted();
      c.onLearnerRows(
        await runLearner({ plan, cell, target, train, test, seedRng, c }, l, base(l), failed(l)),
      );
    }
  } finally {
    disposeDataset(train);
    test.dispose();
  }
}

/**
 * A test set of one chunk and at most this many floats (rows × (inputs + outputs): 8 MiB) is drawn
 * once and held for the cell. Each learner reads it at least twice (the training monitor's probe,
 * the metrics' chunks); drawn again each time, the 1024 × 16 test set of a small cell was 86% of
 * the cell's normal draws (4 draws a cell of two learners).
 */
const HELD_TEST_FLOATS = 2 ** 21;

/**
 * The cell's test set. When the target has `sampleRows` and the set is larger than one chunk or
 * HELD_TEST_FLOATS, it is drawn chunk by chunk from its stream whenever it is read (same rows as
 * one draw), so metrics that read `chunks` never hold it whole; `data` draws it whole on first
 * access only (for metrics that read `test.x`). Else it is drawn once.
 */
interface CellTestSet {
  readonly n: number;
  readonly data: Dataset;
  readonly chunks: TestChunks;
  /** The first `rows` inputs (the training monitor's probe); the caller frees them. */
  head(rows: number): tf.Tensor2D;
  /** Whether the test set is small and held at once (else drawn by chunks, or too large to read whole). */
  readonly held: boolean;
  /** How many tensors the test set holds now (a lazily drawn whole set: 0 until a metric reads it). */
  tensors(): number;
  dispose(): void;
}

function cellTestSet(target: Target, n: number, rng: Rng): CellTestSet {
  const sampleRows = target.sampleRows?.bind(target);
  const held = n <= TEST_CHUNK && n * (target.dim + target.outputDim) <= HELD_TEST_FLOATS;
  if (!sampleRows || held) {
    const data = target.sample(n, rng);
    return {
      n,
      data,
      held, // a large test set of a target without sampleRows is held too, but not read whole here
      tensors: () => 2,
      chunks: datasetChunks(data),
      head: (rows) => tf.slice(data.x, [0, 0], [rows, -1]),
      dispose: () => disposeDataset(data),
    };
  }
  let whole: Dataset | undefined;
  // kept: a metric may first read test.x inside its own tf.tidy, which would free the set at its end
  // (the next metric then read disposed tensors)
  const draw = () => {
    if (!whole) {
      const { x, y } = target.sample(n, rng);
      whole = { x: tf.keep(x), y: tf.keep(y) };
    }
    return whole;
  };
  const head = (rows: number) => {
    const { x, y } = sampleRows(0, rows, rng);
    y.dispose();
    return x;
  };
  head(Math.min(n, 1)).dispose(); // a target that cannot sample fails here, with the cell
  return {
    n,
    held: false,
    tensors: () => (whole ? 2 : 0),
    data: {
      get x() {
        return draw().x;
      },
      get y() {
        return draw().y;
      },
    },
    chunks: sampledChunks((start, count) => sampleRows(start, count, rng), n),
    head,
    dispose: () => whole && disposeDataset(whole),
  };
}

/** What the learners of one cell share: the plan, the cell's target and data, its seed's stream. */
interface CellState {
  readonly plan: Plan;
  readonly cell: Cell;
  readonly target: Target;
  readonly train: Dataset;
  readonly test: CellTestSet;
  readonly seedRng: Rng;
  readonly c: CellContext;
}

type RowBase = Omit<ResultRow, 'metrics' | 'timing' | 'status' | 'finishedAt'>;
type Trace = ({ step: number } & Record<string, number>)[];

/** Fit one learner and measure it: its rows, or one failed (or diverged) row. Frees what it made. */
async function runLearner(
  s: CellState,
  l: LearnerPlan,
  base: RowBase,
  failed: (error: unknown) => ResultRow,
): Promise<ResultRow[]> {
  const tensorsBefore = tf.memory().numTensors;
  // what each metric left beside it (a predictor's cache filled on its first predict counts too, and
  // is freed by its dispose), so that what remains at the end is told apart; and the test set's own
  // tensors, which a lazily drawn test set makes the first time a metric reads it
  const metricLeaks = new Map<string, number>();
  const testTensorsBefore = s.test.tensors();
  let predictor: Predictor | undefined;
  const monitorTensors: tf.Tensor[] = [];
  const trace: Trace = [];
  // a plugin that calls process.exit would end the run with rows missing (and exit 0): make it throw
  const exit = process.exit;
  process.exit = ((code?: number) => {
    throw new PluginError(
      `learner '${l.kind}' called process.exit(${code ?? ''}) during its fit or measurement; a learner must throw an error instead`,
    );
  }) as typeof process.exit;
  try {
    checkFitBudget(s.c.registry, l, fitSize(s.c.registry, s.plan, s.cell), s.c.memory);
    const t0 = performance.now();
    predictor = await supervisedFit(s, l, (signal) => {
      const learner = s.c.registry.get('learner', l.kind).create(l.options);
      return learner.fit(s.train, fitContext(s, l, base.key, trace, monitorTensors, signal));
    });
    s.c.busy?.(s.cell, [l], 'fit');
    const fitSeconds = (performance.now() - t0) / 1000;
    const measure = (p: Predictor, b: RowBase) => measuredRow(s, p, b, trace, fitSeconds, metricLeaks);
    const rows: ResultRow[] = [];
    if (!predictor.variants?.length) rows.push(await measure(predictor, { ...base, fitRows: 1 }));
    const fitRows = predictor.variants?.length ?? 1;
    for (const v of predictor.variants ?? []) {
      const key = rowKey(base.cellKey, l.id, v.label);
      rows.push(
        await measure(v.predictor, {
          ...base,
          key,
          variant: v.label,
          learner: { ...base.learner, ...v.options },
          fitRows,
        }),
      );
    }
    // freed here, so that a dispose that throws (a plugin's) is this fit's failure, not the run's end
    const done = predictor;
    predictor = undefined;
    try {
      done.dispose();
    } catch (error) {
      throw new PluginError(
        `learner '${l.kind}': its predictor's dispose() threw (${errorMessage(error)}); its rows are not kept`,
        {
          hint: 'fix the learner’s dispose (a plugin’s, most likely): it must free its tensors and not throw',
        },
      );
    }
    return rows;
  } catch (error) {
    if (s.c.signal?.aborted && error === s.c.signal.reason) throw error;
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    s.c.log.warn(`${base.key}: ${errorMessage(error)}`);
    return [failureRow(failed(error), error, trace)];
  } finally {
    process.exit = exit;
    try {
      predictor?.dispose();
    } catch (error) {
      s.c.log.warn(
        `${base.key}: learner '${l.kind}': its predictor's dispose() threw (${errorMessage(error)})`,
      );
    }
    tf.dispose(monitorTensors);
    // left after the fit, its metrics and the predictor's dispose: the metrics' share first (what each
    // left beside it, at most what remains), the rest the learner's
    let leaked = tf.memory().numTensors - tensorsBefore - (s.test.tensors() - testTensorsBefore);
    for (const [kind, left] of metricLeaks) {
      const share = Math.min(left, leaked);
      if (share <= 0) continue;
      leaked -= share;
      s.c.log.warn(
        `${base.key}: metric '${kind}' leaked ${share} tensor(s) (a tensor it made and did not free)`,
      );
    }
    if (leaked > 0)
      s.c.log.warn(
        `${base.key}: learner '${l.kind}' leaked ${leaked} tensor(s) (kept after its fit, or not freed by its predictor's dispose)`,
      );
  }
}

/**
 * Create the learner and run its fit under supervision: its own AbortSignal (aborted with the run's,
 * or with a FitTimeoutError when its time budget is spent); without a process that can be killed,
 * a fit still running `graceSeconds` after that is abandoned (an error row) — a busy loop cannot
 * be, which is why a run with a budget fits in worker processes. A fit whose promise can never
 * settle (the event loop empties) fails at once, budget or not.
 */
async function supervisedFit(
  s: CellState,
  l: LearnerPlan,
  fit: (signal: AbortSignal) => Promise<Predictor>,
): Promise<Predictor> {
  const budget = budgetOf(l, s.c.timeout);
  const controller = new AbortController();
  const outer = s.c.signal;
  const forward = () => controller.abort(outer!.reason);
  if (outer?.aborted) forward();
  else outer?.addEventListener('abort', forward, { once: true });
  let stop!: (error: Error) => void;
  let stopError: Error | undefined;
  const stopped = new Promise<never>(
    (_, reject) =>
      (stop = (error) => {
        stopError ??= error;
        reject(error);
      }),
  );
  const timers: { clear(): void }[] = [];
  const deadline = budget === undefined ? Infinity : performance.now() + budget * 1000;
  if (budget !== undefined) {
    armDeadline(controller, deadline, () => new FitTimeoutError(l.id, budget, 'aborted'));
    timers.push(
      longTimer(budget, () => {
        controller.abort(new FitTimeoutError(l.id, budget, 'aborted'));
        if (!s.c.killable)
          timers.push(
            longTimer(graceSeconds(budget), () => stop(new FitTimeoutError(l.id, budget, 'abandoned'))),
          );
      }),
    );
  } else if (!s.c.killable) {
    // no budget: a fit that runs for very long is named once, so that a hang is not silent (the pool does it for a worker)
    const notice = () => s.c.log.warn(longFitNotice(rowKey(s.cell.key, l.id)));
    timers.push(longTimer(LONG_FIT_NOTICE_S, notice, true));
  }
  const unwatch = watchUnsettled(() =>
    stop(
      new PluginError(
        `learner '${l.kind}' (${l.id}): its fit awaits a promise that can never settle (nothing is left to run: no timer, I/O or process)`,
        { hint: 'fix the learner’s fit (a plugin’s, most likely) so that its promise resolves or rejects' },
      ),
    ),
  );
  s.c.busy?.(s.cell, [l], 'fit', budget);
  // an error the fit throws from a timer or a promise nobody awaits is its failure, not the process's end
  const { running, end } = scopedFit(rowKey(s.cell.key, l.id), s.c.log, stop, () => fit(controller.signal));
  let abandoned = false;
  try {
    const predictor = await Promise.race([running, stopped]);
    // past its budget though it never looked at its signal (one long solve): the budget bounds the fit
    if (performance.now() >= deadline && !outer?.aborted) {
      predictor.dispose();
      throw new FitTimeoutError(l.id, budget!, 'late');
    }
    return predictor;
  } catch (error) {
    abandoned = error === stopError;
    const reason: unknown = controller.signal.reason;
    // past its budget, whatever the fit throws (the signal's reason, an AbortError of its own) is the timeout
    if (reason instanceof FitTimeoutError && !outer?.aborted)
      throw error instanceof FitTimeoutError ? error : reason;
    throw error;
  } finally {
    unwatch();
    end();
    for (const t of timers) t.clear();
    outer?.removeEventListener('abort', forward);
    // an abandoned fit may still settle later: its predictor is freed, its failure ignored
    if (abandoned)
      running.then(
        (p) => p.dispose(),
        () => {},
      );
  }
}

/**
 * The context a learner fits in: its own random stream, abort signal and progress, and a monitor
 * that records learning curves on (at most) the first 2048 test points against the noiseless f*,
 * whose tensors go into `monitorTensors` for the caller to free.
 */
function fitContext(
  s: CellState,
  l: LearnerPlan,
  key: string,
  trace: Trace,
  monitorTensors: tf.Tensor[],
  signal: AbortSignal,
): FitContext {
  const { target, c } = s;
  // each in the list the caller frees as soon as it exists, so that an evaluate that fails frees x
  const probeX = s.test.head(Math.min(2048, s.test.n));
  monitorTensors.push(probeX);
  const probeF = target.evaluate(probeX);
  monitorTensors.push(probeF);
  const { subspace, subspaceRank, levelFeatures } = target.structure;
  const levels = levelFeatures?.(probeX);
  if (levels) monitorTensors.push(...levels);
  const fitProgress = c.onFitProgress;
  return {
    rng: s.seedRng.child('cell', s.cell.key).child('learner', l.id),
    signal,
    progress: fitProgress ? (done, total) => fitProgress(key, done, total) : () => {},
    log: c.log,
    monitor: {
      test: { x: probeX, f: probeF },
      ...(subspace ? { subspace: { u: subspace, rank: subspaceRank ?? subspace.length / target.dim } } : {}),
      ...(levels ? { levels } : {}),
      record: (entry) => trace.push({ ...entry }),
    },
    target,
    ...(target.structure.tasks ? { tasks: target.structure.tasks } : {}),
    createLearner: (entry) => c.registry.createLearner(entry),
  };
}

/** Every metric of the plan on one predictor: the row, with status error if a value is not finite. */
/** A predictor must give one row of k outputs per input: say so, rather than let a metric's broadcast fail. */
function checkPredictionShape(s: CellState, p: Predictor, kind: string): void {
  const rows = Math.min(2, s.test.n);
  const x = s.test.head(rows);
  try {
    const shape = tf.tidy(() => p.predict(x).shape);
    const expected = [rows, s.target.outputDim];
    if (shape.length !== 2 || shape[0] !== expected[0] || shape[1] !== expected[1])
      throw new RegimesError(
        `learner '${kind}' predicted shape [${shape.join(', ')}] for ${rows} inputs; a prediction is [inputs, ${s.target.outputDim}] (one row of the target's ${s.target.outputDim} output(s) per input)`,
        { hint: 'fix the learner’s predict (a plugin’s, most likely) to return an n×k tensor' },
      );
  } finally {
    x.dispose();
  }
}

async function measuredRow(
  s: CellState,
  p: Predictor,
  base: RowBase,
  trace: Trace,
  fitSeconds: number,
  metricLeaks: Map<string, number>,
): Promise<ResultRow> {
  const t1 = performance.now();
  checkPredictionShape(s, p, base.learner.kind);
  const metrics: Record<string, number> = {};
  const writer = new Map<string, string>(); // a metric value's name → the metric kind that wrote it
  const problems: string[] = [];
  for (const m of s.plan.metrics) {
    const tensorsBefore = tf.memory().numTensors - s.test.tensors();
    let value: MetricValue;
    try {
      value = await s.c.registry
        .get('metric', m.kind)
        .create(m.options)
        .compute(p, s.test.data, s.target, {
          rng: s.seedRng.child('cell', s.cell.key).child('metric', m.kind),
          test: s.test.chunks,
        });
    } finally {
      const left = tf.memory().numTensors - s.test.tensors() - tensorsBefore;
      if (left > 0) metricLeaks.set(m.kind, (metricLeaks.get(m.kind) ?? 0) + left);
    }
    for (const [name, v] of typeof value === 'number' ? [[m.kind, value] as const] : Object.entries(value)) {
      // two metrics that give the same name would leave the row the later one's value, silently
      const first = writer.get(name);
      if (first !== undefined)
        throw new PluginError(
          `metrics '${first}' and '${m.kind}' both give a value named '${name}', and a row holds one`,
          { hint: `list one of them under metrics:, or rename the value the plugin's metric returns` },
        );
      writer.set(name, m.kind);
      metrics[name] = v;
      if (!Number.isFinite(v)) problems.push(`metric '${name}' is not finite (${v})`);
    }
  }
  const diagnostics = p.diagnostics ? numericDiagnostics(p.diagnostics, base.key, s.c.log) : undefined;
  const cause = problems.length ? await nonFiniteCause(s, p) : '';
  return {
    ...base,
    metrics,
    ...(diagnostics ? { diagnostics } : {}),
    ...(trace.length ? { trace } : {}),
    timing: { fit_s: fitSeconds, eval_s: (performance.now() - t1) / 1000 },
    status: problems.length ? 'error' : 'ok',
    ...(problems.length ? { error: `${problems.join('; ')}: ${cause}` } : {}),
    finishedAt: new Date().toISOString(),
  };
}

/**
 * A predictor's diagnostics as a row holds them: numbers (non-finite ones are written as null).
 * Anything else (an object, one that refers to itself, a string) is left out with a warning, so
 * that a plugin's diagnostics cannot stop the row from being written.
 */
function numericDiagnostics(
  diagnostics: Record<string, unknown>,
  key: string,
  log: Logger,
): Record<string, number> {
  const kept: Record<string, number> = {};
  const left: string[] = [];
  for (const [name, value] of Object.entries(diagnostics)) {
    if (typeof value === 'number') kept[name] = value;
    else left.push(`${name} (${value === null ? 'null' : typeof value})`);
  }
  if (left.length) log.warn(`${key}: diagnostics are numbers; left out: ${left.join(', ')}`);
  return kept;
}

/**
 * Why a metric is not finite, found on the whole test set: f* or the labels (a target undefined
 * at some points), the predictions (the fit), or neither (the metric's own arithmetic).
 */
async function nonFiniteCause(s: CellState, p: Predictor): Promise<string> {
  // the first test point where each is not finite (−1: none)
  const first = { target: -1, labels: -1, predictions: -1, variances: -1 };
  const scan = async (key: keyof typeof first, make: () => tf.Tensor, start: number) => {
    if (first[key] >= 0) return;
    const t = make();
    const columns = t.shape[1]!;
    const values = await hostValues(t);
    const i = values.findIndex((v) => !Number.isFinite(v));
    if (i >= 0) first[key] = start + Math.floor(i / columns);
  };
  await s.test.chunks.forEachChunk(async (chunk, start) => {
    await scan('target', () => s.target.evaluate(chunk.x), start);
    await scan('labels', () => chunk.y.clone(), start);
    await scan('predictions', () => p.predict(chunk.x), start);
    if (p.predictVariance) await scan('variances', () => p.predictVariance!(chunk.x), start);
  });
  if (first.target >= 0)
    return `the target's f* is not finite at test point ${first.target} (a g undefined where x ~ N(0, I) puts mass, e.g. sqrt or log of a negative value): change the target`;
  if (first.labels >= 0)
    return `the test labels are not finite at test point ${first.labels}: the target's sampling is at fault`;
  if (first.predictions >= 0)
    return `the fit produced non-finite predictions (the first at test point ${first.predictions})`;
  if (first.variances >= 0)
    return `the fit's predicted variance is not finite (the first at test point ${first.variances})`;
  return `f* and the predictions are finite on all ${s.test.n} test points: the metric's own arithmetic overflowed for this predictor (or is undefined for it)`;
}

/** A failed fit's row, with the curve recorded so far; a divergence is `diverged`, with where. */
function failureRow(row: ResultRow, error: unknown, trace: Trace): ResultRow {
  if (trace.length) row.trace = trace;
  if (error instanceof DivergenceError) {
    row.status = 'diverged';
    row.diagnostics = {
      ...(error.step !== undefined ? { step: error.step } : {}),
      ...(error.lastFiniteLoss !== undefined ? { lastFiniteLoss: error.lastFiniteLoss } : {}),
    };
  }
  return row;
}

/**
 * Worker processes: with `jobs > 1` (tfjs-wasm is single-threaded under Node, so this is how a
 * sweep uses every core), and with `jobs: 1` whenever a fit must be supervised (a time budget, or
 * a fit that crashed a previous run). The parent keeps the only writer: workers send rows over IPC
 * and the parent appends them, so a results file never interleaves partial lines.
 *
 * A worker says which learners a death would cost (`busy`: the cell's while its data are drawn,
 * then one learner at a time). A fit past its time budget is aborted in the worker; one that
 * ignores that for the grace period has its worker killed here. A worker that dies costs the row
 * of the fit it was running (an error row; a crash is also reported to `onCrash`); the cell's other
 * learners go back on the queue and a fresh worker takes over. A worker that dies while starting
 * is replaced, up to MAX_START_ATTEMPTS in a row.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RegimesError } from '../contracts/errors.js';
import { type Cell, type LearnerPlan, type Plan, rowKey } from '../spec/plan.js';
import type { ResultRow } from './results.js';
import { fitSize } from './budget.js';
import { type CellContext, failedRow, runCell } from './cell.js';
import type { Spec } from '../spec/spec.js';
import {
  CRASH_HINT,
  FitTimeoutError,
  graceSeconds,
  LONG_FIT_NOTICE_S,
  longFitNotice,
  longTimer,
} from './supervise.js';

/** Workers that die while starting, in a row, before the run gives up. */
export const MAX_START_ATTEMPTS = 3;

export interface PoolOptions {
  readonly jobs: number;
  readonly spec: Spec;
  readonly backend: string;
  readonly registryModule: string;
  readonly plugins: readonly string[];
  readonly baseDir: string;
  readonly source?: string;
  /** The run's time budget of a fit (seconds), for learners without their own `timeout`. */
  readonly timeout?: number;
  /** Fits whose worker died under them (not by a time budget): for the crash record. */
  readonly onCrash?: (cell: Cell, learners: readonly LearnerPlan[], reason: string) => void;
  /**
   * This process runs cells too, as one of the `jobs` slots, with this context (its `busy` marks
   * the fits in flight, as with `jobs: 1`): `jobs − 1` workers are started, and this process takes
   * cells from the same queue while they start and while they run. Its fits are not isolated: a
   * crash in one ends the run (a rerun retries that fit alone in a worker).
   */
  readonly local?: CellContext;
}

/** This process's CPU seconds so far (0 where there is no process.cpuUsage: the page's engine). */
export function processCpuSeconds(): number {
  if (typeof process.cpuUsage !== 'function') return 0;
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * The cells this process ran, for the debug log: when the first began (seconds and CPU seconds
 * since the process started: node, modules, spec, plan, backend) and the time spent in them.
 */
export class LocalCellTimes {
  #startup: { s: number; cpu: number } | undefined;
  #cells = 0;
  #seconds = 0;
  #cpu = 0;

  /** Run one cell, timing it. */
  async time(cell: () => Promise<void>): Promise<void> {
    const t0 = performance.now();
    const cpu0 = processCpuSeconds();
    this.#startup ??= { s: t0 / 1000, cpu: cpu0 };
    try {
      await cell();
    } finally {
      this.#cells++;
      this.#seconds += (performance.now() - t0) / 1000;
      this.#cpu += processCpuSeconds() - cpu0;
    }
  }

  /** `this process: first cell after … s (… CPU s); n cell(s) in … s (… CPU s)`. */
  describe(): string {
    const start = this.#startup
      ? `first cell after ${this.#startup.s.toFixed(2)} s (${this.#startup.cpu.toFixed(2)} CPU s); `
      : '';
    return `this process: ${start}${this.#cells} cell(s) in ${this.#seconds.toFixed(2)} s (${this.#cpu.toFixed(2)} CPU s)`;
  }
}

/** How a worker process spent its time, as it reports it: start-up, cells, waits for the next cell. */
export interface WorkerTimes {
  /** Seconds from the process's start to ready (node, module loads, registry, plan, backend). */
  startup_s: number;
  /** CPU seconds of the process at ready. */
  startup_cpu_s: number;
  cells: number;
  /** Seconds and CPU seconds in cells (from a cell's request to its `done`). */
  cells_s: number;
  cells_cpu_s: number;
  /** Seconds between `ready` or a `done` and the next cell's request: the parent's dispatch latency. */
  idle_s: number;
}

/** Messages from a worker (see worker.ts). */
export type WorkerMessage =
  | { type: 'ready'; times: WorkerTimes }
  | { type: 'fatal'; message: string }
  | { type: 'rows'; rows: ResultRow[] }
  | { type: 'done'; times: WorkerTimes }
  /** The learners whose rows a death would now cost; `budget` (s) while one of them fits with one. */
  | { type: 'busy'; learners: string[]; phase: 'data' | 'fit'; budget?: number }
  | { type: 'progress'; key: string; done: number; total: number }
  | { type: 'log'; level: 'debug' | 'info' | 'warn'; message: string };

/** Messages to a worker. */
export type WorkerRequest =
  | {
      type: 'init';
      spec: Spec;
      backend: string;
      memory: number;
      registryModule: string;
      plugins: string[];
      baseDir: string;
      source?: string;
      timeout?: number;
    }
  | { type: 'cell'; index: number; learners: string[] };

/** The BLAS threads of each of `jobs` processes computing at once: their share of the cores, at least 1. */
export function blasThreads(jobs: number): number {
  return Math.max(1, Math.floor(availableParallelism() / jobs));
}

/**
 * Give this process's BLAS its share of the cores while `jobs` processes compute (unless the user
 * set OPENBLAS_NUM_THREADS): set before the backend loads its library (OpenBLAS reads it once, the
 * own SGEMM at each product). Returns the undo.
 */
export function shareBlasThreads(jobs: number): () => void {
  if (jobs <= 1 || process.env.OPENBLAS_NUM_THREADS !== undefined) return () => {};
  process.env.OPENBLAS_NUM_THREADS = String(blasThreads(jobs));
  return () => {
    delete process.env.OPENBLAS_NUM_THREADS;
  };
}

function workerFile(): string {
  const here = fileURLToPath(import.meta.url);
  // run from the sources (tests): the compiled worker sits in dist/engine/
  return here.endsWith('.ts')
    ? join(dirname(here), '..', '..', 'dist', 'engine', 'worker.js')
    : join(dirname(here), 'worker.js');
}

interface Item {
  cell: Cell;
  todo: LearnerPlan[];
}

/**
 * The cells in the order the workers take them: the largest first (longest-processing-time first),
 * by the learners' own work estimates (FLOPs), so that the last cells to finish are small ones and
 * no worker sits idle while another runs a big cell alone at the end. A cell whose learners give no
 * estimate counts as n·d work per learner; ties keep the plan's order. Rows are the same whichever
 * order the cells run in; only the order of the lines in the results file differs.
 */
export function largestFirst(plan: Plan, work: readonly Item[], c: Pick<CellContext, 'registry'>): Item[] {
  const cost = (item: Item): number => {
    const size = fitSize(c.registry, plan, item.cell);
    let total = 0;
    for (const l of item.todo) {
      let flops: number | undefined;
      try {
        flops = size ? c.registry.get('learner', l.kind).estimate?.(l.options, size)?.flops : undefined;
      } catch {
        flops = undefined; // an estimate that throws orders nothing: the cell runs where the plan put it
      }
      total += flops ?? item.cell.n * (size?.d ?? 1);
    }
    return total;
  };
  return work
    .map((item, index) => ({ item, index, cost: cost(item) }))
    .sort((a, b) => b.cost - a.cost || a.index - b.index)
    .map((x) => x.item);
}

/** A worker that died (a signal, an exit) before it was ready. */
class WorkerStartError extends RegimesError {
  constructor(readonly reason: string) {
    super(`a worker process died while starting (${reason})`);
  }
  readonly died = true;
}

/**
 * Workers forked before the run (the CLI's prefork, at its start): a list of these under this
 * symbol on globalThis. The pool adopts one whose registry module and BLAS threads are its own.
 */
export const PREFORKED = Symbol.for('regimes.preforked');
interface Preforked {
  child: ChildProcess;
  registryModule: string;
  threads: string;
}

/** A forked worker still alive with this registry module and BLAS threads, taken off the list. */
function takePreforked(registryModule: string, threads: string | undefined): ChildProcess | undefined {
  const list = (globalThis as Record<symbol, Preforked[] | undefined>)[PREFORKED];
  if (!list) return undefined;
  for (;;) {
    const at = list.findIndex((p) => p.registryModule === registryModule && p.threads === threads);
    if (at < 0) return undefined;
    const [{ child }] = list.splice(at, 1) as [Preforked];
    // alive: 'exit' has not come (so neither has 'close', which the Worker waits for)
    if (child.exitCode === null && child.signalCode === null && child.connected) {
      child.ref();
      (child as { channel?: { ref(): void } }).channel?.ref();
      return child;
    }
  }
}

class Worker {
  private child: ChildProcess;
  private exited: Promise<string>;
  /**
   * The handlers of the requests sent and not yet answered, oldest first: the worker answers them in
   * the order it got them (one at a time), so each message is the oldest one's.
   */
  private handlers: ((m: WorkerMessage) => boolean)[] = [];
  /** What the worker last reported of its times. */
  times: WorkerTimes | undefined;

  constructor(
    env: NodeJS.ProcessEnv,
    private readonly c: CellContext,
    registryModule: string,
  ) {
    this.child =
      takePreforked(registryModule, env.OPENBLAS_NUM_THREADS) ??
      fork(workerFile(), [registryModule], {
        env,
        serialization: 'advanced',
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
    // 'close', not 'exit': it comes after the last message the worker sent, so no row is lost
    this.exited = new Promise((resolve) => {
      this.child.once('close', (code, signal) => resolve(signal ? `signal ${signal}` : `exit code ${code}`));
      // a fork that fails (EAGAIN, ENOMEM) or a send on a closed channel
      this.child.once('error', (error) => resolve(`process error: ${error.message}`));
    });
    this.child.on('message', (m: WorkerMessage) => {
      try {
        if (m.type === 'ready' || m.type === 'done') this.times = m.times;
        if (m.type === 'log') this.c.log[m.level](m.message);
        else if (m.type === 'progress') this.c.onFitProgress?.(m.key, m.done, m.total);
        else if (this.handlers[0]?.(m)) this.handlers.shift();
      } catch (error) {
        // e.g. the results file cannot be written: stop the run with it, not the process
        this.failure ??= error;
        this.kill();
      }
    });
  }

  /** An error of the parent's own while handling this worker's messages (it ends the run). */
  failure: unknown;

  /** Send a request; resolve with the reply that ends it, or with why the worker died first. */
  private async request(
    request: WorkerRequest,
    handle: (m: WorkerMessage) => boolean,
  ): Promise<{ died?: string }> {
    let finish!: (value: { died?: string }) => void;
    const ended = new Promise<{ died?: string }>((resolve) => (finish = resolve));
    this.handlers.push((m) => {
      const last = handle(m);
      if (last) finish({});
      return last;
    });
    this.child.send(request, (error) => {
      if (error) this.kill();
    });
    const result = await Promise.race([ended, this.exited.then((died) => ({ died }))]);
    if (this.failure) throw this.failure;
    return result;
  }

  async init(request: Extract<WorkerRequest, { type: 'init' }>): Promise<void> {
    let fatal: string | undefined;
    const { died } = await this.request(request, (m) => {
      if (m.type === 'fatal') fatal = m.message;
      return m.type === 'ready' || m.type === 'fatal';
    });
    if (fatal) throw new RegimesError(`a worker process could not start: ${fatal}`);
    if (died) throw new WorkerStartError(died);
  }

  /**
   * Run one cell. Returns the learners whose rows never came back, and if the worker died, why and
   * which of them it was busy with (`culprits`: the fit in progress, or all while drawing data);
   * `timedOut` when it was killed for a fit past its budget.
   */
  async run(
    item: Item,
    onRows: (rows: ResultRow[]) => void,
  ): Promise<{
    lost: LearnerPlan[];
    died?: string;
    culprits: LearnerPlan[];
    phase: 'data' | 'fit';
    timedOut?: FitTimeoutError;
  }> {
    const reported = new Set<string>();
    let busy: string[] = [];
    let phase: 'data' | 'fit' = 'data';
    let fatal: string | undefined;
    let timedOut: FitTimeoutError | undefined;
    let watchdog: { clear(): void } | undefined;
    const { died } = await this.request(
      { type: 'cell', index: item.cell.index, learners: item.todo.map((l) => l.id) },
      (m) => {
        if (m.type === 'busy') {
          busy = m.learners;
          phase = m.phase;
          watchdog?.clear();
          watchdog = undefined;
          const budget = m.budget;
          const id = m.learners[0];
          // the worker aborts the fit at its budget; one that ignores that for the grace period is killed
          if (budget !== undefined && id !== undefined)
            watchdog = longTimer(budget + graceSeconds(budget), () => {
              timedOut = new FitTimeoutError(id, budget, 'killed');
              this.kill();
            });
          // no budget: a fit that runs for very long (a busy loop, too) is named once
          else if (m.phase === 'fit' && id !== undefined)
            watchdog = longTimer(
              LONG_FIT_NOTICE_S,
              () => this.c.log.warn(longFitNotice(rowKey(item.cell.key, id))),
              true,
            );
        }
        if (m.type === 'rows') {
          const id = m.rows[0]!.learner.id;
          reported.add(id);
          busy = busy.filter((b) => b !== id);
          watchdog?.clear();
          watchdog = undefined;
          onRows(m.rows);
        }
        if (m.type === 'fatal') fatal = m.message;
        return m.type === 'done' || m.type === 'fatal';
      },
    );
    watchdog?.clear();
    const why = fatal ?? died;
    const lost = item.todo.filter((l) => !reported.has(l.id));
    return {
      lost,
      culprits: lost.filter((l) => busy.includes(l.id)),
      phase,
      ...(why ? { died: why } : {}),
      ...(timedOut ? { timedOut } : {}),
    };
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  stop(): void {
    if (this.child.connected) this.child.disconnect();
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

export async function runInWorkers(
  plan: Plan,
  work: readonly Item[],
  c: CellContext,
  o: PoolOptions,
): Promise<void> {
  // with one worker the order does not change the run's length: the plan's order is kept
  const queue = o.jobs > 1 ? largestFirst(plan, work, c) : [...work];
  // OpenBLAS in each worker: share the cores instead of oversubscribing them
  const env = {
    ...process.env,
    OPENBLAS_NUM_THREADS: process.env.OPENBLAS_NUM_THREADS ?? String(blasThreads(o.jobs)),
  };
  const init: WorkerRequest = {
    type: 'init',
    spec: o.spec,
    backend: o.backend,
    memory: c.memory,
    registryModule: o.registryModule,
    plugins: [...o.plugins],
    baseDir: o.baseDir,
    ...(o.source ? { source: o.source } : {}),
    ...(o.timeout !== undefined ? { timeout: o.timeout } : {}),
  };
  const workers = new Set<Worker>();
  const abort = () => workers.forEach((w) => w.kill());
  c.signal?.addEventListener('abort', abort, { once: true });
  /**
   * A ready worker; one that dies while starting is replaced, MAX_START_ATTEMPTS times in a row at
   * most. `presend` is called as soon as the init request is sent, before the worker is ready: the
   * requests it sends wait in the worker's channel; `reclaim` takes them back if the worker dies.
   */
  const start = async (presend: (w: Worker) => void, reclaim: () => Promise<void>) => {
    for (let attempt = 1; ; attempt++) {
      const w = new Worker(env, c, o.registryModule);
      workers.add(w);
      const ready = w.init(init);
      presend(w);
      try {
        await ready;
        return w;
      } catch (error) {
        w.kill();
        workers.delete(w);
        await reclaim();
        c.signal?.throwIfAborted();
        const died = error instanceof WorkerStartError && error.died;
        if (!died || attempt >= MAX_START_ATTEMPTS)
          throw died
            ? new RegimesError(
                `no worker process could start: ${attempt} in a row died while starting (${error.reason})`,
                {
                  hint: 'a plugin that crashes when imported, or too little memory? run with -j 1 (and no timeout) to see the error in this process',
                },
              )
            : error;
        c.log.warn(`a worker process died while starting (${error.reason}); starting another`);
      }
    }
  };
  /** What each worker reported, for the debug log at the end. */
  const reports: { pid: number | undefined; times: WorkerTimes | undefined }[] = [];
  const local = new LocalCellTimes();
  /** This process as a slot: cells from the same queue, run here (with o.local's in-flight marker). */
  const localSlot = async (context: CellContext) => {
    try {
      for (;;) {
        // the event loop first: the workers' rows, their readiness, their next cells
        await new Promise((resolve) => setImmediate(resolve));
        const item = queue.shift();
        if (!item) break;
        c.signal?.throwIfAborted();
        await local.time(() => runCell(plan, item.cell, item.todo, context));
      }
    } catch (error) {
      queue.length = 0;
      throw error;
    }
  };
  // With this process as a slot, its cells hold up its handling of the workers' messages: each
  // worker is sent its next cell before it ends the one it runs, so it waits for this process only
  // when this process's cell outlasts that next one (0.12–0.20 s in all over the 145 cells of ~0.06 s
  // a worker ran in the 288 small cells of the bench). Two cells ahead cut that to 0.03–0.04 s, with
  // no wall-time gain above the VM's drift (9.03 against 9.19 s, three alternated pairs), and would
  // leave a worker holding two more cells than this process at a sweep's end, where 4 equal large
  // cells would take 3 cell-times instead of 2: one ahead. The first two go with the init request,
  // before the worker is ready, so this process starts its own first cell at once instead of
  // waiting for the worker's `ready` to send them (its first cell came 0.05–0.2 s sooner on the
  // bench's small cells: docs/architecture.md).
  const ahead = o.local ? 1 : 0;
  type Running = { item: Item; running: ReturnType<Worker['run']> };
  const slot = async () => {
    let worker: Worker | undefined;
    let sent: Running[] = [];
    const retire = (w: Worker) => reports.push({ pid: w.pid, times: w.times });
    const send = (w: Worker, item: Item): Running => ({ item, running: w.run(item, c.onLearnerRows) });
    const sendAhead = (w: Worker) => {
      while (sent.length <= ahead && queue.length) sent.push(send(w, queue.shift()!));
    };
    /** The cells sent and not started (the worker runs one at a time, and died): back on the queue, whole. */
    const reclaim = async () => {
      const unstarted = sent;
      sent = [];
      await Promise.allSettled(unstarted.map((r) => r.running));
      queue.unshift(...unstarted.map((r) => r.item));
    };
    try {
      // a pool without this process as a slot starts its worker before sending it cells: the cells
      // wait in the queue (for the other workers) while it starts, not in the worker
      while (queue.length || sent.length) {
        c.signal?.throwIfAborted();
        const w = (worker ??= await start(o.local ? sendAhead : () => {}, reclaim));
        if (!sent.length) {
          const item = queue.shift();
          if (!item) break;
          sent.push(send(w, item));
        }
        sendAhead(w);
        const { item, running } = sent.shift()!;
        const { lost, died, culprits, phase, timedOut } = await running;
        if (!died) continue;
        await reclaim();
        c.signal?.throwIfAborted();
        retire(worker);
        workers.delete(worker);
        worker = undefined;
        const row = (l: LearnerPlan, error: unknown) =>
          c.onLearnerRows([failedRow(plan, item.cell, l, c.backend, c.versions, error)]);
        if (timedOut) {
          const [l] = culprits;
          c.log.warn(`cell ${item.cell.key}: ${timedOut.message}`);
          if (l) row(l, timedOut);
        } else {
          const oom = died.includes('SIGKILL') || died.includes('134') ? ': out of memory?' : '';
          const what =
            phase === 'fit'
              ? `learner ${culprits[0]?.id}`
              : `the cell's data (for ${culprits.length} fit(s))`;
          const error = new RegimesError(
            `the worker process running ${what} died (${died}${oom}); resume does not rerun ${phase === 'fit' ? 'this fit' : 'these fits'}`,
            { hint: CRASH_HINT },
          );
          c.log.warn(`cell ${item.cell.key}: ${error.message.split(';')[0]}`);
          for (const l of culprits) row(l, error);
          if (culprits.length) o.onCrash?.(item.cell, culprits, `${died}${oom}`);
        }
        // the cell's other learners did nothing wrong: a fresh worker runs them
        const rest = lost.filter((l) => !culprits.includes(l));
        if (rest.length && (culprits.length || timedOut)) queue.unshift({ cell: item.cell, todo: rest });
        else
          for (const l of rest)
            row(l, new RegimesError(`the worker process running this cell died (${died})`));
      }
    } catch (error) {
      queue.length = 0; // the other workers finish their cell and stop
      throw error;
    } finally {
      if (worker) retire(worker);
      worker?.stop();
    }
  };
  try {
    const slots = Array.from({ length: o.local ? o.jobs - 1 : o.jobs }, slot);
    // this process's slot starts after the workers are forked, so they start up while it computes
    if (o.local) slots.push(localSlot(o.local));
    const results = await Promise.allSettled(slots);
    for (const { pid, times: t } of reports)
      if (t)
        c.log.debug(
          `worker ${pid}: ready after ${t.startup_s.toFixed(2)} s (${t.startup_cpu_s.toFixed(2)} CPU s); ${t.cells} cell(s) in ${t.cells_s.toFixed(2)} s (${t.cells_cpu_s.toFixed(2)} CPU s); waited ${t.idle_s.toFixed(2)} s for cells`,
        );
    if (o.local) c.log.debug(local.describe());
    const rejected = results.find((r) => r.status === 'rejected');
    if (rejected) {
      abort();
      throw rejected.reason;
    }
  } finally {
    c.signal?.removeEventListener('abort', abort);
  }
}

/**
 * Supervision of plugin fits: time budgets, and what a fit that crashes its process leaves behind.
 *
 * - A fit with a time budget (`timeout:` on its learner, else RunOptions.timeout) has its
 *   AbortSignal aborted when the budget is spent; a fit that has not stopped `graceSeconds` later
 *   is stopped from outside — its worker process killed (pool.ts), or, in-process without workers,
 *   its promise abandoned (a busy loop cannot be stopped there). Either way it is an error row.
 * - In-process (`jobs: 1` unsupervised) the fits in flight are named in `<results>.inflight`
 *   before they start; a run that dies leaves it behind, and the next run retries those fits in a
 *   worker process first: if that dies too, the fits are error rows recorded in `<results>.crashed`,
 *   which resume does not rerun unless asked (`--retry-crashed`).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  appendFileSync,
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import type { Logger } from '../contracts/contracts.js';
import { RegimesError } from '../contracts/errors.js';
import { durationText, formatDuration } from '../spec/duration.js';
import type { Cell, LearnerPlan } from '../spec/plan.js';

/** A fit that ran past its time budget. */
export class FitTimeoutError extends RegimesError {
  override name = 'FitTimeoutError';
  constructor(learnerId: string, budget: number, stopped: 'aborted' | 'late' | 'killed' | 'abandoned') {
    const how = {
      aborted: 'it was aborted through its signal',
      late: 'it finished after its budget without looking at its abort signal, so its result is not kept',
      killed: `it ignored its abort signal for ${formatDuration(graceSeconds(budget))}, so its worker process was killed`,
      abandoned: `it ignored its abort signal for ${formatDuration(graceSeconds(budget))} and was abandoned`,
    }[stopped];
    super(`learner ${learnerId} ran past its time budget of ${formatDuration(budget)}: ${how}`, {
      hint: `raise the budget with \`timeout:\` on the learner (e.g. timeout: ${durationText(Math.max(60, budget * 4))}) or --timeout (RunOptions.timeout), or make the fit smaller`,
    });
  }
}

/**
 * Give a fit's signal a deadline (performance.now() ms): from then on, the fit's own next look at it
 * (`aborted`, `reason`, `throwIfAborted()`) aborts it with `timeout()`. A timer alone is not enough:
 * a training loop whose awaits settle as microtasks (a tensor's `data()` on the CPU backends) never
 * yields to the event loop, so the budget's timer gets no turn until the fit ends. The accessors are
 * the signal's own properties, so it stays a real AbortSignal (AbortSignal.any and events accept
 * it); a signal derived from it, or an 'abort' listener, still learns of the budget from the timer
 * only, when the event loop gives it a turn.
 */
export function armDeadline(controller: AbortController, deadline: number, timeout: () => Error): void {
  const signal = controller.signal;
  const proto = AbortSignal.prototype;
  const aborted = Object.getOwnPropertyDescriptor(proto, 'aborted')!.get!;
  const reason = Object.getOwnPropertyDescriptor(proto, 'reason')!.get!;
  const check = () => {
    if (!aborted.call(signal) && performance.now() >= deadline) controller.abort(timeout());
  };
  Object.defineProperties(signal, {
    aborted: { get: () => (check(), aborted.call(signal) as boolean), configurable: true },
    reason: { get: () => (check(), reason.call(signal) as unknown), configurable: true },
    throwIfAborted: { value: () => (check(), proto.throwIfAborted.call(signal)), configurable: true },
  });
}

/** After this long, a fit without a time budget is named in a warning (once): a hang is not silent. */
export const LONG_FIT_NOTICE_S = 1800;

/** The warning for a fit without a budget that has run for LONG_FIT_NOTICE_S. */
export function longFitNotice(fit: string): string {
  return `${fit}: still fitting after ${formatDuration(LONG_FIT_NOTICE_S)}, with no time budget; if it hangs, stop the run (a rerun resumes) and give it one: \`timeout:\` on the learner, or --timeout`;
}

/** How long a fit may go on after its abort signal before it is stopped from outside: a tenth of its budget, 1 s to 60 s. */
export function graceSeconds(budget: number): number {
  return Math.min(60, Math.max(1, budget / 10));
}

/** A fit's time budget in seconds: its learner's `timeout`, else the run's; undefined for none. */
export function budgetOf(l: LearnerPlan, runTimeout: number | undefined): number | undefined {
  return l.timeout ?? runTimeout;
}

/**
 * setTimeout for up to 30 days (a single timer overflows past 2³¹ − 1 ms, about 24.8 days);
 * `weak`: it does not keep the process alive.
 */
export function longTimer(seconds: number, action: () => void, weak = false): { clear(): void } {
  const MAX = 2 ** 31 - 1;
  let handle: NodeJS.Timeout;
  const arm = (ms: number) => {
    handle = setTimeout(() => (ms > MAX ? arm(ms - MAX) : action()), Math.min(ms, MAX));
    if (weak) handle.unref();
  };
  arm(seconds * 1000);
  return { clear: () => clearTimeout(handle) };
}

/** What `<results>.inflight` holds: the fits a run was busy with, and how often they were retried. */
export interface InFlight {
  specHash: string;
  cellKey: string;
  learners: string[];
  /** How many runs in a row died with these fits in flight (1: the first). */
  deaths: number;
  pid: number;
  host: string;
  since: string;
}

const inflightPath = (out: string) => `${out}.inflight`;
const crashedPath = (out: string) => `${out}.crashed`;

/**
 * The marker file of each results path this process marks, kept open, and the bytes of its longest
 * marker so far. Each marker is one write at offset 0, padded with spaces over a longer one before
 * it (JSON allows them): the file always holds one whole marker, where a rewrite (truncate, then
 * write) would leave it empty in between, and it costs 2 µs against 0.2–0.6 ms for writeFileSync's
 * open, truncate and close (three a cell: 1.6 ms a cell in a sweep of 72 small cells, 2026-12-04).
 */
const markerFiles = new Map<string, { fd: number; width: number }>();

/** Name the fits now in flight (written before they start; not fsynced: it must outlive a process, not a machine). */
export function markInFlight(
  out: string,
  specHash: string,
  cell: Cell,
  learners: readonly LearnerPlan[],
  deaths = 1,
): void {
  const marker: InFlight = {
    specHash,
    cellKey: cell.key,
    learners: learners.map((l) => l.id),
    deaths,
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
  };
  const path = inflightPath(out);
  let file = markerFiles.get(path);
  if (!file) {
    file = { fd: openSync(path, 'w'), width: 0 };
    markerFiles.set(path, file);
  }
  const body = Buffer.from(JSON.stringify(marker));
  const text = Buffer.alloc(Math.max(body.length, file.width) + 1, ' ');
  body.copy(text);
  text[text.length - 1] = 0x0a;
  writeSync(file.fd, text, 0, text.length, 0);
  file.width = text.length - 1;
}

/** Close this process's marker file of `out`, and remove the file unless `remove` is false (another run's now). */
export function clearInFlight(out: string, remove = true): void {
  const path = inflightPath(out);
  const file = markerFiles.get(path);
  if (file) {
    closeSync(file.fd);
    markerFiles.delete(path);
  }
  if (remove) rmSync(path, { force: true });
}

/** The marker a dead run left (the caller holds the results lock, so its writer is gone); undefined if none or unreadable. */
export function readInFlight(out: string): InFlight | undefined {
  if (!existsSync(inflightPath(out))) return undefined;
  try {
    const m = JSON.parse(readFileSync(inflightPath(out), 'utf8')) as Partial<InFlight>;
    if (typeof m.specHash === 'string' && typeof m.cellKey === 'string' && Array.isArray(m.learners))
      return { deaths: 1, ...m } as InFlight;
  } catch {
    // cut short by the death itself: nothing to retry
  }
  return undefined;
}

/** The way out, for the row of a fit that crashed its process. */
export const CRASH_HINT =
  'lower its size (n, width) or fix the learner, then rerun with --retry-crashed (RunOptions.retryCrashed)';

/** One fit that crashed the process running it: `<results>.crashed`, one JSON object a line. */
export interface CrashRecord {
  specHash: string;
  /** `learnerKey` of the fit: `<cellKey>|<learner id>`. */
  fit: string;
  reason: string;
  at: string;
}

export function recordCrash(out: string, record: Omit<CrashRecord, 'at'>): void {
  appendFileSync(crashedPath(out), `${JSON.stringify({ ...record, at: new Date().toISOString() })}\n`);
}

/** The fits of this spec recorded as crashing their process. */
export function readCrashes(out: string, specHash: string): Map<string, CrashRecord> {
  const crashes = new Map<string, CrashRecord>();
  if (!existsSync(crashedPath(out))) return crashes;
  for (const line of readFileSync(crashedPath(out), 'utf8').split('\n')) {
    try {
      const r = JSON.parse(line) as CrashRecord;
      if (r && r.specHash === specHash && typeof r.fit === 'string') crashes.set(r.fit, r);
    } catch {
      // a cut or foreign line: not a record
    }
  }
  return crashes;
}

/** Forget the crash records (with --force, or for fits retried with --retry-crashed that now ran). */
export function clearCrashes(out: string, fits?: ReadonlySet<string>): void {
  if (!existsSync(crashedPath(out))) return;
  if (!fits) return rmSync(crashedPath(out), { force: true });
  const kept = readFileSync(crashedPath(out), 'utf8')
    .split('\n')
    .filter((line) => {
      if (!line.trim()) return false;
      try {
        return !fits.has((JSON.parse(line) as CrashRecord).fit);
      } catch {
        return false;
      }
    });
  if (kept.length) writeFileSync(crashedPath(out), `${kept.join('\n')}\n`);
  else rmSync(crashedPath(out), { force: true });
}

let ownChannel = false;

/** This process is a worker of the pool: its IPC channel is its own to unreference during fits. */
export function ownIpcChannel(): void {
  ownChannel = true;
}

/**
 * Calls `settle` if the event loop empties while the returned watch is on: a fit awaiting a promise
 * that nothing (no timer, I/O, child process or worker) can ever resolve — Node would otherwise end
 * the process with the fit's rows missing. In a worker of the pool the IPC channel keeps the loop
 * alive, so it is unreferenced while the watch is on (another process's channel, a test runner's,
 * is left alone).
 */
export function watchUnsettled(settle: () => void): () => void {
  const channel = ownChannel ? (process as { channel?: { ref(): void; unref(): void } }).channel : undefined;
  channel?.unref();
  // settled from an immediate, not from the listener: code that runs inside 'beforeExit' and then
  // awaits what holds no libuv handle (a V8 platform task) ended the process mid-run, since Node
  // checks the loop once after the listeners and does not emit the event again
  const onEmpty = () => setImmediate(settle);
  process.once('beforeExit', onEmpty);
  return () => {
    process.off('beforeExit', onEmpty);
    channel?.ref();
  };
}

/** The fit that code runs for (async context: its timers and promises carry it), while and after it runs. */
interface FitScope {
  readonly key: string;
  readonly log: Logger;
  /** Fails the fit in flight; undefined once the fit has ended. */
  fail: ((error: Error) => void) | undefined;
}

const fitScope = new AsyncLocalStorage<FitScope>();

// the real exit, taken before any fit can replace it (cell.ts turns a fit's process.exit into an error)
const exit = process.exit.bind(process);

/**
 * An error thrown from a fit's timer or an unawaited promise of its (its async context tells) fails
 * that fit if it is still running, and is logged and ignored if the fit has ended (code it left
 * running: an abandoned fit's). Any other uncaught error is left to the process's other listeners,
 * or ends the process as Node would (its stack on stderr, exit code 1).
 */
function onUncaught(error: unknown): void {
  const scope = fitScope.getStore();
  const e = error instanceof Error ? error : new Error(String(error));
  if (scope?.fail) return scope.fail(e);
  if (scope) return scope.log.warn(`${scope.key}: code its fit left running threw (ignored): ${e.message}`);
  if (process.listenerCount('uncaughtException') > 1) return;
  process.stderr.write(`${e.stack ?? e.message}\n`);
  exit(1);
}

/**
 * Route uncaught errors of fits to them (see onUncaught) from now on. Once installed it stays: an
 * abandoned fit's timers may fire after the run has returned.
 */
export function guardUncaught(): void {
  if (!process.listeners('uncaughtException').includes(onUncaught))
    process.on('uncaughtException', onUncaught);
}

/** Run `fit` in the async context of fit `key`: `fail` receives its uncaught errors until `end()`. */
export function scopedFit<T>(
  key: string,
  log: Logger,
  fail: (error: Error) => void,
  fit: () => Promise<T>,
): { running: Promise<T>; end(): void } {
  const scope: FitScope = { key, log, fail };
  guardUncaught();
  const running = fitScope.run(scope, () => (async () => fit())());
  return {
    running,
    end: () => {
      scope.fail = undefined;
    },
  };
}

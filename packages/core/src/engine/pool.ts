/**
 * `jobs > 1`: cells run in worker processes (tfjs-wasm is single-threaded under Node, so this is
 * how a sweep uses every core). The parent keeps the only writer: workers send rows over IPC and
 * the parent appends them, so a results file never interleaves partial lines. A worker that dies
 * (out of memory, a signal) costs the rows of its cell in progress, recorded as errors; a fresh
 * worker takes the next cell.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RegimesError } from '../contracts/errors.js';
import type { Cell, LearnerPlan, Plan } from '../spec/plan.js';
import type { ResultRow } from './results.js';
import { type CellContext, failedRow } from './cell.js';
import type { Spec } from '../spec/spec.js';

export interface PoolOptions {
  readonly jobs: number;
  readonly spec: Spec;
  readonly backend: string;
  readonly registryModule: string;
  readonly plugins: readonly string[];
  readonly baseDir: string;
  readonly source?: string;
}

/** Messages from a worker (see worker.ts). */
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'fatal'; message: string }
  | { type: 'rows'; rows: ResultRow[] }
  | { type: 'done' }
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
    }
  | { type: 'cell'; index: number; learners: string[] };

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

class Worker {
  private child: ChildProcess;
  private exited: Promise<string>;
  private onMessage: ((m: WorkerMessage) => void) | undefined;

  constructor(
    env: NodeJS.ProcessEnv,
    private readonly c: CellContext,
  ) {
    this.child = fork(workerFile(), [], {
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
        if (m.type === 'log') this.c.log[m.level](m.message);
        else if (m.type === 'progress') this.c.onFitProgress?.(m.key, m.done, m.total);
        else this.onMessage?.(m);
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
    this.onMessage = (m) => {
      if (handle(m)) finish({});
    };
    this.child.send(request, (error) => {
      if (error) this.kill();
    });
    const result = await Promise.race([ended, this.exited.then((died) => ({ died }))]);
    this.onMessage = undefined;
    if (this.failure) throw this.failure;
    return result;
  }

  async init(request: Extract<WorkerRequest, { type: 'init' }>): Promise<void> {
    let fatal: string | undefined;
    const { died } = await this.request(request, (m) => {
      if (m.type === 'fatal') fatal = m.message;
      return m.type === 'ready' || m.type === 'fatal';
    });
    if (fatal || died) throw new RegimesError(`a worker process could not start: ${fatal ?? died}`);
  }

  /** Run one cell; the learners whose rows never came back are returned with the reason. */
  async run(
    item: Item,
    onRows: (rows: ResultRow[]) => void,
  ): Promise<{ lost: LearnerPlan[]; died?: string }> {
    const reported = new Set<string>();
    let fatal: string | undefined;
    const { died } = await this.request(
      { type: 'cell', index: item.cell.index, learners: item.todo.map((l) => l.id) },
      (m) => {
        if (m.type === 'rows') {
          reported.add(m.rows[0]!.learner.id);
          onRows(m.rows);
        }
        if (m.type === 'fatal') fatal = m.message;
        return m.type === 'done' || m.type === 'fatal';
      },
    );
    const why = fatal ?? died;
    return { lost: item.todo.filter((l) => !reported.has(l.id)), ...(why ? { died: why } : {}) };
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
  const queue = [...work];
  // OpenBLAS in each worker: share the cores instead of oversubscribing them
  const threads = Math.max(1, Math.floor(availableParallelism() / o.jobs));
  const env = { ...process.env, OPENBLAS_NUM_THREADS: process.env.OPENBLAS_NUM_THREADS ?? String(threads) };
  const init: WorkerRequest = {
    type: 'init',
    spec: o.spec,
    backend: o.backend,
    memory: c.memory,
    registryModule: o.registryModule,
    plugins: [...o.plugins],
    baseDir: o.baseDir,
    ...(o.source ? { source: o.source } : {}),
  };
  const workers = new Set<Worker>();
  const abort = () => workers.forEach((w) => w.kill());
  c.signal?.addEventListener('abort', abort, { once: true });
  const start = async () => {
    const w = new Worker(env, c);
    workers.add(w);
    try {
      await w.init(init);
    } catch (error) {
      w.kill();
      workers.delete(w);
      throw error;
    }
    return w;
  };
  const slot = async () => {
    let worker: Worker | undefined;
    try {
      for (let item = queue.shift(); item; item = queue.shift()) {
        c.signal?.throwIfAborted();
        worker ??= await start();
        const { lost, died } = await worker.run(item, c.onLearnerRows);
        if (!died) continue;
        c.signal?.throwIfAborted();
        const reason = `the worker process running this cell died (${died}${died.includes('SIGKILL') || died.includes('134') ? ': out of memory?' : ''})`;
        c.log.warn(`cell ${item.cell.key}: ${reason}`);
        for (const l of lost) c.onLearnerRows([failedRow(plan, item.cell, l, c.backend, c.versions, reason)]);
        workers.delete(worker);
        worker = undefined;
      }
    } catch (error) {
      queue.length = 0; // the other workers finish their cell and stop
      throw error;
    } finally {
      worker?.stop();
    }
  };
  try {
    const results = await Promise.allSettled(Array.from({ length: o.jobs }, slot));
    const rejected = results.find((r) => r.status === 'rejected');
    if (rejected) {
      abort();
      throw rejected.reason;
    }
  } finally {
    c.signal?.removeEventListener('abort', abort);
  }
}

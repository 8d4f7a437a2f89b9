/**
 * A worker process of `jobs > 1` (see pool.ts): it rebuilds the registry and the plan from the
 * spec, then runs the cells it is sent, one at a time, and sends their rows back. It exits when
 * the parent disconnects (including when the parent is killed).
 */
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { activateBackend } from '../registry/backends.js';
import type { Logger } from '../contracts/contracts.js';
import { loadPlugins } from '../registry/plugins.js';
import { type Plan, planExperiment } from '../spec/plan.js';
import { processCpuSeconds, type WorkerMessage, type WorkerRequest, type WorkerTimes } from './pool.js';
import type { Registry } from '../registry/registry.js';
import { runCell, versionsOf } from './cell.js';
import { guardUncaught, ownIpcChannel } from './supervise.js';

// what a fit's timers throw after the fit ended is logged, not the end of this worker (supervise.ts)
guardUncaught();
// a fit whose promise can never settle is seen when the loop empties: the channel must not hold it
ownIpcChannel();

// The real exit, taken before any fit runs: during a fit `process.exit` throws (cell.ts), so that a
// plugin cannot end the process, but the worker's own exits must still end it.
const exit = process.exit.bind(process);

const send = (m: WorkerMessage) =>
  new Promise<void>((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(m, undefined, {}, () => resolve());
  });

const log: Logger = {
  debug: (message) => void send({ type: 'log', level: 'debug', message }),
  info: (message) => void send({ type: 'log', level: 'info', message }),
  warn: (message) => void send({ type: 'log', level: 'warn', message }),
};

let state:
  | {
      plan: Plan;
      registry: Registry;
      backend: string;
      versions: Record<string, string>;
      memory: number;
      timeout: number | undefined;
    }
  | undefined;

const specifierOf = (module: string) => (isAbsolute(module) ? pathToFileURL(module).href : module);
/**
 * The registry module named when this process was forked (pool.ts, prefork in the CLI): imported at
 * once, while the init request is on its way (or the parent still loads and plans). Its failure is
 * reported by init.
 */
const early = process.argv[2]
  ? {
      module: process.argv[2],
      loading: import(specifierOf(process.argv[2])).then(
        (m) => ({ m }),
        (error: unknown) => ({ error }),
      ),
    }
  : undefined;

/** Reported with `ready` and each `done` (pool.ts logs them): where this process's time went. */
const times: WorkerTimes = {
  startup_s: 0,
  startup_cpu_s: 0,
  cells: 0,
  cells_s: 0,
  cells_cpu_s: 0,
  idle_s: 0,
};
/** When the last cell ended (its `done` sent) or `ready` was sent: the wait for a request starts there. */
let lastDone: number | undefined;

async function handle(request: WorkerRequest): Promise<void> {
  if (request.type === 'init') {
    let mod: { createRegistry?: () => Registry };
    if (early?.module === request.registryModule) {
      const loaded = await early.loading;
      if ('error' in loaded) throw loaded.error;
      mod = loaded.m as typeof mod;
    } else mod = (await import(specifierOf(request.registryModule))) as typeof mod;
    if (typeof mod.createRegistry !== 'function')
      throw new Error(`${request.registryModule} does not export createRegistry()`);
    const registry = mod.createRegistry();
    await loadPlugins(registry, request.plugins, process.cwd());
    await loadPlugins(registry, request.spec.plugins, request.baseDir);
    const plan = planExperiment(request.spec, registry, request.source);
    const { kind } = await activateBackend(registry, request.backend);
    state = {
      plan,
      registry,
      backend: kind,
      versions: versionsOf(registry),
      memory: request.memory,
      timeout: request.timeout,
    };
    // seconds since this process started (performance's time origin)
    times.startup_s = performance.now() / 1000;
    times.startup_cpu_s = processCpuSeconds();
    await send({ type: 'ready', times });
    lastDone = performance.now();
    return;
  }
  const t0 = performance.now();
  const cpu0 = processCpuSeconds();
  if (lastDone !== undefined) times.idle_s += (t0 - lastDone) / 1000;
  const s = state!;
  const cell = s.plan.cells[request.index]!;
  const learners = cell.learners.filter((l) => request.learners.includes(l.id));
  let last = 0;
  await runCell(s.plan, cell, learners, {
    registry: s.registry,
    backend: s.backend,
    versions: s.versions,
    memory: s.memory,
    timeout: s.timeout,
    killable: true, // the pool kills this process when a fit ignores its abort past its budget
    busy: (_cell, busy, phase, budget) =>
      void send({ type: 'busy', learners: busy.map((l) => l.id), phase, ...(budget ? { budget } : {}) }),
    log,
    signal: undefined,
    onLearnerRows: (rows) => void send({ type: 'rows', rows }),
    onFitProgress: (key, done, total) => {
      const now = Date.now();
      if (now - last < 200 && done < total) return;
      last = now;
      void send({ type: 'progress', key, done, total });
    },
  });
  times.cells++;
  times.cells_s += (performance.now() - t0) / 1000;
  times.cells_cpu_s += processCpuSeconds() - cpu0;
  lastDone = performance.now();
  await send({ type: 'done', times });
}

let chain = Promise.resolve();
process.on('message', (request: WorkerRequest) => {
  chain = chain.then(() =>
    handle(request).catch(async (error: unknown) => {
      await send({ type: 'fatal', message: error instanceof Error ? error.message : String(error) });
      exit(1);
    }),
  );
});
process.on('disconnect', () => exit(0));

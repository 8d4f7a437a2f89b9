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
import type { WorkerMessage, WorkerRequest } from './pool.js';
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

async function handle(request: WorkerRequest): Promise<void> {
  if (request.type === 'init') {
    const specifier = isAbsolute(request.registryModule)
      ? pathToFileURL(request.registryModule).href
      : request.registryModule;
    const mod = (await import(specifier)) as { createRegistry?: () => Registry };
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
    await send({ type: 'ready' });
    return;
  }
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
  await send({ type: 'done' });
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

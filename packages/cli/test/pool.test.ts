// The pool with this process as one of its slots (`local`): the cells sent ahead to a worker that
// dies go back on the queue whole, every fit gets one row, and this process frees what it made.
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  activateBackend,
  ContainerModule,
  LearnerFactory,
  type Logger,
  options,
  parseSpec,
  planExperiment,
  type ResultRow,
  rowKey,
  z,
} from '@regimes/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { runInWorkers } from '../../core/src/engine/pool.js';
import { versionsOf } from '../../core/src/engine/cell.js';
import { createRegistry, registryModulePath } from '../src/defaults.js';
import { jobsOf } from '../src/prefork.js';

const crashPlugin = fileURLToPath(new URL('fixtures/crash-plugin.js', import.meta.url));

describe('the pool with this process as a slot', () => {
  it('a worker that dies puts the cell it was sent ahead back on the queue; each fit has one row', async () => {
    // every cell has n = 32: in a worker, `crash` kills the process on each cell it starts; in
    // this process a harmless `crash` of the same name (a slow mean) runs instead
    const spec = parseSpec({
      target: { kind: 'hermite', d: 4, degree: 2 },
      plugins: [crashPlugin],
      learners: [{ kind: 'crash', at: 32 }, { kind: 'ntk' }],
      sweep: { n: [32], seed: { range: [0, 6] } },
      test: { n: 64 },
      backend: 'cpu',
    });
    const crashes: string[] = [];
    const harmless: LearnerFactory = {
      kind: 'crash',
      description: 'the mean label, once a worker has died on a cell (the test process must not die)',
      options: options({ at: z.number().int() }),
      create: () => ({
        async fit(train) {
          // this process holds its first cell until a worker has taken two (one sent ahead) and died
          for (let waited = 0; !crashes.length && waited < 100_000; waited += 50)
            await new Promise((resolve) => setTimeout(resolve, 50));
          const mean = tf.tidy(() => tf.mean(train.y, 0, true));
          return {
            predict: (x) => tf.tidy(() => tf.tile(mean, [x.shape[0], 1])),
            dispose: () => mean.dispose(),
          };
        },
      }),
    };
    const registry = createRegistry();
    registry.use(
      {
        name: 'harmless-crash',
        version: '0.0.1',
        core: '^0.1.0',
        module: new ContainerModule(({ bind }) => {
          bind(LearnerFactory).toConstantValue(harmless);
        }),
      },
      'harmless-crash',
    );
    const { kind: backend } = await activateBackend(registry, 'cpu');
    const plan = planExperiment(spec, registry);
    const rows: ResultRow[] = [];
    const debug: string[] = [];
    const log: Logger = { debug: (m) => debug.push(m), info: () => {}, warn: () => {} };
    const context = {
      registry,
      backend,
      versions: versionsOf(registry),
      memory: 2 ** 30,
      log,
      signal: undefined,
      onLearnerRows: (r: ResultRow[]) => rows.push(...r),
    };
    const tensors = tf.memory().numTensors;
    await runInWorkers(
      plan,
      plan.cells.map((cell) => ({ cell, todo: [...cell.learners] })),
      context,
      {
        jobs: 2,
        spec,
        backend,
        registryModule: registryModulePath(),
        plugins: [],
        baseDir: process.cwd(),
        local: context,
        onCrash: (cell, learners) => crashes.push(...learners.map((l) => rowKey(cell.key, l.id))),
      },
    );
    expect(tf.memory().numTensors).toBe(tensors);
    // one row per (cell, learner), whoever ran it
    const keys = rows.map((r) => r.key).sort();
    expect(keys).toEqual(plan.cells.flatMap((c) => c.learners.map((l) => rowKey(c.key, l.id))).sort());
    const errors = rows.filter((r) => r.status === 'error');
    // each worker death costs the crash fit it ran, never a cell it had only been sent
    expect(errors.map((r) => r.learner.kind)).toEqual(errors.map(() => 'crash'));
    for (const r of errors) expect(r.error).toMatch(/^the worker process running learner crash#0 died/);
    expect(errors.map((r) => r.key).sort()).toEqual([...crashes].sort());
    // the workers did take cells (and died on them), this process ran the others
    const local = Number(
      /this process: first cell after [\d.]+ s \([\d.]+ CPU s\); (\d+) cell/.exec(debug.join('\n'))?.[1],
    );
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(local).toBeGreaterThanOrEqual(1);
    expect(rows.filter((r) => r.status === 'ok' && r.learner.kind === 'crash').length).toBe(
      6 - errors.length,
    );
  }, 120_000);
});

describe('prefork: the workers a command line will want', () => {
  it('reads -j/--jobs of `run` only, and nothing for help or a dry run', () => {
    const argv = (...a: string[]) => ['node', 'regimes', ...a];
    expect(jobsOf(argv('run', 's.yaml', '-j', '2'))).toBe(2);
    expect(jobsOf(argv('run', 's.yaml', '--jobs', '4', '-q'))).toBe(4);
    expect(jobsOf(argv('run', '--jobs=3', 's.yaml'))).toBe(3);
    expect(jobsOf(argv('run', 's.yaml', '-j8'))).toBe(8);
    expect(jobsOf(argv('run', 's.yaml', '-j', '1'))).toBeUndefined();
    expect(jobsOf(argv('run', 's.yaml'))).toBeUndefined();
    expect(jobsOf(argv('run', 's.yaml', '-j', '2', '--dry-run'))).toBeUndefined();
    expect(jobsOf(argv('run', '--help', '-j', '2'))).toBeUndefined();
    expect(jobsOf(argv('merge', 'a', '-j', '2'))).toBeUndefined();
    expect(jobsOf(argv('run', 's.yaml', '-j', 'x'))).toBeUndefined();
    expect(jobsOf(argv('run', 's.yaml', '-j', '0'))).toBeUndefined();
    // auto: one per core (nothing to fork on one core)
    const cores = availableParallelism();
    for (const auto of [['-j', 'auto'], ['--jobs', 'AUTO'], ['--jobs=auto'], ['-jauto'], ['-jAuto']])
      expect(jobsOf(argv('run', 's.yaml', ...auto))).toBe(cores > 1 ? cores : undefined);
  });
});

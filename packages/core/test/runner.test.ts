import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ContainerModule } from 'inversify';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { LearnerFactory, MetricFactory, TargetFactory } from '../src/contracts/contracts.js';
import { BackendUnavailable, DivergenceError, RegimesError } from '../src/contracts/errors.js';
import { options } from '../src/contracts/options.js';
import { defineTarget } from '../src/contracts/define.js';
import { Registry } from '../src/registry/registry.js';
import {
  completeRows,
  latestRows,
  type ResultRow,
  ResultsWriter,
  readResults,
} from '../src/engine/results.js';
import { legacySpecHash } from '../src/spec/plan.js';
import { runExperiment } from '../src/engine/runner.js';
import { parseSpec, type SpecInput } from '../src/spec/spec.js';
import { silentLogger } from '../src/testing/index.js';
import { testPlugin } from './helpers.js';

const spec: SpecInput = {
  name: 'runner-test',
  backend: 'cpu',
  target: { kind: 'linear', d: 3, noise: 0.5 },
  learners: [
    { kind: 'ridge', jitter: 0.1 },
    { kind: 'ridge', id: 'strong', lambda: 10 },
  ],
  metrics: ['mse'],
  sweep: { n: [8, 64], seed: [0, 1] },
  test: { n: 256 },
};

/** Learners that fail on purpose: by throwing, or by diverging at step 7. */
const failing = {
  name: 'failing-learners',
  version: '0.1.0',
  core: '^0.1.0',
  module: new ContainerModule(({ bind }) => {
    // a predictor that breaks the contract after a good fit: its dispose throws, its diagnostics
    // refer to themselves (neither may end the run)
    bind(LearnerFactory).toConstantValue({
      kind: 'rude',
      description: 'predicts 0; dispose throws or diagnostics are circular',
      options: options({ mode: z.enum(['dispose', 'circular']).default('dispose') }),
      create: ({ mode }: { mode: string }) => ({
        async fit(train: { y: tf.Tensor2D }) {
          const diagnostics: Record<string, unknown> = { steps: 3 };
          if (mode === 'circular') diagnostics.self = diagnostics;
          return {
            predict: (x: tf.Tensor2D) => tf.zeros([x.shape[0], train.y.shape[1]]),
            dispose: () => {
              if (mode === 'dispose') throw new Error('dispose exploded');
            },
            diagnostics,
          };
        },
      }),
    } as never);
    bind(LearnerFactory).toConstantValue({
      kind: 'heap-trap',
      description: 'stops as the wasm engine does when a fit outgrows its 4 GiB heap',
      options: options({}),
      create: () => ({
        async fit() {
          throw new WebAssembly.RuntimeError('memory access out of bounds');
        },
      }),
    } as never);
    bind(LearnerFactory).toConstantValue({
      kind: 'explode',
      description: 'throws on large n, diverges on small n',
      options: options({ at: z.number().default(32) }),
      create: ({ at }: { at: number }) => ({
        async fit(train: { x: tf.Tensor2D }) {
          if (train.x.shape[0] > at) throw new Error('out of cheese');
          throw new DivergenceError('loss became NaN at step 7', 7, 0.25);
        },
      }),
    } as never);
  }),
};

const tmp = () => mkdtempSync(join(tmpdir(), 'regimes-runner-'));
const withoutTimes = (rows: ResultRow[]) =>
  rows.map(({ timing: _t, finishedAt: _f, startedAt: _s, ...rest }) => rest);
const run = (s: SpecInput, extra: Partial<Parameters<typeof runExperiment>[1]> = {}) =>
  runExperiment(s, { registry: Registry.with(testPlugin, failing), log: silentLogger, ...extra });

describe('a predictor that breaks the contract', () => {
  it('whose dispose throws is an error row; circular diagnostics are left out; the run goes on', async () => {
    const warnings: string[] = [];
    const { rows } = await runExperiment(
      {
        ...spec,
        learners: [{ kind: 'rude' }, { kind: 'rude', id: 'loop', mode: 'circular' }, { kind: 'ridge' }],
        sweep: { n: [8] },
      },
      {
        registry: Registry.with(testPlugin, failing),
        log: { ...silentLogger, warn: (m) => warnings.push(m) },
      },
    );
    expect(rows.map((r) => r.status)).toEqual(['error', 'ok', 'ok']);
    expect(rows[0]!.error).toMatch(/^learner 'rude': its predictor's dispose\(\) threw \(dispose exploded\)/);
    expect(rows[1]!.diagnostics).toEqual({ steps: 3 });
    expect(warnings).toContain('n=8|loop: diagnostics are numbers; left out: self (object)');
  });
});

describe('a fit that outgrows the WebAssembly heap', () => {
  // bad-input: 3
  it('is an error row that says so and what to change, and the run goes on', async () => {
    const { rows } = await run({
      ...spec,
      learners: [{ kind: 'heap-trap' }, { kind: 'ridge' }],
      sweep: { n: [8] },
    });
    expect(rows.map((r) => r.status)).toEqual(['error', 'ok']);
    expect(rows[0]!.error).toMatch(
      /^memory access out of bounds: the fit outgrew the WebAssembly heap \(4 GiB at most\) where the wasm and native backends keep every tensor \(fit fewer points, a narrower width or a minibatch/,
    );
  });
});

describe('latestRows: the rows that stand', () => {
  // `key` spelt out as the runner composes it, the identity in the fields the code reads
  const row = (key: string, status: ResultRow['status'], finishedAt: string, startedAt?: string) =>
    ({
      key,
      cellKey: key.split('|')[0],
      ...(key.includes(':') ? { variant: key.split(':')[1] } : {}),
      status,
      finishedAt,
      ...(startedAt ? { startedAt } : {}),
      learner: { id: 'rf#0', kind: 'rf' },
    }) as ResultRow;
  it("drops a failed fit's row once a later fit of the same learner wrote its variants, and back", () => {
    const failed = row('n=8|rf#0', 'error', 't1', 't1');
    const a = row('n=8|rf#0:ridge=1', 'ok', 't3', 't2');
    const b = row('n=8|rf#0:ridge=2', 'ok', 't4', 't2');
    expect(latestRows([failed, a, b])).toEqual([a, b]);
    const later = row('n=8|rf#0', 'error', 't6', 't5');
    expect(latestRows([a, b, later])).toEqual([later]);
    // another cell's rows are untouched
    const other = row('n=16|rf#0', 'ok', 't0', 't0');
    expect(latestRows([other, failed, a, b])).toEqual([other, a, b]);
  });
  it('tells attempts apart by the kind of key for rows written before startedAt existed', () => {
    const failed = row('n=8|rf#0', 'error', 't1');
    const a = row('n=8|rf#0:ridge=1', 'ok', 't2');
    const b = row('n=8|rf#0:ridge=2', 'ok', 't3');
    expect(latestRows([failed, a, b])).toEqual([a, b]);
    expect(latestRows([a, b, row('n=8|rf#0', 'error', 't4')]).map((r) => r.key)).toEqual(['n=8|rf#0']);
  });
  it('reads the identity of rows written before cellKey existed from their key, once, on load', () => {
    const file = join(tmp(), 'results.jsonl');
    const legacy = [
      { key: 'n=8,seed=0|rf#0', learner: { id: 'rf#0', kind: 'rf' } },
      {
        key: 'n=8,seed=0|rf#0(width=4,bias=1):ridge=0.1',
        learner: { id: 'rf#0(width=4,bias=1)', kind: 'rf' },
      },
      { key: 'n=8|x', cellKey: 'kept', learner: { id: 'x', kind: 'rf' } },
    ];
    const whole = { specHash: '0123456789abcdef', status: 'ok', cell: {}, metrics: {} };
    writeFileSync(file, legacy.map((r) => JSON.stringify({ ...whole, ...r })).join('\n') + '\n');
    expect(readResults(file).rows.map((r) => [r.cellKey, r.learner.id, r.variant])).toEqual([
      ['n=8,seed=0', 'rf#0', undefined],
      ['n=8,seed=0', 'rf#0(width=4,bias=1)', 'ridge=0.1'],
      ['kept', 'x', undefined],
    ]);
  });
});

/** A learner that writes one row per value of `scales` (a fit with variants, as a λ list): ŷ = s·x₁. */
const variantsPlugin = {
  name: 'variants-learner',
  version: '0.1.0',
  core: '^0.1.0',
  module: new ContainerModule(({ bind }) => {
    bind(LearnerFactory).toConstantValue({
      kind: 'scaled',
      description: 'predicts s·x_1 for each s of a list, one variant each',
      options: options({ scales: z.array(z.number()).default([0.5, 1, 2, 4]) }),
      create: ({ scales }: { scales: number[] }) => ({
        async fit() {
          const predictor = (s: number) => ({
            predict: (x: tf.Tensor2D) =>
              tf.tidy(() => tf.mul(tf.slice(x, [0, 0], [-1, 1]), s) as tf.Tensor2D),
            dispose: () => {},
          });
          return {
            ...predictor(scales[0]!),
            variants: scales.map((s) => ({ label: `s=${s}`, options: { s }, predictor: predictor(s) })),
          };
        },
      }),
    } as never);
  }),
};

describe('completeness at the level of the variant', () => {
  const variantSpec: SpecInput = { ...spec, learners: [{ kind: 'scaled' }], sweep: { n: [8, 16] } };
  const runVariants = (extra: Partial<Parameters<typeof runExperiment>[1]> = {}) =>
    runExperiment(variantSpec, {
      registry: Registry.with(testPlugin, variantsPlugin),
      log: silentLogger,
      ...extra,
    });

  it("reruns a fit whose rows are not all there (a kill between a list's rows, or a row deleted)", async () => {
    const out = join(tmp(), 'results.jsonl');
    const full = await runVariants({ out });
    expect(full.rows.map((r) => r.fitRows)).toEqual(Array(8).fill(4));
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    // drop the third variant row of the first fit: 3 of its 4 rows stay
    writeFileSync(out, `${lines.filter((_, i) => i !== 2).join('\n')}\n`);
    const { rows: standing, incomplete } = completeRows(readResults(out).rows);
    expect(incomplete).toEqual([{ fit: 'n=8|scaled#0', present: 3, expected: 4 }]);
    expect(standing.length).toBe(4);
    const resumed = await runVariants({ out });
    expect([resumed.ran, resumed.skipped]).toEqual([4, 4]);
    expect(withoutTimes(resumed.rows).map((r) => [r.key, r.metrics])).toEqual(
      withoutTimes(full.rows).map((r) => [r.key, r.metrics]),
    );
    expect(completeRows(readResults(out).rows)).toMatchObject({ incomplete: [] });
  });
});

describe('the fits of a cell', () => {
  it('let the event loop turn between them (a -j n command answers its workers mid-cell)', async () => {
    // each fit schedules a macrotask and notes whether the previous fit's had run when it began
    const seen: boolean[] = [];
    let previous: { ran: boolean } | undefined;
    const turnsPlugin = {
      name: 'turns-learner',
      version: '0.1.0',
      core: '^0.1.0',
      module: new ContainerModule(({ bind }) => {
        bind(LearnerFactory).toConstantValue({
          kind: 'turns',
          description: 'predicts 0; notes whether the event loop turned since the last fit',
          options: options({}),
          create: () => ({
            async fit() {
              if (previous) seen.push(previous.ran);
              const mark = { ran: false };
              setImmediate(() => (mark.ran = true));
              previous = mark;
              return { predict: (x: tf.Tensor2D) => tf.zeros([x.shape[0], 1]), dispose: () => {} };
            },
          }),
        } as never);
      }),
    };
    const { rows } = await runExperiment(
      { ...spec, learners: [{ kind: 'turns' }, { kind: 'turns' }, { kind: 'turns' }], sweep: { n: [8] } },
      { registry: Registry.with(testPlugin, turnsPlugin), log: silentLogger },
    );
    expect(rows.map((r) => r.status)).toEqual(['ok', 'ok', 'ok']);
    expect(seen).toEqual([true, true]);
  });
});

describe('runExperiment', () => {
  it('writes one row per (cell, learner) in the documented format', async () => {
    const out = join(tmp(), 'results.jsonl');
    const result = await run(spec, { out });
    expect(result.rows.length).toBe(8);
    const rows = readResults(out).rows;
    expect(rows.length).toBe(8);
    const row = rows[0]!;
    expect(row).toMatchObject({
      spec: 'runner-test',
      key: 'n=8,seed=0|ridge#0',
      cell: { n: 8, seed: 0 },
      learner: { id: 'ridge#0', kind: 'ridge', lambda: 1e-3, jitter: 0.1 },
      target: { kind: 'linear', d: 3, noise: 0.5 },
      backend: 'cpu',
      status: 'ok',
      seed: 0,
    });
    expect(row.specHash).toMatch(/^[0-9a-f]{16}$/);
    expect(Object.keys(row.metrics)).toEqual(['mse']);
    expect(row.versions['@regimes/core']).toBe('0.1.0');
    expect(row.versions['@tensorflow/tfjs-core']).toBe(tf.version_core);
    expect(row.timing.fit_s).toBeGreaterThanOrEqual(0);
  });

  it('gives identical rows (but timings) for the same spec and seed', async () => {
    const a = await run(spec);
    const b = await run(spec);
    expect(withoutTimes(b.rows)).toEqual(withoutTimes(a.rows));
    const c = await run({ ...spec, sweep: { n: [8, 64], seed: [2, 1] } });
    // seed 1 rows do not depend on which other seeds are swept
    expect(withoutTimes(c.rows.filter((r) => r.seed === 1)).map((r) => r.metrics)).toEqual(
      withoutTimes(a.rows.filter((r) => r.seed === 1)).map((r) => r.metrics),
    );
  });

  it('does not shift a learner’s draws when another learner is added', async () => {
    const one = await run({ ...spec, learners: [{ kind: 'ridge', jitter: 0.1 }] });
    const two = await run({
      ...spec,
      learners: [
        { kind: 'ridge', id: 'first', jitter: 0.3 },
        { kind: 'ridge', jitter: 0.1 },
      ],
    });
    expect(two.rows.filter((r) => r.learner.id === 'ridge#0').map((r) => r.metrics)).toEqual(
      one.rows.map((r) => r.metrics),
    );
  });

  it('resumes: rows already present are skipped, a cut-off row is rerun, nothing is lost', async () => {
    const out = join(tmp(), 'results.jsonl');
    const full = await run(spec, { out });
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
    // As if killed while writing the sixth row: five complete lines and half of the sixth.
    writeFileSync(out, `${lines.slice(0, 5).join('\n')}\n${lines[5]!.slice(0, 40)}`);
    const resumed = await run(spec, { out });
    expect(resumed.skipped).toBe(5);
    expect(resumed.ran).toBe(3);
    const { rows, badLines } = readResults(out);
    expect(badLines).toEqual([6]);
    expect(withoutTimes(rows).sort((a, b) => a.key.localeCompare(b.key))).toEqual(
      withoutTimes(full.rows).sort((a, b) => a.key.localeCompare(b.key)),
    );
    const again = await run(spec, { out });
    expect(again.ran).toBe(0);
    expect(again.skipped).toBe(8);
  });

  it('refuses to mix rows of another spec, and --force starts over', async () => {
    const out = join(tmp(), 'results.jsonl');
    await run(spec, { out });
    await expect(run({ ...spec, seed: 5 }, { out })).rejects.toThrow(/holds rows of a different spec/);
    const forced = await run({ ...spec, seed: 5 }, { out, force: true });
    expect(forced.ran).toBe(8);
    expect(readResults(out).rows.length).toBe(8);
  });

  // bad-input: 1
  it("refuses rows written under another order of the sweep's axes or of a learner's own sweep, whose draws differ", async () => {
    const out = join(tmp(), 'results.jsonl');
    await run(spec, { out });
    // the same cells, the axes swapped: the same hash, but keys (and so each cell's draws) differ
    const swapped = { ...spec, sweep: { seed: [0, 1], n: [8, 64] } };
    await expect(run(swapped, { out })).rejects.toThrow(
      `${out} holds rows of the cell n=8,seed=0, which this spec writes seed=0,n=8: its sweep lists the same axes in another order, and a cell's random draws (data, initialisation, test points) are seeded by its key, so they would be drawn anew and the rows doubled`,
    );
    await expect(run(swapped, { out })).rejects.toMatchObject({
      hint: expect.stringContaining("write the sweep's axes in the order of those rows (n, seed)"),
    });
    expect(readResults(out).rows.length).toBe(8);
    // adding a value to an axis still resumes
    const grown = await run({ ...spec, sweep: { n: [8, 64], seed: [0, 1, 2] } }, { out });
    expect([grown.skipped, grown.ran]).toEqual([8, 4]);
    // a learner's own sweep
    const own = (sweep: Record<string, number[]>) => ({
      ...spec,
      sweep: { n: [8] },
      learners: [{ kind: 'ridge', sweep }],
    });
    const out2 = join(tmp(), 'results.jsonl');
    await run(own({ lambda: [1, 2], jitter: [0.1] }), { out: out2 });
    await expect(run(own({ jitter: [0.1], lambda: [1, 2] }), { out: out2 })).rejects.toThrow(
      `${out2} holds rows of ridge#0(lambda=1,jitter=0.1) in the cell n=8, which this spec writes ridge#0(jitter=0.1,lambda=1): that learner's sweep lists the same options in another order`,
    );
  });

  it('records a failing or diverging learner and goes on with the sweep', async () => {
    const out = join(tmp(), 'results.jsonl');
    const result = await run({ ...spec, learners: [{ kind: 'explode' }, { kind: 'ridge' }] }, { out });
    expect(result.failed).toBe(4);
    const rows = readResults(out).rows;
    expect(rows.filter((r) => r.learner.kind === 'ridge').every((r) => r.status === 'ok')).toBe(true);
    expect(rows.find((r) => r.key === 'n=64,seed=0|explode#0')).toMatchObject({
      status: 'error',
      error: 'out of cheese',
    });
    expect(rows.find((r) => r.key === 'n=8,seed=0|explode#0')).toMatchObject({
      status: 'diverged',
      error: 'loss became NaN at step 7',
      diagnostics: { step: 7, lastFiniteLoss: 0.25 },
    });
  });

  it('reruns failed rows on resume', async () => {
    const out = join(tmp(), 'results.jsonl');
    const s = { ...spec, learners: [{ kind: 'explode' }] };
    await run(s, { out });
    const again = await run(s, { out });
    expect(again.skipped).toBe(2); // the diverged rows are results; the errors are retried
    expect(again.ran).toBe(2);
  });

  it('leaves no tensor behind', async () => {
    const before = tf.memory().numTensors;
    await run(spec);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('never falls back silently: a named unavailable backend is an error that says why', async () => {
    await expect(run({ ...spec, backend: 'quantum' })).rejects.toThrow(BackendUnavailable);
    await expect(run({ ...spec, backend: 'quantum' })).rejects.toThrow(
      "backend 'quantum' is not available here: no quantum computer attached; install one",
    );
    await expect(run({ ...spec, backend: 'gpu' })).rejects.toThrow(
      /unknown backend kind 'gpu' \(did you mean 'cpu'\?\); registered backend kinds: cpu, quantum/,
    );
  });

  it('picks the highest-priority available backend when none is named, never a software fallback, and records it', async () => {
    const { backend: _b, ...noBackend } = spec;
    const fallbackPlugin = {
      name: 'fallback-backend',
      version: '0.1.0',
      core: '^0.1.0',
      module: new ContainerModule(({ bind }) => {
        bind(Symbol.for('regimes.BackendFactory')).toConstantValue({
          kind: 'software-gpu',
          description: 'a GPU API on a CPU rasterizer',
          priority: 50,
          options: options({}),
          create: () => ({
            name: 'cpu',
            probe: async () => ({ available: true, fallback: true, device: 'llvmpipe' }),
            activate: async () => {
              throw new Error('a fallback must not be activated by default');
            },
          }),
        });
      }),
    };
    const result = await runExperiment(noBackend, {
      registry: Registry.with(testPlugin, failing, fallbackPlugin),
      log: silentLogger,
    });
    expect(result.backend).toBe('cpu');
    expect(result.rows.every((r) => r.backend === 'cpu')).toBe(true);
  });

  it('rejects a results file cut in the middle that belongs to another spec, without touching it', async () => {
    const out = join(tmp(), 'results.jsonl');
    await run(spec, { out });
    // a whole row of another spec (a partial line is a cut row, rerun rather than refused)
    const foreign = { ...readResults(out).rows[0]!, specHash: '0000000000000000' };
    appendFileSync(out, `${JSON.stringify(foreign)}\n`);
    const before = readFileSync(out, 'utf8');
    await expect(run(spec, { out })).rejects.toThrow(RegimesError);
    expect(readFileSync(out, 'utf8')).toBe(before);
  });
});

describe('results lines that are not rows', () => {
  it('reports valid JSON that is no row (null, {}, 42, a list) as a bad line and reruns, like a cut row', async () => {
    const out = join(tmp(), 'results.jsonl');
    const first = await run(spec, { out });
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    writeFileSync(out, [lines[0], 'null', '{}', '42', '[1]', '"row"', ...lines.slice(2)].join('\n') + '\n');
    expect(readResults(out).badLines).toEqual([2, 3, 4, 5, 6]);
    const warnings: string[] = [];
    const again = await run(spec, { out, log: { ...silentLogger, warn: (m) => warnings.push(m) } });
    expect(warnings.join('\n')).toMatch(
      /5 line\(s\) are not intact rows \(lines 2, 3, 4, 5, 6: JSON that is not a row\); their fits will be rerun/,
    );
    expect([again.ran, again.skipped]).toEqual([1, 7]);
    expect(withoutTimes(again.rows).map((r) => r.metrics)).toEqual(
      withoutTimes(first.rows).map((r) => r.metrics),
    );
  });
});

describe('one writer per results file', () => {
  it('refuses a second run on a file another live run holds, naming it; takes over a dead holder', async () => {
    const out = join(tmp(), 'results.jsonl');
    // a live holder: a process of this machine that lives on (this test's own pid would be a
    // reused one, in a lock it does not hold: stale)
    const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      writeFileSync(`${out}.lock`, JSON.stringify({ pid: holder.pid, host: hostname(), since: 't0' }));
      await expect(run(spec, { out })).rejects.toThrow(
        new RegExp(
          `${out.replaceAll('/', '\\/')} is being written by another regimes run \\(pid ${holder.pid} on `,
        ),
      );
    } finally {
      holder.kill('SIGKILL');
    }
    expect(existsSync(out)).toBe(false);
    // a holder that died: a pid no process has (the lock was left by a kill)
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    writeFileSync(`${out}.lock`, JSON.stringify({ pid: Number(dead.stdout), host: hostname(), since: 't0' }));
    const result = await run(spec, { out });
    expect(result.ran).toBe(8);
    // released when the run ends, on success and on failure
    expect(existsSync(`${out}.lock`)).toBe(false);
    await expect(run({ ...spec, seed: 5 }, { out })).rejects.toThrow(/holds rows of a different spec/);
    expect(existsSync(`${out}.lock`)).toBe(false);
  });

  // bad-input: 2
  it('stops before its next row once its lock is taken over, keeping the rows written and the new lock', async () => {
    const out = join(tmp(), 'results.jsonl');
    // after the first row, a run elsewhere takes the lock (as when this process was paused past
    // its heartbeat): it replaces the lock with its own
    const other = JSON.stringify({ pid: 7, host: 'node-7', since: 't1', ns: 'x', beat: 10000 });
    // and marks the fit it runs in the marker file that a rerun reads to find a fit that crashed
    const marker = JSON.stringify({ specHash: 'h', cellKey: 'n=64,seed=1', learners: ['strong'], pid: 7 });
    const warnings: string[] = [];
    const failure = await run(spec, {
      out,
      log: { ...silentLogger, warn: (m) => warnings.push(m) },
      onRow: (_row, done) => {
        if (done !== 1) return;
        writeFileSync(`${out}.lock`, other);
        writeFileSync(`${out}.inflight`, marker);
      },
    }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(RegimesError);
    expect((failure as Error).message).toBe(
      `the lock ${out}.lock now holds another regimes run (pid 7 on node-7, since t1): this run no longer holds ${out} and stops before writing to it again; the rows it wrote stand`,
    );
    // the first cell's rows (written before) stand, intact; nothing after; the other's lock stays
    const { rows, problems } = readResults(out);
    expect(problems).toEqual([]);
    expect(rows.map((r) => r.key)).toEqual(['n=8,seed=0|ridge#0']);
    expect(readFileSync(`${out}.lock`, 'utf8')).toBe(other);
    // neither overwritten by this run's next fit nor removed as it stopped
    expect(readFileSync(`${out}.inflight`, 'utf8')).toBe(marker);
    // the error is the run's, not blamed on a target or a learner on the way
    expect(warnings).toEqual([]);
  });

  it('runs two different results files of one folder at once (shards)', async () => {
    const dir = tmp();
    const [a, b] = await Promise.all([
      run(spec, { out: join(dir, 'results.shard-1-of-2.jsonl'), shard: { index: 1, count: 2 } }),
      run(spec, { out: join(dir, 'results.shard-2-of-2.jsonl'), shard: { index: 2, count: 2 } }),
    ]);
    expect(a.ran + b.ran).toBe(8);
  });
});

describe('memory bounded before work starts', () => {
  it('refuses a cell whose data exceed the budget as error rows, with the numbers; the other cells run', async () => {
    // float32 data of a cell: 4·(n + 256 test points)·(d + k) = 4224 bytes at n = 8, 5120 at n = 64
    const { rows } = await run(spec, { memory: 5000 });
    const byN = (n: number) => rows.filter((r) => r.cell.n === n);
    expect(byN(8).map((r) => r.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(byN(64).map((r) => r.status)).toEqual(['error', 'error', 'error', 'error']);
    expect(byN(64)[0]!.error).toMatch(
      /^the cell's data need 5 KiB \(n = 64 and 256 test points in d = 3\), more than the 4\.88 KiB this run may use \(lower n/,
    );
  });

  it("refuses a fit whose learner's estimate with the data exceeds the budget", async () => {
    const estimating = {
      name: 'estimating',
      version: '0.1.0',
      core: '^0.1.0',
      module: new ContainerModule(({ bind }) => {
        bind(LearnerFactory).toConstantValue({
          kind: 'big',
          description: 'says it needs n² floats, fits nothing',
          options: options({}),
          estimate: (_o: unknown, s: { n: number }) => ({ flops: 0, bytes: 4 * s.n * s.n }),
          create: () => ({
            fit: async () => ({ predict: (x: tf.Tensor2D) => tf.zeros([x.shape[0], 1]), dispose: () => {} }),
          }),
        } as never);
      }),
    };
    const { rows } = await runExperiment(
      { ...spec, learners: [{ kind: 'big' }], sweep: { n: [8, 64], seed: [0] } },
      { registry: Registry.with(testPlugin, estimating), log: silentLogger, memory: 10_000 },
    );
    // n = 8: 256 + 4224 bytes; n = 64: 16384 + 5120 bytes
    expect(rows.map((r) => r.status)).toEqual(['ok', 'error']);
    expect(rows[1]!.error).toMatch(
      /^learner big#0 needs about 21 KiB at n = 64 \(its largest tensors 16 KiB, the data 5 KiB\), more than the 9\.77 KiB/,
    );
  });
});

describe('plugin learners that break the contract', () => {
  const rogue = {
    name: 'rogue-learners',
    version: '0.1.0',
    core: '^0.1.0',
    module: new ContainerModule(({ bind }) => {
      bind(LearnerFactory).toConstantValue({
        kind: 'wide-prediction',
        description: 'predicts three outputs for a one-output target',
        options: options({}),
        create: () => ({
          fit: async () => ({ predict: (x: tf.Tensor2D) => tf.zeros([x.shape[0], 3]), dispose: () => {} }),
        }),
      } as never);
      bind(LearnerFactory).toConstantValue({
        kind: 'exits',
        description: 'calls process.exit(0) in its fit',
        options: options({}),
        create: () => ({
          fit: async () => {
            process.exit(0);
          },
        }),
      } as never);
    }),
  };
  it('a prediction of the wrong shape, and process.exit in a fit, give error rows that say so; the run goes on', async () => {
    const { rows } = await runExperiment(
      {
        ...spec,
        learners: [{ kind: 'wide-prediction' }, { kind: 'exits' }, { kind: 'ridge' }],
        sweep: { n: [8] },
      },
      { registry: Registry.with(testPlugin, rogue), log: silentLogger },
    );
    expect(rows.map((r) => r.status)).toEqual(['error', 'error', 'ok']);
    expect(rows[0]!.error).toMatch(
      /^learner 'wide-prediction' predicted shape \[2, 3\] for 2 inputs; a prediction is \[inputs, 1\]/,
    );
    expect(rows[1]!.error).toMatch(/^learner 'exits' called process\.exit\(0\) during its fit/);
  });
});

describe('plugin metrics that break the contract', () => {
  const rogue = {
    name: 'rogue-metrics',
    version: '0.1.0',
    core: '^0.1.0',
    module: new ContainerModule(({ bind }) => {
      // gives a value named like the built-in metric `mse`, which a row would hold once
      bind(MetricFactory).toConstantValue({
        kind: 'shadow',
        description: 'returns { mse: 42, other: 1 }',
        options: options({}),
        create: () => ({ compute: () => ({ mse: 42, other: 1 }) }),
      } as never);
      // reads the whole test set (drawn lazily when it is large) and frees what it makes
      bind(MetricFactory).toConstantValue({
        kind: 'whole',
        description: 'the mean prediction over test.x, freed',
        options: options({}),
        create: () => ({
          compute: async (p: { predict(x: tf.Tensor2D): tf.Tensor2D }, test: { x: tf.Tensor2D }) => {
            const mean = tf.tidy(() => tf.mean(p.predict(test.x)));
            const value = (await mean.data())[0]!;
            mean.dispose();
            return value;
          },
        }),
      } as never);
      // keeps the prediction it made
      bind(MetricFactory).toConstantValue({
        kind: 'leaky',
        description: 'the mean prediction, its tensors kept',
        options: options({}),
        create: () => ({
          compute: async (p: { predict(x: tf.Tensor2D): tf.Tensor2D }, test: { x: tf.Tensor2D }) =>
            (await tf.mean(p.predict(test.x)).data())[0]!,
        }),
      } as never);
    }),
  };
  // bad-input: 4
  it('two values of one name are an error row naming both metrics, not the later value', async () => {
    const { rows } = await runExperiment(
      { ...spec, learners: [{ kind: 'ridge' }], metrics: ['mse', 'shadow'], sweep: { n: [8] } },
      { registry: Registry.with(testPlugin, rogue), log: silentLogger },
    );
    expect(rows.map((r) => r.status)).toEqual(['error']);
    expect(rows[0]!.error).toBe(
      "metrics 'mse' and 'shadow' both give a value named 'mse', and a row holds one (list one of them under metrics:, or rename the value the plugin's metric returns)",
    );
  });
  // bad-input: 4
  it("a metric's leak is the metric's, not the learner's", async () => {
    const warnings: string[] = [];
    const before = tf.memory().numTensors;
    const { rows } = await runExperiment(
      { ...spec, learners: [{ kind: 'ridge' }], metrics: ['mse', 'leaky'], sweep: { n: [8] } },
      { registry: Registry.with(testPlugin, rogue), log: { ...silentLogger, warn: (m) => warnings.push(m) } },
    );
    expect(rows.map((r) => r.status)).toEqual(['ok']);
    // the test set goes through in one chunk: predict's output and the mean, kept
    expect(warnings).toEqual([
      "n=8|ridge#0: metric 'leaky' leaked 2 tensor(s) (a tensor it made and did not free)",
    ]);
    // and no warning about the learner: the two are all that is left
    expect(tf.memory().numTensors - before).toBe(2);
  });
  it("a test set drawn lazily (a large one) is not taken for a metric's leak, and outlives a metric that first reads it in a tidy", async () => {
    const warnings: string[] = [];
    const before = tf.memory().numTensors;
    // a target with sampleRows: its test set of more than 8192 points is drawn whole only when read
    const rowsTarget = defineTarget({
      name: 'linear-rows',
      d: 3,
      f: (x) => tf.slice(x, [0, 0], [-1, 1]) as tf.Tensor2D,
    });
    const { rows } = await runExperiment(
      {
        ...spec,
        target: rowsTarget,
        learners: [{ kind: 'ridge' }],
        metrics: ['mse', 'whole'],
        sweep: { n: [8] },
        test: { n: 8200 },
      } as never,
      { registry: Registry.with(testPlugin, rogue), log: { ...silentLogger, warn: (m) => warnings.push(m) } },
    );
    expect(rows.map((r) => r.error ?? r.status)).toEqual(['ok']);
    expect(warnings).toEqual([]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('a target defined in code, changed between runs into one results file', () => {
  // bad-input: 2
  it('gets another hash when its f or d changes (refused, saying why), and resumes with a warning when not', async () => {
    const out = join(tmp(), 'results.jsonl');
    const power = (d: number, f: (x: tf.Tensor2D) => tf.Tensor2D) => defineTarget({ name: 'power', d, f });
    const cube = (x: tf.Tensor2D) => tf.tidy(() => tf.pow(tf.slice(x, [0, 0], [-1, 1]), 3) as tf.Tensor2D);
    const first = (x: tf.Tensor2D) => tf.slice(x, [0, 0], [-1, 1]) as tf.Tensor2D;
    const go = (target: ReturnType<typeof defineTarget>, warnings: string[] = []) =>
      runExperiment({ ...spec, target, learners: [{ kind: 'ridge' }], sweep: { n: [8] } } as never, {
        registry: Registry.with(testPlugin),
        log: { ...silentLogger, warn: (m) => warnings.push(m) },
        out,
      });
    const ran = await go(power(4, cube));
    expect(ran.ran).toBe(1);
    // another f (x₁ for x₁³), or another d, is another spec: its rows are not the file's
    for (const changed of [power(4, first), power(6, cube)])
      await expect(go(changed)).rejects.toThrow(
        /holds rows of a different spec .*; the hash also covers the kinds defined in code \(target:power\)/,
      );
    // the same definition again (a new object): resumed, with what the hash cannot see said once
    const warnings: string[] = [];
    const again = await go(power(4, cube), warnings);
    expect([again.ran, again.skipped]).toEqual([0, 1]);
    expect(again.rows[0]!.metrics).toEqual(ran.rows[0]!.metrics);
    expect(warnings).toEqual([
      expect.stringMatching(
        /^1 row\(s\) resumed from .*, of a spec with kinds defined in code \(target:power\): .*a closure's variables/,
      ),
    ]);
  });
});

describe('a resumed run over rows that failed', () => {
  it('counts the diverged rows it resumes as failed, as the run that wrote them did', async () => {
    const out = join(tmp(), 'results.jsonl');
    const s = { ...spec, learners: [{ kind: 'explode' }, { kind: 'ridge' }], sweep: { n: [8] } };
    const first = await run(s, { out });
    expect(first.rows.map((r) => r.status)).toEqual(['diverged', 'ok']);
    expect(first.failed).toBe(1);
    const again = await run(s, { out });
    expect([again.ran, again.skipped, again.failed]).toEqual([0, 2, 1]);
  });
});

describe('two runs at once in one process', () => {
  it('go one after the other, in the order started, each as alone (no leak taken for the other’s tensors)', async () => {
    const alone = await run(spec);
    const order: string[] = [];
    const warnings: string[] = [];
    const log = { ...silentLogger, warn: (m: string) => warnings.push(m) };
    const runs = await Promise.all(
      ['first', 'second'].map((name) =>
        run(spec, {
          log,
          onStart: () => order.push(`${name} starts`),
          onRow: (_r, done, total) => done === total && order.push(`${name} ends`),
        }),
      ),
    );
    expect(order).toEqual(['first starts', 'first ends', 'second starts', 'second ends']);
    for (const r of runs)
      expect(r.rows.map((row) => [row.key, row.metrics])).toEqual(
        alone.rows.map((row) => [row.key, row.metrics]),
      );
    expect(warnings).toEqual([]);
  });
});

describe('run options out of range', () => {
  // bad-input: 3
  it.each([
    [{ jobs: Number.NaN }, 'jobs NaN: give a whole number of processes, 1 or more'],
    [{ jobs: 0 }, 'jobs 0: give a whole number of processes, 1 or more'],
    [{ jobs: -1 }, 'jobs -1: give a whole number of processes, 1 or more'],
    [{ jobs: 1.5 }, 'jobs 1.5: give a whole number of processes, 1 or more'],
    [{ shard: { index: 1.5, count: 2 } }, 'shard 1.5/2: use i/N with whole numbers 1 <= i <= N'],
    [{ shard: { index: 3, count: 2 } }, 'shard 3/2: use i/N with whole numbers 1 <= i <= N'],
    [{ memory: Number.NaN }, 'memory NaN: give the bytes this run may use, a number above 0'],
    [{ memory: 0 }, 'memory 0: give the bytes this run may use, a number above 0'],
    [{ memory: -5 }, 'memory -5: give the bytes this run may use, a number above 0'],
  ])('%j is refused before any work', async (bad, message) => {
    const out = join(tmp(), 'results.jsonl');
    await expect(run(spec, { ...bad, out })).rejects.toThrow(message);
    expect(existsSync(out)).toBe(false);
  });
});

describe('a target defined in code: d is an option', () => {
  it('recorded in each row, swept, and named in a derived n; a fixed subspace keeps its d', async () => {
    const first = (x: tf.Tensor2D) => tf.slice(x, [0, 0], [-1, 1]) as tf.Tensor2D;
    const { rows } = await runExperiment(
      {
        ...spec,
        target: defineTarget({ name: 'first-coordinate', d: 3, f: first }),
        learners: [{ kind: 'ridge' }],
        sweep: { 'target.d': [2, 5], n: 'd*4' },
      } as never,
      { registry: Registry.with(testPlugin), log: silentLogger },
    );
    expect(rows.map((r) => [r.status, r.target.d, r.cell.n])).toEqual([
      ['ok', 2, 8],
      ['ok', 5, 20],
    ]);
    const fixed = defineTarget({
      name: 'in-a-plane',
      d: 3,
      f: first,
      structure: { subspace: new Float64Array([1, 0, 0]), subspaceRank: 1 },
    });
    const refused = await runExperiment(
      { ...spec, target: fixed, learners: [{ kind: 'ridge' }], sweep: { 'target.d': [4], n: [8] } } as never,
      { registry: Registry.with(testPlugin), log: silentLogger },
    );
    expect(refused.rows[0]!.error).toMatch(
      /its structure's subspace U is 1×3, so d cannot be 4 \(keep d at 3/,
    );
  });
});

describe('a target defined in code whose f gives the wrong shape', () => {
  // bad-input: 4
  it("is the target's error, named, not the learner's; nothing is left allocated", async () => {
    const before = tf.memory().numTensors;
    const cases: [string, (x: tf.Tensor2D) => tf.Tensor2D][] = [
      ['two columns', (x) => tf.slice(x, [0, 0], [-1, 2]) as tf.Tensor2D],
      ['one dimension', (x) => tf.sum(x, 1) as unknown as tf.Tensor2D],
    ];
    for (const [name, f] of cases) {
      const { rows } = await runExperiment(
        {
          ...spec,
          target: defineTarget({ name: name.replace(' ', '-'), d: 3, f }),
          learners: [{ kind: 'ridge' }],
          sweep: { n: [8] },
        } as never,
        { registry: Registry.with(testPlugin), log: silentLogger },
      );
      expect(rows[0]!.status).toBe('error');
      expect(rows[0]!.error).toMatch(
        new RegExp(
          `target '${name.replace(' ', '-')}' \\(defineTarget\\): f gave a tensor of shape \\[${name === 'two columns' ? '8, 2' : '8'}\\] for 8 points; it must give \\[8, 1\\]`,
        ),
      );
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('a plugin target whose inputs are not finite', () => {
  // x ~ N(0, I) with one NaN: in the 5th training point, or in the 3rd test point (the n-th draw
  // counts the calls: training first, then the test set)
  const nanTarget = {
    name: 'nan-inputs',
    version: '0.1.0',
    core: '^0.1.0',
    module: new ContainerModule(({ bind }) => {
      bind(TargetFactory).toConstantValue({
        kind: 'nan-x',
        description: 'y = x_1 with one NaN input coordinate',
        options: options({ where: z.enum(['train', 'test']) }),
        dims: () => ({ d: 3, k: 1 }),
        create: ({ where }: { where: string }) => {
          let draws = 0;
          return {
            dim: 3,
            outputDim: 1,
            structure: { noiseVariance: 0 },
            evaluate: (x: tf.Tensor2D) => tf.slice(x, [0, 0], [-1, 1]) as tf.Tensor2D,
            sample: (n: number) => {
              const values = Array.from({ length: n * 3 }, (_, i) => Math.sin(i + 1));
              if ((where === 'train') === (draws++ === 0))
                values[where === 'train' ? 4 * 3 + 2 : 2 * 3 + 1] = NaN;
              const x = tf.tensor2d(values, [n, 3]);
              return { x, y: tf.slice(x, [0, 0], [-1, 1]) as tf.Tensor2D };
            },
          };
        },
      } as never);
    }),
  };
  // bad-input: 5
  it.each([
    ['train', 'training sample 4, coordinate 2'],
    ['test', 'test sample 2, coordinate 1'],
  ])(
    'in the %s set: an error row that blames the target, not the learner, leaking nothing',
    async (where, at) => {
      const before = tf.memory().numTensors;
      const { rows } = await runExperiment(
        {
          ...spec,
          target: { kind: 'nan-x', where },
          learners: [{ kind: 'ridge' }],
          sweep: { n: [8] },
          test: { n: 16 },
        },
        { registry: Registry.with(testPlugin, nanTarget), log: silentLogger },
      );
      expect(rows.map((r) => r.status)).toEqual(['error']);
      expect(rows[0]!.error).toBe(
        `target nan-x {"where":"${where}"} gives a non-finite input (NaN) at ${at} (fix the target's sampling (a plugin's sample()): every input must be a finite number)`,
      );
      expect(tf.memory().numTensors).toBe(before);
    },
  );
});

describe('the finiteness check of a cell’s data (firstNonFinite)', () => {
  it('reads nothing but the verdict where every entry is finite (3e38s whose sum overflows included), and finds a NaN or ±∞', async () => {
    const { firstNonFinite } = await import('../src/engine/cell.js');
    const before = tf.memory().numTensors;
    const huge = tf.fill([64, 5], 3e38);
    const reads = vi.spyOn(huge, 'data');
    expect(await firstNonFinite(huge)).toEqual({ at: -1 });
    expect(reads).not.toHaveBeenCalled();
    huge.dispose();
    for (const [bad, at] of [
      [NaN, 7],
      [Infinity, 0],
      [-Infinity, 39],
    ] as const) {
      const values = Array.from({ length: 40 }, (_, i) => Math.sin(i) * 1e30);
      values[at] = bad;
      values[at + 1] = NaN; // the first one is named
      const t = tf.tensor2d(values.slice(0, 40), [8, 5]);
      expect(await firstNonFinite(t)).toEqual({ at, value: bad });
      t.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('a results file hashed before sweeps could grow', () => {
  it('resumes under its own (legacy) hash, and its new rows carry it too', async () => {
    const out = join(tmp(), 'results.jsonl');
    const first = await run({ ...spec, sweep: { n: [8], seed: [0, 1] } }, { out });
    const legacy = legacySpecHash(parseSpec({ ...spec, sweep: { n: [8], seed: [0, 1] } }));
    expect(legacy).not.toBe(first.plan.specHash);
    // the same rows as a 0.1.0 run wrote them: the old hash (re-framed, so their checks hold)
    writeFileSync(out, '');
    const writer = new ResultsWriter(out);
    for (const row of first.rows) writer.append({ ...row, specHash: legacy });
    const again = await run({ ...spec, sweep: { n: [8], seed: [0, 1] } }, { out });
    expect([again.ran, again.skipped]).toEqual([0, 4]);
    expect(again.plan.specHash).toBe(legacy);
    // growing such a file changes its legacy hash: refused, as before
    await expect(run({ ...spec, sweep: { n: [8, 16], seed: [0, 1] } }, { out })).rejects.toThrow(
      /holds rows of a different spec/,
    );
    // a fit rerun there (its row deleted) is written under the file's hash
    const kept = readFileSync(out, 'utf8').split('\n').filter(Boolean).slice(1);
    writeFileSync(out, `${kept.join('\n')}\n`);
    const rerun = await run({ ...spec, sweep: { n: [8], seed: [0, 1] } }, { out });
    expect(rerun.ran).toBe(1);
    expect(new Set(readResults(out).rows.map((r) => r.specHash))).toEqual(new Set([legacy]));
  });
});

// Supervised fits in this process (no worker processes): time budgets, and what a run that died
// during a fit leaves behind (<results>.inflight, <results>.crashed). The cases that kill processes
// run through the command in packages/cli/test/supervise.test.ts.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainerModule } from 'inversify';
import { describe, expect, it } from 'vitest';
import { type FitContext, LearnerFactory, type Logger } from '../src/contracts/contracts.js';
import { SpecError } from '../src/contracts/errors.js';
import { options } from '../src/contracts/options.js';
import { readResults } from '../src/engine/results.js';
import { clearInFlight, markInFlight, readInFlight } from '../src/engine/supervise.js';
import { runExperiment } from '../src/engine/runner.js';
import { Registry } from '../src/registry/registry.js';
import { durationText, parseDuration } from '../src/spec/duration.js';
import { planExperiment, specHash } from '../src/spec/plan.js';
import { parseSpec, type SpecInput } from '../src/spec/spec.js';
import { testPlugin } from './helpers.js';

/** Learners that outlast their budget: one stops on its abort signal, one ignores it for 3 s. */
const slow = {
  name: 'slow-learners',
  version: '0.1.0',
  core: '^0.1.0',
  module: new ContainerModule(({ bind }) => {
    bind(LearnerFactory).toConstantValue({
      kind: 'polite',
      description: 'waits until its signal aborts',
      options: options({}),
      create: () => ({
        fit: (_train: unknown, ctx: FitContext) =>
          new Promise((_, reject) => {
            const timer = setInterval(() => {}, 1000);
            ctx.signal.addEventListener('abort', () => {
              clearInterval(timer);
              reject(ctx.signal.reason);
            });
          }),
      }),
    } as never);
    bind(LearnerFactory).toConstantValue({
      kind: 'polling',
      description: 'a training loop that looks at its signal each step but never yields to the event loop',
      options: options({}),
      create: () => ({
        fit: async (_train: unknown, ctx: FitContext) => {
          const start = performance.now();
          // awaits that settle as microtasks (a CPU tensor's data()): no timer gets a turn; 5 s at most
          while (performance.now() - start < 5000) {
            ctx.signal.throwIfAborted();
            await Promise.resolve();
          }
          return { predict: () => undefined, dispose: () => {} };
        },
      }),
    } as never);
    bind(LearnerFactory).toConstantValue({
      kind: 'one-solve',
      description: 'one long step that never looks at its signal (0.4 s), then returns',
      options: options({}),
      create: () => ({
        fit: () => {
          const start = performance.now();
          while (performance.now() - start < 400);
          return Promise.resolve({ predict: () => undefined, dispose: () => {} });
        },
      }),
    } as never);
    bind(LearnerFactory).toConstantValue({
      kind: 'stubborn',
      description: 'ignores its signal and returns after 3 s',
      options: options({}),
      create: () => ({
        fit: () =>
          new Promise((resolve) =>
            setTimeout(() => resolve({ predict: () => undefined, dispose: () => {} }), 3000),
          ),
      }),
    } as never);
  }),
};

const spec: SpecInput = {
  name: 'supervise-test',
  backend: 'cpu',
  target: { kind: 'linear', d: 3 },
  learners: [{ kind: 'ridge' }, { kind: 'ridge', id: 'other', lambda: 1 }],
  metrics: ['mse'],
  sweep: { n: [8, 16] },
  test: { n: 64 },
};

function logger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, debug: () => {}, info: () => {}, warn: (m) => warnings.push(m) };
}

const tmp = () => mkdtempSync(join(tmpdir(), 'regimes-supervise-'));

// bad-input: 4
describe('time budgets', () => {
  it('reads durations with units and refuses the rest, saying what to write', () => {
    expect(parseDuration('500ms')).toEqual({ ok: true, seconds: 0.5 });
    expect(parseDuration('10m')).toEqual({ ok: true, seconds: 600 });
    expect(parseDuration('2h')).toEqual({ ok: true, seconds: 7200 });
    expect(parseDuration(30)).toEqual({ ok: true, seconds: 30 });
    for (const bad of ['soon', '0s', -1, '10 minutes', '40d'])
      expect(parseDuration(bad)).toMatchObject({ ok: false });
    expect(parseDuration('soon')).toMatchObject({ problem: expect.stringMatching(/500ms, 30s, 10m, 2h/) });
    // the budget a timeout's hint suggests is written as a spec takes it, and is at least the value
    for (const seconds of [0.8, 60, 119.5, 2400, 7200, 86400 * 3]) {
      const parsed = parseDuration(durationText(seconds));
      expect(parsed.ok && parsed.seconds >= seconds && parsed.seconds < seconds * 1.1 + 1).toBe(true);
    }
    expect(durationText(2400)).toBe('40m');
  });

  it("is a learner's `timeout:`, outside the spec's hash, and cannot be swept", () => {
    const timed = parseSpec({ ...spec, learners: [{ kind: 'ridge', timeout: '30s' }, { kind: 'ridge' }] });
    expect(timed.learners[0]!.timeout).toBe(30);
    const plain = parseSpec({ ...spec, learners: [{ kind: 'ridge' }, { kind: 'ridge' }] });
    expect(specHash(timed)).toBe(specHash(plain));
    const plan = planExperiment(timed, Registry.with(testPlugin));
    expect(plan.cells[0]!.learners.map((l) => l.timeout)).toEqual([30, undefined]);
    expect(plan.cells[0]!.learners[0]!.options).not.toHaveProperty('timeout');
    expect(() => parseSpec({ ...spec, learners: [{ kind: 'ridge', timeout: 'soon' }] })).toThrow(
      /learners\[0\]\.timeout: "soon" is not a duration/,
    );
    const swept = parseSpec({ ...spec, sweep: { n: [8], 'learners.timeout': [1, 2] } });
    expect(() => planExperiment(swept, Registry.with(testPlugin))).toThrow(SpecError);
    expect(() => planExperiment(swept, Registry.with(testPlugin))).toThrow(/timeout cannot be swept/);
  });

  it('in this process: a fit past its budget is aborted, or abandoned after the grace period; the run goes on', async () => {
    const log = logger();
    const { rows } = await runExperiment(
      {
        ...spec,
        learners: [
          { kind: 'polite', timeout: 0.2 },
          { kind: 'stubborn', timeout: '200ms' },
          { kind: 'ridge' },
        ],
        sweep: { n: [8] },
      },
      { registry: Registry.with(testPlugin, slow), log, timeout: 3600 },
    );
    expect(rows.map((r) => r.status)).toEqual(['error', 'error', 'ok']);
    expect(rows[0]!.error).toMatch(
      /^learner polite#0 ran past its time budget of 0\.2 s: it was aborted through its signal \(raise the budget with `timeout:`/,
    );
    expect(rows[1]!.error).toMatch(
      /^learner stubborn#0 ran past its time budget of 0\.2 s: it ignored its abort signal for 1 s and was abandoned/,
    );
    expect(log.warnings.join('\n')).toMatch(/a busy loop\) cannot be stopped here/);
  }, 120_000);

  it('a loop that never yields is aborted at its next look at the signal; a fit that ends past its budget is an error', async () => {
    const { rows } = await runExperiment(
      {
        ...spec,
        learners: [
          { kind: 'polling', timeout: 0.2 },
          { kind: 'one-solve', timeout: 0.1 },
        ],
        sweep: { n: [8] },
      },
      { registry: Registry.with(testPlugin, slow), log: logger() },
    );
    expect(rows.map((r) => r.status)).toEqual(['error', 'error']);
    expect(rows[0]!.error).toMatch(
      /^learner polling#0 ran past its time budget of 0\.2 s: it was aborted through its signal/,
    );
    expect(rows[1]!.error).toMatch(
      /^learner one-solve#0 ran past its time budget of 0\.1 s: it finished after its budget without looking at its abort signal/,
    );
  }, 120_000);

  it('RunOptions.timeout is the budget of learners without their own', async () => {
    const { rows } = await runExperiment(
      { ...spec, learners: [{ kind: 'polite' }, { kind: 'ridge', timeout: '1h' }], sweep: { n: [8] } },
      { registry: Registry.with(testPlugin, slow), log: logger(), timeout: 0.2 },
    );
    expect(rows.map((r) => r.status)).toEqual(['error', 'ok']);
    expect(rows[0]!.error).toMatch(/^learner polite#0 ran past its time budget of 0\.2 s/);
    await expect(
      runExperiment(spec, { registry: Registry.with(testPlugin), log: logger(), timeout: 0 }),
    ).rejects.toThrow(/timeout 0: give a time budget in seconds/);
  }, 120_000);
});

// bad-input: 4
describe('the in-flight marker', () => {
  it('is rewritten in place: each read gives the last marker whole, a shorter one after a longer one too', () => {
    const out = join(tmp(), 'results.jsonl');
    const plan = planExperiment(parseSpec(spec), Registry.with(testPlugin));
    const [small, large] = plan.cells;
    const learners = large!.learners;
    markInFlight(out, 'hash', large!, learners, 2);
    expect(readInFlight(out)).toMatchObject({
      cellKey: large!.key,
      learners: learners.map((l) => l.id),
      deaths: 2,
    });
    const longer = readFileSync(`${out}.inflight`, 'utf8').length;
    markInFlight(out, 'hash', small!, learners.slice(0, 1));
    const text = readFileSync(`${out}.inflight`, 'utf8');
    // the same length, the shorter marker padded with spaces before its newline
    expect(text.length).toBe(longer);
    expect(text).toMatch(/\} +\n$/);
    expect(readInFlight(out)).toMatchObject({ cellKey: small!.key, learners: [learners[0]!.id], deaths: 1 });
    clearInFlight(out);
    expect(existsSync(`${out}.inflight`)).toBe(false);
    expect(readInFlight(out)).toBeUndefined();
    // marked again after a clear: a new file
    markInFlight(out, 'hash', small!, learners.slice(0, 1));
    expect(readInFlight(out)).toMatchObject({ cellKey: small!.key });
    expect(readFileSync(`${out}.inflight`, 'utf8')).toMatch(/\}\n$/);
    clearInFlight(out);
  });
});

describe('a run that died during a fit (without worker processes)', () => {
  const run = (out: string, extra: { retryCrashed?: boolean } = {}) => {
    const log = logger();
    return runExperiment(spec, { registry: Registry.with(testPlugin), log, out, ...extra }).then((r) => ({
      ...r,
      log,
    }));
  };
  /** What a run that died while fitting `fit` leaves: its rows missing, its marker behind. */
  const die = (out: string, hash: string, deaths: number) => {
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    writeFileSync(out, `${lines.filter((l) => !l.includes('"key":"n=16|other"')).join('\n')}\n`);
    writeFileSync(
      `${out}.inflight`,
      JSON.stringify({ specHash: hash, cellKey: 'n=16', learners: ['other'], deaths, pid: 1, host: 'h' }),
    );
  };
  const status = (out: string) => readResults(out).rows.map((r) => `${r.key} ${r.status}`);

  it('reruns the fit once; a second death in a row makes it an error row that resume keeps, unless retryCrashed', async () => {
    const out = join(tmp(), 'results.jsonl');
    const first = await run(out);
    const all = status(out);
    expect(all).toEqual(['n=8|ridge#0 ok', 'n=8|other ok', 'n=16|ridge#0 ok', 'n=16|other ok']);

    die(out, first.plan.specHash, 1);
    const again = await run(out);
    expect(again.log.warnings.join('\n')).toMatch(/the last run on .* died while fitting n=16\|other/);
    expect([again.ran, again.failed]).toEqual([1, 0]);
    expect(existsSync(`${out}.inflight`)).toBe(false);

    die(out, first.plan.specHash, 2);
    const crashed = await run(out);
    expect([crashed.ran, crashed.failed]).toEqual([1, 1]);
    const row = readResults(out).rows.at(-1)!;
    expect([row.key, row.status]).toEqual(['n=16|other', 'error']);
    expect(row.error).toMatch(
      /^learner other crashed: the process died with it in flight in 2 runs in a row; resume does not rerun this fit \(.*--retry-crashed/,
    );
    expect(readFileSync(`${out}.crashed`, 'utf8')).toContain('"fit":"n=16|other"');

    const kept = await run(out);
    expect([kept.ran, kept.skipped, kept.failed]).toEqual([0, 4, 1]);
    expect(kept.log.warnings.join('\n')).toMatch(
      /1 fit\(s\) crashed the process running them in an earlier run and are not rerun \(n=16\|other\); --retry-crashed reruns them/,
    );

    const retried = await run(out, { retryCrashed: true });
    expect([retried.ran, retried.failed]).toEqual([1, 0]);
    expect(existsSync(`${out}.crashed`)).toBe(false);
    expect(retried.rows.map((r) => `${r.key} ${r.status}`)).toEqual(all);
  }, 120_000);
});

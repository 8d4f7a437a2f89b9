// Plugin fits supervised, through the built command and worker processes (the API starts them as
// the command does): time budgets that kill a fit ignoring its abort signal (with -j 1 too),
// process.exit and never-settling fits in the command's own process and in workers, workers
// killed while starting, and a fit that kills a -j 1 run (npm test builds first).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSpecFile, type Logger, type ResultRow, readResults } from '@regimes/core';
import { loadBlas } from '@regimes/backend-node';
import { afterEach, describe, expect, it } from 'vitest';
import { durationArg } from '../src/commands/run.js';
import { runExperiment } from '../src/index.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const bin = join(root, 'packages/cli/bin/regimes.js');
const rogue = join(root, 'packages/cli/test/fixtures/rogue-plugin.js');
const crash = join(root, 'packages/cli/test/fixtures/crash-plugin.js');
const env = { ...process.env, REGIMES_BACKEND: '' };

function regimes(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', env });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

const tmp = () => mkdtempSync(join(tmpdir(), 'regimes-supervise-'));

function specFile(dir: string, plugin: string, learners: string, n = '[16]'): string {
  const path = join(dir, 'spec.yaml');
  writeFileSync(
    path,
    `target: { kind: hermite, d: 4, degree: 2 }\nplugins: [${JSON.stringify(plugin)}]\nlearners: ${learners}\nsweep: { n: ${n} }\ntest: { n: 64 }\n`,
  );
  return path;
}

/** `key status error` of each row, in file order. */
const rowsOf = (file: string) => readResults(file).rows.map((r) => [r.key, r.status, r.error ?? ''] as const);

const silent = (): Logger & { warnings: string[] } => {
  const warnings: string[] = [];
  return { warnings, debug: () => {}, info: () => {}, warn: (m) => warnings.push(m) };
};

const specOf = (learners: object[], n = [16]) => ({
  target: { kind: 'hermite', d: 4, degree: 2 },
  plugins: [rogue],
  learners,
  sweep: { n },
  test: { n: 64 },
  backend: 'cpu',
});

const statusOf = (rows: readonly ResultRow[]) => rows.map((r) => [r.key, r.status]);

// what each misbehaving learner's row must say, in every mode
const rogueErrors = {
  hang: /^learner 'hang' \(hang#0\): its fit awaits a promise that can never settle/,
  exits: /^learner 'exits' called process\.exit\(0\) during its fit/,
  'exits-later': /^learner 'exits-later' called process\.exit\(0\) during its fit/,
};
const rogues = Object.keys(rogueErrors).map((kind) => ({ kind }));

function expectRogueRows(rows: readonly ResultRow[], ns: number[]): void {
  for (const n of ns) {
    for (const [kind, message] of Object.entries(rogueErrors)) {
      const row = rows.find((r) => r.key === `n=${n}|${kind}#0`)!;
      expect(row.status).toBe('error');
      expect(row.error).toMatch(message);
    }
    expect(rows.find((r) => r.key === `n=${n}|mean#0`)!.status).toBe('ok');
  }
}

// bad-input: 4
describe('--timeout', () => {
  it('takes a duration with a unit, or seconds, and says what to write otherwise', () => {
    expect([durationArg('10m'), durationArg('90'), durationArg('1.5h')]).toEqual([600, 90, 5400]);
    expect(() => durationArg('ten minutes')).toThrow(
      /give seconds \(30\) or a number with a unit: 500ms, 30s, 10m/,
    );
  });
});

// bad-input: 4
describe('time budgets with -j 1', () => {
  it('abort a fit through its signal, and kill the worker of one that ignores it; the sweep goes on', async () => {
    const { rows } = await runExperiment(
      specOf([
        { kind: 'polite', timeout: '200ms' },
        { kind: 'spin', timeout: 0.2 },
        ...rogues,
        { kind: 'mean' },
      ]),
      { log: silent() },
    );
    expect(statusOf(rows)).toEqual([
      ['n=16|polite#0', 'error'],
      ['n=16|spin#0', 'error'],
      ['n=16|hang#0', 'error'],
      ['n=16|exits#0', 'error'],
      ['n=16|exits-later#0', 'error'],
      ['n=16|mean#0', 'ok'],
    ]);
    expect(rows[0]!.error).toMatch(
      /^learner polite#0 ran past its time budget of 0\.2 s: it was aborted through its signal \(raise the budget with `timeout:` on the learner .* or --timeout/,
    );
    expect(rows[1]!.error).toMatch(
      /^learner spin#0 ran past its time budget of 0\.2 s: it ignored its abort signal for 1 s, so its worker process was killed/,
    );
    // the other fits of the cell ran in a fresh worker, and misbehaved there as in any worker
    expectRogueRows(rows, [16]);
  }, 300_000);
});

// bad-input: 4
describe('process.exit and fits that can never settle in the command itself (-j 1)', () => {
  it('are error rows that say so, the run goes on and the exit code says rows failed', () => {
    const dir = tmp();
    const path = specFile(
      dir,
      rogue,
      '[{ kind: hang }, { kind: exits }, { kind: exits-later }, { kind: mean }]',
      '[16, 32]',
    );
    const r = regimes('run', path, '-o', dir, '-q', '-b', 'cpu');
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/n=16\|exits-later#0: code its fit left running threw \(ignored\)/);
    const rows = readResults(join(dir, 'results.jsonl')).rows;
    expect(rows.length).toBe(8);
    expectRogueRows(rows, [16, 32]);
  }, 300_000);
});

// bad-input: 4
describe('a fit that can never settle on wasm', () => {
  it('is an error row and the run goes on, every time (it ended mid-run in ~60% of runs)', () => {
    // the rest of the run went on from inside 'beforeExit'; an await there on wasm's V8 tasks ended it
    for (let attempt = 0; attempt < 3; attempt++) {
      const dir = tmp();
      const path = specFile(dir, rogue, '[{ kind: hang }, { kind: mean }]', '[16, 32]');
      const r = regimes('run', path, '-o', dir, '-q', '-b', 'wasm');
      expect(r.stderr).not.toContain('in the middle of the run');
      expect(r.code, r.stderr).toBe(3);
      expect(rowsOf(join(dir, 'results.jsonl')).map(([key, status]) => `${key} ${status}`)).toEqual([
        'n=16|hang#0 error',
        'n=16|mean#0 ok',
        'n=32|hang#0 error',
        'n=32|mean#0 ok',
      ]);
    }
  }, 300_000);
});

// bad-input: 4
describe("a fit's unawaited rejection", () => {
  // native where its addon is built here (it is whenever npm ci found a C compiler)
  it.each(['wasm', 'cpu', ...(loadBlas().blas ? ['native'] : [])])(
    'is its error row on %s (tfjs-backend-wasm added listeners that ended the process)',
    (backend) => {
      const dir = tmp();
      const path = specFile(dir, rogue, '[{ kind: rejects }, { kind: mean }]');
      const r = regimes('run', path, '-o', dir, '-q', '-b', backend);
      expect(r.code, r.stderr).toBe(3);
      expect(rowsOf(join(dir, 'results.jsonl'))).toEqual([
        ['n=16|rejects#0', 'error', 'an unawaited rejection'],
        ['n=16|mean#0', 'ok', ''],
      ]);
    },
    120_000,
  );
});

// bad-input: 4
describe('worker processes (-j 2)', () => {
  afterEach(() => {
    delete process.env.REGIMES_TEST_START_FLAG;
    delete process.env.REGIMES_TEST_START_DIE;
  });

  it('one killed while starting with the cells sent ahead of its ready: they run once each, elsewhere', async () => {
    // built-in kinds only: this process is a slot, and the worker gets its first two cells with init
    const spec = { ...specOf([{ kind: 'ntk' }], [16, 24, 32, 40, 48]), plugins: [] };
    const registryModule = join(root, 'packages/cli/test/fixtures/die-once-registry.js');
    process.env.REGIMES_TEST_START_FLAG = join(tmp(), 'started');
    const log = silent();
    const { rows } = await runExperiment(spec, { log, jobs: 2, workers: { registryModule } });
    expect(existsSync(process.env.REGIMES_TEST_START_FLAG)).toBe(true); // the first worker did die
    expect(log.warnings).toEqual(['a worker process died while starting (signal SIGKILL); starting another']);
    const alone = await runExperiment(spec, { log: silent(), jobs: 1 });
    expect(statusOf(rows)).toEqual(statusOf(alone.rows));
    expect(rows.map((r) => r.metrics.risk)).toEqual(alone.rows.map((r) => r.metrics.risk));
  }, 300_000);

  it('one killed while starting is replaced and the cells still run; rogue fits are error rows', async () => {
    process.env.REGIMES_TEST_START_FLAG = join(tmp(), 'started');
    const log = silent();
    const { rows } = await runExperiment(specOf([...rogues, { kind: 'mean' }], [16, 32]), { log, jobs: 2 });
    expect(existsSync(process.env.REGIMES_TEST_START_FLAG)).toBe(true); // one worker did die
    expect(log.warnings).toContain('a worker process died while starting (signal SIGKILL); starting another');
    expect(rows.length).toBe(8);
    expectRogueRows(rows, [16, 32]);
  }, 300_000);

  it('killed while starting three times in a row is a clear error', async () => {
    process.env.REGIMES_TEST_START_DIE = '1';
    await expect(runExperiment(specOf([{ kind: 'mean' }]), { log: silent(), timeout: 60 })).rejects.toThrow(
      /^no worker process could start: 3 in a row died while starting \(signal SIGKILL\)$/,
    );
  }, 300_000);
});

// bad-input: 4
describe('a fit that kills a -j 1 run', () => {
  it('is retried alone in a worker on resume; dying again, it is an error row that later resumes keep', async () => {
    const dir = tmp();
    const out = join(dir, 'results.jsonl');
    const path = specFile(
      dir,
      crash,
      '[{ kind: crash, at: 32 }, { kind: crash, id: steady, at: 1 }]',
      '[16, 32, 64]',
    );
    const first = regimes('run', path, '-o', dir, '-q', '-b', 'cpu');
    expect(first.signal).toBe('SIGKILL');
    expect(rowsOf(out).map(([key]) => key)).toEqual(['n=16|crash#0', 'n=16|steady']);
    expect(JSON.parse(readFileSync(`${out}.inflight`, 'utf8'))).toMatchObject({
      cellKey: 'n=32',
      learners: ['crash#0'],
    });

    const resumeOptions = { out, baseDir: dir, backend: 'cpu' };
    const log = silent();
    const resumed = await runExperiment(loadSpecFile(path), { ...resumeOptions, log });
    expect(log.warnings.join('\n')).toMatch(
      /died while fitting n=32\|crash#0 .* rerunning it first, alone in a worker process/,
    );
    expect([resumed.ran, resumed.skipped, resumed.failed]).toEqual([4, 2, 1]);
    const rows = rowsOf(out);
    expect(rows.map(([key, status]) => `${key} ${status}`).sort()).toEqual(
      [
        'n=16|crash#0 ok',
        'n=16|steady ok',
        'n=32|crash#0 error',
        'n=32|steady ok',
        'n=64|crash#0 ok',
        'n=64|steady ok',
      ].sort(),
    );
    expect(rows.find(([key]) => key === 'n=32|crash#0')![2]).toMatch(
      /^the worker process running learner crash#0 died \(signal SIGKILL: out of memory\?\); resume does not rerun this fit \(.*--retry-crashed/,
    );
    expect(existsSync(`${out}.inflight`)).toBe(false);

    const again = await runExperiment(loadSpecFile(path), { ...resumeOptions, log: silent() });
    expect([again.ran, again.skipped, again.failed]).toEqual([0, 6, 1]);
  }, 300_000);
});

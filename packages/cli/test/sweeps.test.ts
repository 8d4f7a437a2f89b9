// Sweeps at scale through the built command: kill and resume, worker processes, shards and merge,
// dry runs and the JSON Schema (npm test builds first).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ResultRow, readResults } from '@regimes/core';
import { specJsonSchema } from '../src/kinds/schema.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../src/defaults.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const bin = join(root, 'packages/cli/bin/regimes.js');
const env = { ...process.env, REGIMES_BACKEND: '' };

function regimes(...args: string[]) {
  return regimesWith({}, ...args);
}

function regimesWith(more: NodeJS.ProcessEnv, ...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...env, ...more },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const tmp = () => mkdtempSync(join(tmpdir(), 'regimes-sweeps-'));

// 12 cells of a few tenths of a second each, two learners per cell
const spec = `name: sweep
target: { kind: hermite, d: 8, preset: sum, degree: 2 }
learners:
  - { kind: rf, width: 256, bias: 0.5, ridge: 1.0e-4 }
  - { kind: ntk, ridge: 1.0e-3 }
sweep:
  seed: { range: [0, 3] }
  n: { log2: [7, 10] }
test: { n: 512 }
`;

function specPath(): string {
  const path = join(tmp(), 'sweep.yaml');
  writeFileSync(path, spec);
  return path;
}

/** What must not depend on how the sweep was run: key, metrics, diagnostics, status, learner and cell. */
const science = (rows: readonly ResultRow[]) =>
  rows
    .map((r) => JSON.stringify([r.key, r.metrics, r.diagnostics, r.status, r.learner, r.cell, r.specHash]))
    .sort();

const rowsOf = (file: string) => readResults(file).rows;

// the uninterrupted, unsharded, one-process run every other run is compared with
let referenceRows: ResultRow[] | undefined;
function reference(): ResultRow[] {
  if (!referenceRows) {
    const out = tmp();
    expect(regimes('run', specPath(), '-o', out, '-q').code).toBe(0);
    referenceRows = rowsOf(join(out, 'results.jsonl'));
  }
  return referenceRows;
}

describe('kill and resume', () => {
  it('a sweep killed by SIGKILL mid-way and resumed gives the rows of an uninterrupted run, once each', async () => {
    const path = specPath();
    const expected = reference();
    expect(expected.length).toBe(24);

    const out = tmp();
    const file = join(out, 'results.jsonl');
    const child: ChildProcess = spawn(process.execPath, [bin, 'run', path, '-o', out, '-q'], {
      cwd: root,
      env,
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // kill it once some rows, but not all, are written
    for (;;) {
      await new Promise((r) => setTimeout(r, 15));
      const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').length - 1 : 0;
      if (lines >= 6) break;
    }
    child.kill('SIGKILL');
    await exited;
    const partial = rowsOf(file);
    expect(partial.length).toBeGreaterThanOrEqual(6);
    expect(partial.length).toBeLessThan(24);

    const resumed = regimes('run', path, '-o', out, '-q');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(
      new RegExp(`\\(${24 - partial.length} run now, ${partial.length} resumed, 0 failed\\)`),
    );
    const rows = rowsOf(file);
    expect(new Set(rows.map((r) => r.key)).size).toBe(rows.length); // no duplicates
    expect(science(rows)).toEqual(science(expected));
  }, 300_000);
});

describe('--jobs and --shard', () => {
  it('--jobs auto runs one process per core (these 12 cells at most) with the rows of --jobs 1; a bad value says what to give', () => {
    const path = specPath();
    const out = tmp();
    const r = regimesWith({ REGIMES_DEBUG: '1' }, 'run', path, '-o', out, '-q', '-j', 'auto');
    expect(r.code).toBe(0);
    const workers = [...r.stderr.matchAll(/debug: worker \d+: ready after/g)].length;
    expect(workers).toBe(Math.min(availableParallelism(), 12) - 1);
    expect(science(rowsOf(join(out, 'results.jsonl')))).toEqual(science(reference()));
    for (const bad of ['0', 'two', '1.5']) {
      const refused = regimes('run', path, '-o', tmp(), '-j', bad);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('give a positive integer, or auto for one per core');
    }
  }, 300_000);

  it('--jobs 2 gives the rows of --jobs 1; shards 1/3..3/3 merged give the unsharded run', () => {
    const path = specPath();
    const two = tmp();
    const r2 = regimesWith({ REGIMES_DEBUG: '1' }, 'run', path, '-o', two, '-q', '--jobs', '2');
    expect(r2.code).toBe(0);
    // the command ran cells itself beside its one worker (which it forked first thing); all 12 ran once
    const own = Number(
      /debug: this process: first cell after [\d.]+ s \([\d.]+ CPU s\); (\d+) cell/.exec(r2.stderr)?.[1],
    );
    const theirs = [
      ...r2.stderr.matchAll(/debug: worker \d+: ready after [\d.]+ s \([\d.]+ CPU s\); (\d+) cell/g),
    ];
    expect(own).toBeGreaterThanOrEqual(1);
    expect(theirs.length).toBe(1);
    expect(own + Number(theirs[0]![1])).toBe(12);
    const expected = reference();
    expect(science(rowsOf(join(two, 'results.jsonl')))).toEqual(science(expected));

    const sharded = tmp();
    const cellsPerShard: number[] = [];
    for (const i of [1, 2, 3]) {
      const r = regimes('run', path, '-o', sharded, '-q', '--shard', `${i}/3`);
      expect(r.code).toBe(0);
      cellsPerShard.push(Number(/: (\d+) of 12 cells/.exec(r.stdout)?.[1]));
    }
    expect(cellsPerShard).toEqual([4, 4, 4]);
    // merging two of three shards: the missing cells are listed and the exit code says so
    const partial = regimes(
      'merge',
      join(sharded, 'results.shard-1-of-3.jsonl'),
      join(sharded, 'results.shard-3-of-3.jsonl'),
      '-o',
      join(sharded, 'partial.jsonl'),
      '--spec',
      path,
    );
    expect(partial.code).toBe(3);
    expect(partial.stdout).toContain('8 of 24 (cell, learner) rows are missing');
    expect(partial.stdout).toContain('seed=0,n=256|rf#0'); // cell 1, in shard 2
    const merged = regimes('merge', sharded);
    expect(merged.code).toBe(0);
    expect(merged.stdout).toContain('merged 24 rows from 3 file(s)');
    expect(merged.stdout).toContain('every (cell, learner) row of the spec is present');
    const rows = rowsOf(join(sharded, 'results.jsonl'));
    expect(science(rows)).toEqual(science(expected));
    // in plan order
    expect(rows.map((r) => r.key)).toEqual(expected.map((r) => r.key));

    // a file of another spec is refused, and nothing is written
    const other = tmp();
    const otherSpec = join(other, 'other.yaml');
    writeFileSync(otherSpec, spec.replace('d: 8', 'd: 6').replace('{ log2: [8, 11] }', '[64]'));
    expect(regimes('run', otherSpec, '-o', other, '-q').code).toBe(0);
    const mixed = regimes(
      'merge',
      join(sharded, 'results.shard-1-of-3.jsonl'),
      join(other, 'results.jsonl'),
      '-o',
      join(other, 'mixed.jsonl'),
    );
    expect(mixed.code).toBe(1);
    expect(mixed.stderr).toMatch(/rows of another spec: .*nothing was written/);
    expect(existsSync(join(other, 'mixed.jsonl'))).toBe(false);
    // the same shard twice: duplicates are reported
    const twice = regimes(
      'merge',
      join(sharded, 'results.shard-2-of-3.jsonl'),
      join(sharded, 'results.shard-2-of-3.jsonl'),
      '-o',
      join(other, 'twice.jsonl'),
    );
    expect(twice.stdout).toContain('8 row key(s) were in more than one file');
  }, 180_000);
});

describe('a dead worker', () => {
  it('costs the row of the fit it ran, recorded as an error; the sweep goes on and the exit code says so', () => {
    const dir = tmp();
    const path = join(dir, 'crash.yaml');
    const plugin = join(root, 'packages/cli/test/fixtures/crash-plugin.js');
    writeFileSync(
      path,
      `target: { kind: hermite, d: 4, degree: 2 }
plugins: [${JSON.stringify(plugin)}]
learners: [{ kind: crash, at: 64 }, { kind: ntk }]
sweep: { n: [32, 64, 128] }
test: { n: 256 }
`,
    );
    const r = regimes('run', path, '-o', dir, '--jobs', '2');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /cell n=64: the worker process running learner crash#0 died \(signal SIGKILL: out of memory\?\)/,
    );
    const rows = rowsOf(join(dir, 'results.jsonl'));
    expect(rows.map((row) => [row.key, row.status]).sort()).toEqual(
      [
        ['n=32|crash#0', 'ok'],
        ['n=32|ntk#0', 'ok'],
        ['n=64|crash#0', 'error'],
        ['n=64|ntk#0', 'ok'], // the cell's other learner, run by a fresh worker
        ['n=128|crash#0', 'ok'],
        ['n=128|ntk#0', 'ok'],
      ].sort(),
    );
    expect(rows.find((row) => row.key === 'n=64|crash#0')!.error).toMatch(
      /^the worker process running learner crash#0 died .*; resume does not rerun this fit/,
    );
  }, 300_000);
});

describe('the spec copy', () => {
  it('is written only once the spec is valid and the results file is its own', () => {
    const dir = tmp();
    const a = join(dir, 'a.yaml');
    const b = join(dir, 'b.yaml');
    const small =
      'target: { kind: hermite, d: 4, degree: 2 }\nlearners: [{ kind: rf, width: 16 }]\nsweep: { n: [16] }\ntest: { n: 64 }\n';
    writeFileSync(a, small);
    writeFileSync(b, small.replace('width: 16', 'width: 32'));
    const out = join(dir, 'out');
    expect(regimes('run', a, '-o', out, '-q').code).toBe(0);
    const copy = readFileSync(join(out, 'spec.json'), 'utf8');
    expect(JSON.parse(copy).learners[0].width).toBe(16);
    const refused = regimes('run', b, '-o', out, '-q');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('holds rows of a different spec');
    // what changed, from the copy beside the results
    expect(refused.stderr).toContain('learners[0].width: 16 → 32');
    expect(readFileSync(join(out, 'spec.json'), 'utf8')).toBe(copy);
    // a shard of the other spec into that folder: its own file is new, but the folder's results
    // are another spec's, which its spec.json would stop describing
    const shard = regimes('run', b, '-o', out, '-q', '--shard', '1/2');
    expect(shard.code).toBe(1);
    expect(shard.stderr).toMatch(
      new RegExp(
        `${out.replaceAll('/', '\\/')} holds results of another spec: results\\.jsonl \\(spec [0-9a-f]{16}\\); this run's rows \\(spec [0-9a-f]{16}\\) and its spec\\.json would be mixed with them`,
      ),
    );
    expect(shard.stderr).toContain(`move those files out of ${out}`);
    expect(readFileSync(join(out, 'spec.json'), 'utf8')).toBe(copy);
    // a shard of the same spec is welcome there
    expect(regimes('run', a, '-o', out, '-q', '--shard', '1/2').code).toBe(0);
    // --force empties only its own file, and only once the folder's other files are its spec's: the
    // refusal leaves results.jsonl as it was
    const rows = readFileSync(join(out, 'results.jsonl'), 'utf8');
    const forced = regimes('run', b, '-o', out, '-q', '--force');
    expect(forced.code).toBe(1);
    expect(forced.stderr).toMatch(/holds results of another spec: results\.shard-1-of-2\.jsonl/);
    expect(readFileSync(join(out, 'results.jsonl'), 'utf8')).toBe(rows);
    // a shard of spec a that has written no row yet (on its first fit): its spec.json says whose it is
    const racing = join(dir, 'racing');
    expect(regimes('run', a, '-o', racing, '-q', '--shard', '1/2').code).toBe(0);
    writeFileSync(join(racing, 'results.shard-1-of-2.jsonl'), '');
    const second = regimes('run', b, '-o', racing, '-q', '--shard', '2/2');
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(
      /holds results of another spec: spec\.json \(spec [0-9a-f]{16}\) beside results\.shard-1-of-2\.jsonl, which another run writes/,
    );
    expect(JSON.parse(readFileSync(join(racing, 'spec.json'), 'utf8')).learners[0].width).toBe(16);
    // the same spec's second shard is welcome
    expect(regimes('run', a, '-o', racing, '-q', '--shard', '2/2').code).toBe(0);
  }, 300_000);
});

// bad-input: 2
describe('growing a sweep', () => {
  it('reuses every row of the cells it had and runs only the new ones; another backend reruns', () => {
    const dir = tmp();
    const spec = (sweep: string) =>
      `name: grow\ntarget: { kind: hermite, d: 4, degree: 2 }\nlearners: [{ kind: rf, width: 16 }]\nsweep: ${sweep}\ntest: { n: 64 }\n`;
    const path = join(dir, 'grow.yaml');
    const out = join(dir, 'out');
    writeFileSync(path, spec('{ n: [16], seed: [0] }'));
    const first = regimes('run', path, '-o', out, '-q');
    expect(first.code).toBe(0);
    const file = join(out, 'results.jsonl');
    const before = readFileSync(file, 'utf8');
    const [old] = rowsOf(file);
    // one more n and one more seed: the hash stays, the old row is resumed, three cells run
    writeFileSync(path, spec('{ n: [16, 32], seed: [0, 1] }'));
    const grown = regimes('run', path, '-o', out, '-q');
    expect(grown.code).toBe(0);
    expect(grown.stdout).toContain('4 rows in');
    expect(grown.stdout).toContain('(3 run now, 1 resumed, 0 failed)');
    expect(readFileSync(file, 'utf8').startsWith(before)).toBe(true);
    const rows = rowsOf(file);
    expect(rows.map((r) => r.key).sort()).toEqual(
      ['n=16,seed=0|rf#0', 'n=16,seed=1|rf#0', 'n=32,seed=0|rf#0', 'n=32,seed=1|rf#0'].sort(),
    );
    expect(new Set(rows.map((r) => r.specHash))).toEqual(new Set([old!.specHash]));
    // the backend is part of a row's identity: on another backend every fit is rerun, with a warning
    const other = old!.backend === 'cpu' ? 'wasm' : 'cpu';
    const moved = regimes('run', path, '-o', out, '-q', '-b', other);
    expect(moved.code).toBe(0);
    expect(moved.stderr).toContain(
      `4 fit(s) in the results were computed on backend ${old!.backend}: rerun on ${other}`,
    );
    expect(moved.stdout).toContain(`(4 run now, 0 resumed, 0 failed) on backend ${other}`);
  }, 300_000);
});

describe('dry run and schema', () => {
  it('--dry-run lists the cells and estimates the work, running nothing', () => {
    const path = specPath();
    const out = tmp();
    const r = regimes('run', path, '--dry-run', '-o', out, '--shard', '2/3');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('12 cells; shard 2/3 takes 4, 8 (cell, learner) rows');
    expect(r.stdout).toContain('seed=0,n=256  (rf#0, ntk#0)');
    expect(r.stdout).toMatch(/rf#0\s+4\s+[\d.]+ GFLOP\s+(< 1 s|[\d.]+ (s|min|h))\s+\d+ MiB/);
    // seconds = GFLOP ÷ the backend's GEMM rate measured by the dry run (both printed)
    const all = /all: ([\d.]+) GFLOP; (< 1 s|≈ ([\d.]+) s) on (\w+) at its measured ([\d.]+) GFLOP\/s/.exec(
      r.stdout,
    );
    expect(all, r.stdout).not.toBeNull();
    const [, total, , secs, , rate] = all!;
    if (secs) expect(Number(secs)).toBeCloseTo(Number(total) / Number(rate), -Math.log10(Number(secs) / 10));
    else expect(Number(total) / Number(rate)).toBeLessThan(1.0001);
    expect(existsSync(join(out, 'results.jsonl'))).toBe(false);
  });

  it('the JSON Schema the build writes is a fresh generation, accepts every example and rejects bad specs', () => {
    const schema = specJsonSchema(createRegistry());
    // written by `npm run build` (scripts/write-schema.mjs) from the built CLI; not committed
    const built = join(root, 'packages/cli/schema/spec.schema.json');
    expect(existsSync(built), `${built} is missing: run npm run build`).toBe(true);
    const shipped = JSON.parse(readFileSync(built, 'utf8'));
    expect(shipped, 'stale: run npm run build, which writes it after tsc').toEqual(schema);
    expect(JSON.parse(regimes('schema').stdout)).toEqual(schema);
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    const validate = ajv.compile(schema);
    const examples = [
      ...readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.yaml')),
      ...readdirSync(join(root, 'examples/papers'))
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => `papers/${f}`),
    ].map((f) => f.replace(/\.yaml$/, ''));
    expect(examples.length).toBeGreaterThanOrEqual(7);
    for (const example of examples) {
      const doc = YAML.parse(readFileSync(join(root, `examples/${example}.yaml`), 'utf8'));
      expect(validate(doc), `${example}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
    expect(validate(YAML.parse(spec))).toBe(true);
    // a root key x-… holds what anchors reuse (docs/spec.md), as regimes reads it; another is refused
    expect(validate({ ...YAML.parse(spec), 'x-base': { kind: 'rf', width: 64 } })).toBe(true);
    expect(validate({ ...YAML.parse(spec), base: { kind: 'rf', width: 64 } })).toBe(false);
    const bad = (patch: (s: Record<string, unknown>) => void) => {
      const s = YAML.parse(spec);
      patch(s);
      return validate(s);
    };
    expect(bad((s) => ((s.learners as Record<string, unknown>[])[0]!.widht = 3))).toBe(false); // misspelt option
    expect(bad((s) => ((s.target as Record<string, unknown>).kind = 'hermit'))).toBe(false);
    expect(bad((s) => ((s.sweep as Record<string, unknown>).n = { log: [1, 2] }))).toBe(false);
    expect(bad((s) => (s.backend = 'gpu'))).toBe(false);
  });
});

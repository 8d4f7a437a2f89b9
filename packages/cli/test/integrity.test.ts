// Results integrity through the built command (npm test builds first): a property test that
// interleaves SIGKILLs of `regimes run`, resumes and damage to the results file (a line deleted, the
// file truncated, a digit edited) and checks the end against an uninterrupted run; then what merge,
// plot and report (`loadRows`) make of cut, edited, foreign and unchecked lines (issue 14).
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  completeRows,
  formatRow,
  loadSpecFile,
  planExperiment,
  type ResultRow,
  readResults,
} from '@regimes/core';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../src/defaults.js';
import { loadRows } from '../src/results/files.js';
import { mergeResults } from '../src/results/merge.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const bin = join(root, 'packages/cli/bin/regimes.js');
const env = { ...process.env, REGIMES_BACKEND: '' };
const tmp = () => mkdtempSync(join(tmpdir(), 'regimes-integrity-'));

// 4 cells × (a λ list of 3 rows + one ntk row) = 16 rows in 8 fits, each fit a few milliseconds
const spec = `name: integrity
backend: cpu
target: { kind: hermite, d: 3, degree: 2 }
learners:
  - { kind: rf, width: 8, ridge: [0.001, 0.1, 10] }
  - { kind: ntk }
sweep: { n: [8, 16], seed: [0, 1] }
test: { n: 64 }
`;
const specPath = join(tmp(), 'integrity.yaml');
writeFileSync(specPath, spec);

const runArgs = (out: string) => [bin, 'run', specPath, '-o', out, '-q'];
function regimes(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A row without what depends on when it ran: its timing and times. */
const science = ({ timing: _t, startedAt: _s, finishedAt: _f, ...rest }: ResultRow) => rest;
const byKey = (rows: readonly ResultRow[]) =>
  new Map(rows.map((r) => [r.key, JSON.stringify(science(r))] as const));

/** mulberry32: the test's own random choices (where to kill, what to damage), from a fixed seed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '');
const lineCount = (text: string) => text.split('\n').length - 1;

/**
 * Start `regimes run` and SIGKILL it once `rows` more lines are in the file, or after `ms`
 * milliseconds (a kill during start-up, the lock or the first fits); it may finish first.
 */
async function killedRun(out: string, when: { rows: number } | { ms: number }): Promise<string> {
  const file = join(out, 'results.jsonl');
  const start = lineCount(read(file));
  const began = Date.now();
  const child = spawn(process.execPath, runArgs(out), { cwd: root, env, stdio: 'ignore' });
  let exit: string | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = signal ?? `exit ${code}`;
      resolve();
    }),
  );
  while (exit === undefined) {
    await new Promise((r) => setTimeout(r, 5));
    const due = 'rows' in when ? lineCount(read(file)) - start >= when.rows : Date.now() - began >= when.ms;
    if (due && exit === undefined) child.kill('SIGKILL');
  }
  await exited;
  return `${exit} after ${lineCount(read(file)) - start} new line(s)`;
}

/** Damage the file as a crash, a disk or a hand could: delete a line, truncate, edit a digit. */
function damage(file: string, rand: () => number): string {
  const text = read(file);
  if (!text) return 'nothing to damage';
  const lines = text.split('\n');
  const body = text.endsWith('\n') ? lines.length - 1 : lines.length;
  const pick = Math.floor(rand() * 4);
  if (pick === 0) {
    const i = Math.floor(rand() * body);
    lines.splice(i, 1);
    writeFileSync(file, lines.join('\n'));
    return `deleted line ${i + 1}`;
  }
  if (pick === 1) {
    const at = Math.floor(rand() * text.length);
    writeFileSync(file, text.slice(0, at));
    return `truncated at byte ${at} of ${text.length}`;
  }
  if (pick === 2) {
    const i = Math.floor(rand() * body);
    const digits = [...lines[i]!.matchAll(/\d/g)].map((m) => m.index);
    if (!digits.length) return 'no digit to edit';
    const at = digits[Math.floor(rand() * digits.length)]!;
    const d = (Number(lines[i]![at]) + 1 + Math.floor(rand() * 9)) % 10;
    lines[i] = lines[i]!.slice(0, at) + String(d) + lines[i]!.slice(at + 1);
    writeFileSync(file, lines.join('\n'));
    return `edited a digit of line ${i + 1}`;
  }
  return 'left as it was';
}

let referenceFile: string | undefined;
/** The uninterrupted run every other is compared with. */
function reference(): string {
  if (!referenceFile) {
    const out = tmp();
    const r = spawnSync(process.execPath, runArgs(out), { cwd: root, env, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    referenceFile = join(out, 'results.jsonl');
  }
  return referenceFile;
}

describe('kills, resumes and damage: the end equals an uninterrupted run', () => {
  // bad-input: 1
  it('6 rounds of a kill and a random damage, then a resume: same keys, identical values', async () => {
    const expected = byKey(readResults(reference()).rows);
    expect(expected.size).toBe(16);
    const out = tmp();
    const file = join(out, 'results.jsonl');
    const rand = mulberry32(14);
    const history: string[] = [];
    for (let round = 0; round < 6; round++) {
      const before = read(file);
      const when = rand() < 0.6 ? { rows: 1 + Math.floor(rand() * 10) } : { ms: Math.floor(rand() * 3000) };
      const outcome = await killedRun(out, when);
      const after = read(file);
      // append-only: what was there (damaged or not) is still there, byte for byte
      expect(after.startsWith(before)).toBe(true);
      // every intact row ever written holds the values of the uninterrupted run
      for (const row of readResults(file).rows)
        expect(JSON.stringify(science(row))).toBe(expected.get(row.key));
      history.push(`kill at ${JSON.stringify(when)}: ${outcome}; ${damage(file, rand)}`);
    }
    const last = regimes('run', specPath, '-o', out, '-q');
    history.push(`resume: ${last.stdout.trim().split('\n').pop()}`);
    console.log(history.join('\n'));
    expect(last.code, last.stderr).toBe(0);
    expect(existsSync(`${file}.lock`)).toBe(false);
    const { rows, incomplete } = completeRows(readResults(file).rows);
    expect(incomplete).toEqual([]);
    expect(byKey(rows)).toEqual(expected);
    expect(rows.length).toBe(16); // each key once
  });
});

describe('merge, plot and report read framed rows', () => {
  /** A copy of the reference's lines, for damage. */
  const copy = () => {
    const file = join(tmp(), 'results.jsonl');
    copyFileSync(reference(), file);
    return { file, lines: read(file).trimEnd().split('\n') };
  };
  const lineOf = (lines: string[], key: string) => lines.findIndex((l) => l.includes(`"key":"${key}"`));

  // bad-input: 1
  it('plot and report leave out a cut line and an edited row with a warning that names them and what to do', () => {
    const { file, lines } = copy();
    const rf = lineOf(lines, 'n=8,seed=1|rf#0:ridge=0.1');
    const ntk = lineOf(lines, 'n=16,seed=0|ntk#0');
    lines[rf] = lines[rf]!.replace('"status":"ok"', '"status":"error"');
    lines[ntk] = lines[ntk]!.slice(0, 300);
    writeFileSync(file, `${lines.join('\n')}\n`);
    const warnings: string[] = [];
    const rows = loadRows(file, (m) => warnings.push(m));
    // the edited row's fit (3 rows of a λ list) and the cut row are left out: 16 - 3 - 1
    expect(rows.length).toBe(12);
    expect(rows.some((r) => r.key.startsWith('n=8,seed=1|rf#0') || r.key === 'n=16,seed=0|ntk#0')).toBe(
      false,
    );
    expect(warnings[0]).toBe(
      `${file}: 2 line(s) are not intact rows (line ${rf + 1}: checksum does not match (changed after it was written); line ${ntk + 1}: not JSON (cut short by a kill or a full disk, or damaged)); left out. Their fits are drawn from later intact rows if a rerun wrote them; otherwise rerun the spec into this folder (\`regimes run <its spec> -o ${join(file, '..')}\` resumes, recomputing exactly those)`,
    );
    expect(warnings[1]).toMatch(/1 fit\(s\) have rows missing \(n=8,seed=1\|rf#0: 2 of 3 rows\), left out/);
    expect(warnings.length).toBe(2);
  });

  // bad-input: 2
  it('plot and report refuse a file with an intact row of another spec, naming its line', () => {
    const { file, lines } = copy();
    const foreign = { ...readResults(file).rows[5]!, specHash: 'fedcba9876543210' };
    writeFileSync(
      file,
      `${lines.slice(0, 9).join('\n')}\n${formatRow(foreign)}${lines.slice(9).join('\n')}\n`,
    );
    expect(() => loadRows(file, () => {})).toThrow(
      new RegExp(
        `holds rows of 2 different specs \\(hash [0-9a-f]{16}: 16 row\\(s\\), hash fedcba9876543210: 1 row\\(s\\)\\), which would be drawn as one; the rows not of hash [0-9a-f]{16} are on line\\(s\\) 10$`,
      ),
    );
  });

  // bad-input: 1
  it('plot and report read rows written before checksums, with one warning', () => {
    const { file, lines } = copy();
    writeFileSync(file, `${lines.map((l) => l.replace(/,"check":"[0-9a-f]{16}"\}$/, '}')).join('\n')}\n`);
    const warnings: string[] = [];
    expect(loadRows(file, (m) => warnings.push(m)).length).toBe(16);
    expect(warnings).toEqual([
      `${file}: 16 row(s) carry no checksum (line(s) 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, …), read unchecked: rows written before rows had one`,
    ]);
  });

  // bad-input: 1
  it("merge into a folder keeps the rows already in its results.jsonl (an unsharded run's)", () => {
    const { lines } = copy();
    const dir = tmp();
    // the whole run in results.jsonl, then one shard rerun beside it: merging lost the other rows
    writeFileSync(join(dir, 'results.jsonl'), `${lines.join('\n')}\n`);
    writeFileSync(join(dir, 'results.shard-1-of-2.jsonl'), `${lines.slice(0, 8).join('\n')}\n`);
    const merged = regimes('merge', dir, '--spec', specPath);
    expect(merged.code, merged.stderr).toBe(0);
    expect(merged.stdout).toContain(`and the rows already in ${join(dir, 'results.jsonl')}`);
    expect(merged.stdout).not.toContain('more than one file');
    const out = readResults(join(dir, 'results.jsonl'));
    expect(byKey(out.rows)).toEqual(byKey(readResults(reference()).rows));
    // rows of another spec there (an earlier merge, or a whole run of another spec): kept, nothing
    // written, unless --force
    const rows = readResults(reference()).rows;
    const foreign = formatRow({ ...rows[0]!, specHash: 'fedcba9876543210' });
    writeFileSync(join(dir, 'results.jsonl'), foreign);
    writeFileSync(join(dir, 'results.shard-1-of-2.jsonl'), `${lines.join('\n')}\n`);
    const refused = regimes('merge', dir, '--spec', specPath);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `${join(dir, 'results.jsonl')} holds 1 row(s) of spec fedcba9876543210, not of the spec of the files merged (${rows[0]!.specHash}); nothing was written`,
    );
    expect(refused.stderr).toContain('or pass --force to replace its rows');
    expect(read(join(dir, 'results.jsonl'))).toBe(foreign);
    const forced = regimes('merge', dir, '--spec', specPath, '--force');
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toContain(
      'held 1 row(s) of spec fedcba9876543210: replaced by this merge (--force)',
    );
    expect(byKey(readResults(join(dir, 'results.jsonl')).rows)).toEqual(byKey(rows));
    // with no spec to go by, the spec the shards share stands for it: the same refusal and --force
    writeFileSync(join(dir, 'results.jsonl'), foreign);
    const noSpec = regimes('merge', dir);
    expect(noSpec.code).toBe(1);
    expect(noSpec.stderr).toContain(
      `holds 1 row(s) of spec fedcba9876543210, not of the spec of the files merged (${rows[0]!.specHash})`,
    );
    expect(read(join(dir, 'results.jsonl'))).toBe(foreign);
    expect(regimes('merge', dir, '--force').code).toBe(0);
    expect(byKey(readResults(join(dir, 'results.jsonl')).rows)).toEqual(byKey(rows));
    // a run still writing there holds the lock: merge waits for nothing and writes nothing
    const before = read(join(dir, 'results.jsonl'));
    const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      writeFileSync(
        join(dir, 'results.jsonl.lock'),
        JSON.stringify({ pid: holder.pid, host: hostname(), since: 't0' }),
      );
      const locked = regimes('merge', dir, '--spec', specPath);
      expect(locked.code).toBe(1);
      expect(locked.stderr).toContain(
        `${join(dir, 'results.jsonl')} is being written by another regimes run (pid ${holder.pid} on ${hostname()}, since t0)`,
      );
      expect(read(join(dir, 'results.jsonl'))).toBe(before);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  // bad-input: 1
  it("merge keeps a fit's complete attempt whole over a newer damaged one in another file", () => {
    const { lines } = copy();
    const dir = tmp();
    const rows = readResults(reference()).rows;
    // shard 1 run twice: the older copy intact, the newer one (a later attempt of every fit) with
    // one row of a λ list edited; merging row by row mixed the two attempts and lost the fit
    const first = rows.slice(0, 8);
    const later = first.map((r) => ({
      ...r,
      startedAt: `${r.startedAt!.slice(0, 4)}9${r.startedAt!.slice(5)}`,
      finishedAt: `${r.finishedAt.slice(0, 4)}9${r.finishedAt.slice(5)}`,
    }));
    const edited = formatRow(later[1]!).replace(
      /"risk":(\d)/,
      (_, d: string) => `"risk":${(Number(d) + 1) % 10}`,
    );
    writeFileSync(join(dir, 'old.jsonl'), first.map(formatRow).join(''));
    writeFileSync(join(dir, 'new.jsonl'), later.map((r, i) => (i === 1 ? edited : formatRow(r))).join(''));
    writeFileSync(join(dir, 'rest.jsonl'), `${lines.slice(8).join('\n')}\n`);
    const plan = planExperiment(loadSpecFile(specPath), createRegistry(), specPath);
    const report = mergeResults(
      [join(dir, 'old.jsonl'), join(dir, 'new.jsonl'), join(dir, 'rest.jsonl')],
      plan,
    );
    expect(report.missing).toEqual([]);
    expect(report.rows.length).toBe(16);
    const fit = `${rows[1]!.cellKey}|${rows[1]!.learner.id}`;
    // that fit's rows all from the old file's attempt; the others from the newer one
    const standing = report.rows.filter((r) => `${r.cellKey}|${r.learner.id}` === fit);
    expect(new Set(standing.map((r) => r.startedAt))).toEqual(new Set([rows[1]!.startedAt]));
    const original = new Map(rows.map((r) => [r.key, r.startedAt]));
    expect(report.rows.filter((r) => r.startedAt !== original.get(r.key)).length).toBe(8 - standing.length);
  });

  // bad-input: 1
  it('merge skips damaged lines and lists their fits as missing, refuses a foreign row by line, writes framed rows', () => {
    const plan = planExperiment(loadSpecFile(specPath), createRegistry(), specPath);
    const { lines } = copy();
    const dir = tmp();
    const [a, b] = [join(dir, 'results.shard-1-of-2.jsonl'), join(dir, 'results.shard-2-of-2.jsonl')];
    const edited = lines[3]!.replace(/"risk":(\d)/, (_, d: string) => `"risk":${(Number(d) + 1) % 10}`);
    expect(edited).not.toBe(lines[3]);
    const rows = readResults(reference()).rows;
    writeFileSync(a, `${lines.slice(0, 3).join('\n')}\n${edited}\n${lines.slice(4, 8).join('\n')}\n`);
    writeFileSync(b, `${lines.slice(8).join('\n')}\n`);
    const report = mergeResults([a, b], plan);
    expect(report.inputs.map((i) => i.problems)).toEqual([[{ line: 4, reason: 'checksum' }], []]);
    expect(report.missing).toEqual([`${rows[3]!.cellKey}|${rows[3]!.learner.id}`]);
    expect(report.rows.length).toBe(15);
    // an intact row of another spec: nothing merged, the file and line named
    appendFileSync(b, formatRow({ ...rows[0]!, specHash: 'fedcba9876543210' }));
    const refused = mergeResults([a, b], plan);
    expect(refused.foreign).toEqual([{ path: b, hash: 'fedcba9876543210', rows: 1, lines: [9] }]);
    expect(refused.rows).toEqual([]);
    // the command: framed rows out, the damaged line named on stderr
    writeFileSync(b, `${lines.slice(8).join('\n')}\n`);
    const merged = regimes('merge', dir, '--spec', specPath);
    expect(merged.code).toBe(3); // a fit is missing
    expect(merged.stderr).toContain(
      `${a}: 1 line(s) are not intact rows (line 4: checksum does not match (changed after it was written)); skipped`,
    );
    const out = readResults(join(dir, 'results.jsonl'));
    expect([out.rows.length, out.problems, out.unchecked]).toEqual([15, [], []]);
  });
});

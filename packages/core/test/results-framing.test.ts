// Rows framed by a checksum: what a reader sees of a cut, an edit, a foreign row and a row from
// before checksums, and what resume does with each (issue 14, class 2: foreign and damaged lines).
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Registry } from '../src/registry/registry.js';
import {
  badLinesText,
  completeRows,
  formatRow,
  type ResultRow,
  readResults,
  rowChecksum,
  uncheckedText,
} from '../src/engine/results.js';
import { runExperiment } from '../src/engine/runner.js';
import type { SpecInput } from '../src/spec/spec.js';
import { silentLogger } from '../src/testing/index.js';
import { testPlugin } from './helpers.js';

const spec: SpecInput = {
  name: 'framing-test',
  backend: 'cpu',
  target: { kind: 'linear', d: 3, noise: 0.5 },
  learners: [
    { kind: 'ridge', jitter: 0.1 },
    { kind: 'ridge', id: 'strong', lambda: 10 },
  ],
  metrics: ['mse'],
  sweep: { n: [8, 16], seed: [0, 1] },
  test: { n: 64 },
};

const tmp = () => mkdtempSync(join(tmpdir(), 'regimes-framing-'));
const run = (out: string, warnings: string[] = []) =>
  runExperiment(spec, {
    registry: Registry.with(testPlugin),
    out,
    log: { ...silentLogger, warn: (m) => warnings.push(m) },
  });
const values = (rows: ResultRow[]) =>
  rows
    .map(({ timing: _t, finishedAt: _f, startedAt: _s, ...rest }) => rest)
    .sort((a, b) => a.key.localeCompare(b.key));
const linesOf = (file: string) => readFileSync(file, 'utf8').trimEnd().split('\n');

/** A row with the fields every reader relies on, and some awkward values. */
const handRow = {
  spec: 'hand',
  specHash: '0123456789abcdef',
  key: 'n=8,seed=0|rf#0:ridge=0.25',
  cellKey: 'n=8,seed=0',
  variant: 'ridge=0.25',
  cell: { n: 8, seed: 0 },
  learner: { id: 'rf#0', kind: 'rf', width: 512, ridge: [0.25, 4], note: 'λ "quoted" \\ tab\t' },
  target: { kind: 'hermite', d: 16 },
  metrics: { risk: 0.125, 'risk-se': 0.5 },
  timing: { fit_s: 1.5, eval_s: 0.25 },
  backend: 'cpu',
  status: 'ok',
  seed: 0,
  versions: { '@regimes/core': '0.1.0' },
  finishedAt: '2026-01-01T00:00:00.000Z',
} as unknown as ResultRow;

describe('the row checksum', () => {
  it('is the first 16 hex digits of SHA-256 over the canonical JSON, as documented (checked with Python)', () => {
    const line = formatRow(handRow);
    expect(line.endsWith(`,"check":"${rowChecksum(handRow)}"}\n`)).toBe(true);
    // an independent implementation of docs/architecture.md's definition
    const script = [
      'import hashlib, json, sys',
      'row = json.loads(sys.stdin.read())',
      'check = row.pop("check")',
      'text = json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False)',
      'print(check, hashlib.sha256(text.encode("utf-8")).hexdigest()[:16])',
    ].join('\n');
    const py = spawnSync('python3', ['-c', script], { input: line, encoding: 'utf8' });
    if (py.error) return; // no python3 here: the definition is checked where it is installed
    const [written, expected] = py.stdout.trim().split(' ');
    expect(written).toMatch(/^[0-9a-f]{16}$/);
    expect(written).toBe(expected);
  });

  it('does not depend on the order of fields (a tool that sorts keys keeps rows valid)', () => {
    const reorder = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(reorder)
        : typeof v === 'object' && v !== null
          ? Object.fromEntries(
              Object.entries(v)
                .reverse()
                .map(([k, x]) => [k, reorder(x)]),
            )
          : v;
    const file = join(tmp(), 'results.jsonl');
    const reversed = JSON.stringify(reorder(JSON.parse(formatRow(handRow))));
    expect(reversed.startsWith('{"check":')).toBe(true);
    writeFileSync(file, `${reversed}\n`);
    const read = readResults(file);
    expect(read.problems).toEqual([]);
    expect(read.rows).toEqual([handRow]);
  });

  // bad-input: 1
  it('detects every cut of a line, and every one-character change but those that leave the content as written', () => {
    const line = formatRow(handRow).trimEnd();
    const file = join(tmp(), 'results.jsonl');
    // every proper prefix, one per line: what a kill at each byte leaves
    const cuts = Array.from({ length: line.length - 1 }, (_, k) => line.slice(0, k + 1));
    writeFileSync(file, `${cuts.join('\n')}\n`);
    const cutRead = readResults(file);
    expect(cutRead.rows).toEqual([]);
    expect(cutRead.problems.length).toBe(cuts.length);
    // every position changed to another character (a digit to the next digit, else to 'x' or 'y')
    const swap = (c: string) => (/\d/.test(c) ? String((Number(c) + 1) % 10) : c === 'x' ? 'y' : 'x');
    const edits = [...line].map((c, i) => line.slice(0, i) + swap(c) + line.slice(i + 1));
    writeFileSync(file, `${line}\n${edits.join('\n')}\n`);
    const editRead = readResults(file);
    // inside strings and numbers the JSON stays valid, and only the checksum tells
    expect(editRead.problems.filter((p) => p.reason === 'checksum').length).toBeGreaterThan(line.length / 2);
    // what is still read as a row: the original, and the 5 edits of the name `check` itself, which
    // leave the content as written; they are listed as unchecked rows after a checked one
    expect(editRead.rows.length).toBe(6);
    const content = (r: object) => {
      const { xheck: _a, cxeck: _b, chxck: _c, chexk: _d, checx: _e, ...rest } = r as Record<string, unknown>;
      return rest;
    };
    for (const r of editRead.rows) expect(content(r)).toEqual(handRow);
    expect(editRead.uncheckedAfter).toBe(5);
    expect(editRead.problems.length + editRead.rows.length).toBe(edits.length + 1);
  });

  // bad-input: 1
  it('reads rows written before checksums as unchecked, and names unchecked rows among checked ones', () => {
    const file = join(tmp(), 'results.jsonl');
    const legacy = JSON.stringify(handRow);
    const framed = formatRow({ ...handRow, key: 'n=8,seed=0|rf#0:ridge=4', variant: 'ridge=4' });
    writeFileSync(file, `${legacy}\n${framed}${legacy}\n`);
    const read = readResults(file);
    expect(read.rows.length).toBe(3);
    expect(read.problems).toEqual([]);
    expect([read.unchecked, read.uncheckedAfter]).toEqual([[1, 3], 1]);
    expect(uncheckedText('r.jsonl', read)).toBe(
      'r.jsonl: 2 row(s) carry no checksum (line(s) 1, 3), read unchecked: rows written before rows had one; 1 of them come after rows that have one, which no run writes: pasted in, or edited with the check removed — check them',
    );
    expect(uncheckedText('r.jsonl', readResults(join(tmp(), 'none.jsonl')))).toBeUndefined();
  });

  // bad-input: 6
  it('names each bad line with its reason', () => {
    const file = join(tmp(), 'results.jsonl');
    const line = formatRow(handRow);
    writeFileSync(file, `${line}${line.slice(0, 50)}\n{}\n${line.replace('0.125', '0.126')}`);
    const read = readResults(file);
    expect(read.problems).toEqual([
      { line: 2, reason: 'cut' },
      { line: 3, reason: 'not-a-row' },
      { line: 4, reason: 'checksum' },
    ]);
    expect(badLinesText('r.jsonl', read.problems)).toBe(
      'r.jsonl: 3 line(s) are not intact rows (line 2: not JSON (cut short by a kill or a full disk, or damaged); line 3: JSON that is not a row; line 4: checksum does not match (changed after it was written))',
    );
  });
});

describe('resume with framed rows', () => {
  // bad-input: 1
  it('writes every row with its checksum, and reruns the fit of an edited row without rewriting a byte', async () => {
    const out = join(tmp(), 'results.jsonl');
    const full = await run(out);
    const lines = linesOf(out);
    expect(lines.every((l) => /,"check":"[0-9a-f]{16}"\}$/.test(l))).toBe(true);
    expect(readResults(out).unchecked).toEqual([]);
    // a value edited by hand in row 3, its specHash in row 5 (a damaged row is not "another spec")
    lines[2] = lines[2]!.replace(/"mse":(\d)/, (_, d: string) => `"mse":${(Number(d) + 1) % 10}`);
    lines[4] = lines[4]!.replace(/"specHash":"[0-9a-f]{16}"/, '"specHash":"0000000000000000"');
    const edited = `${lines.join('\n')}\n`;
    writeFileSync(out, edited);
    const warnings: string[] = [];
    const resumed = await run(out, warnings);
    expect(warnings.join('\n')).toMatch(
      /2 line\(s\) are not intact rows \(lines 3, 5: checksum does not match \(changed after it was written\)\); their fits will be rerun/,
    );
    expect([resumed.ran, resumed.skipped]).toEqual([2, 6]);
    const after = readFileSync(out, 'utf8');
    expect(after.startsWith(edited)).toBe(true); // append-only: the bad lines stay, nothing is lost
    const read = readResults(out);
    expect(read.problems).toEqual([
      { line: 3, reason: 'checksum' },
      { line: 5, reason: 'checksum' },
    ]);
    expect(values(completeRows(read.rows).rows)).toEqual(values(full.rows));
    expect(values(resumed.rows)).toEqual(values(full.rows));
  });

  // bad-input: 2
  it('refuses an intact row of another spec among its rows, naming its line and hash, and leaves the file as it was', async () => {
    const out = join(tmp(), 'results.jsonl');
    await run(out);
    const { rows } = readResults(out);
    appendFileSync(out, formatRow({ ...rows[0]!, specHash: 'fedcba9876543210' }));
    const before = readFileSync(out, 'utf8');
    await expect(run(out)).rejects.toThrow(
      `${out} holds ${rows.length} row(s) of this spec (hash ${rows[0]!.specHash}) and 1 of another (hash fedcba9876543210) on line(s) ${rows.length + 1}`,
    );
    expect(readFileSync(out, 'utf8')).toBe(before);
    // a file of another spec only: what changed, or the hashes
    writeFileSync(out, formatRow({ ...rows[0]!, specHash: 'fedcba9876543210' }));
    await expect(run(out)).rejects.toThrow(
      /holds rows of a different spec \(hash fedcba9876543210, this spec is/,
    );
  });

  // bad-input: 1
  it('resumes a file written before checksums: its rows stand, new rows get one', async () => {
    const out = join(tmp(), 'results.jsonl');
    const full = await run(out);
    // the file as an older version wrote it: no check field, and its last row missing
    const legacy = linesOf(out)
      .slice(0, 7)
      .map((l) => l.replace(/,"check":"[0-9a-f]{16}"\}$/, '}'));
    writeFileSync(out, `${legacy.join('\n')}\n`);
    const resumed = await run(out);
    expect([resumed.ran, resumed.skipped]).toEqual([1, 7]);
    const read = readResults(out);
    expect([read.unchecked, read.uncheckedAfter, read.problems]).toEqual([[1, 2, 3, 4, 5, 6, 7], 0, []]);
    expect(linesOf(out)[7]).toMatch(/,"check":"[0-9a-f]{16}"\}$/);
    expect(values(read.rows)).toEqual(values(full.rows));
  });
});

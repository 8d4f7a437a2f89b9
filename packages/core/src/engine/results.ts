/**
 * Results: one JSON object per line, one line per (cell, learner), appended as each finishes
 * so that a killed run loses at most the row in progress. Each line ends with a `check` field, a
 * checksum of the row's canonical JSON, so that a line cut short, edited or damaged is told from
 * an intact row (`formatRow`, `readResults`).
 */
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { RegimesError } from '../contracts/errors.js';
import { rowKey } from '../spec/plan.js';
import type { Scalar } from '../spec/sweep.js';

export type RowStatus = 'ok' | 'diverged' | 'error';

export interface ResultRow {
  spec: string;
  specHash: string;
  /**
   * Unique within a spec: `<cellKey>|<learner id>`, with `:<variant>` for a variant. An opaque map
   * key composed by `rowKey` from the fields below; nothing parses it.
   */
  key: string;
  /** The cell's key (`n=1024,seed=1`): the swept values that locate the cell. */
  cellKey: string;
  /** The label of one of several fits from one (`ridge=0.001` of a λ list); absent for a plain fit. */
  variant?: string;
  cell: Record<string, Scalar>;
  learner: { id: string; kind: string } & Record<string, unknown>;
  target: { kind: string } & Record<string, unknown>;
  metrics: Record<string, number>;
  /** Scalars the predictor reports about its own fit (train risk, solve residual, ...). */
  diagnostics?: Record<string, number>;
  /** Learning curve recorded during training: one entry per recorded step. */
  trace?: ({ step: number } & Record<string, number>)[];
  timing: { fit_s: number; eval_s: number };
  backend: string;
  status: RowStatus;
  error?: string;
  seed: number;
  versions: Record<string, string>;
  /** When this fit began: the rows of one fit (a λ list's variants) share it. */
  startedAt?: string;
  /**
   * How many rows this fit wrote (1, or one per variant): a fit is complete when that many rows
   * with its `startedAt` are present, so a kill between a λ list's rows is seen and the fit rerun.
   */
  fitRows?: number;
  finishedAt: string;
}

/**
 * Create a folder and its missing parents one level at a time: Node's `mkdirSync(…, { recursive })`
 * spins forever under /proc (ENOENT on a parent that exists), where this fails at once. No check
 * before the mkdir: a folder that is there when it fails (made before, or meanwhile by another
 * process: two `--shard` runs started at once into one new folder) is success, whatever mkdir
 * said (EEXIST; EISDIR for / on macOS).
 */
export function makeFolder(dir: string): void {
  const parent = dirname(dir);
  if (parent !== dir && !existsSync(parent)) makeFolder(parent);
  try {
    mkdirSync(dir);
  } catch (error) {
    if (!isFolder(dir)) throw error;
  }
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** A file-system error in words: its code and the first clause of its message (Node's own). */
function ioReason(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  const message = e.message.split(',')[0]!;
  // Node's messages start with their code ("ENOSPC: no space left on device, write"): once
  return e.code && !message.startsWith(e.code) ? `${e.code} ${message}` : message;
}

/**
 * Appends rows to a JSONL file. Each row is written whole before `append` returns, so that a
 * process killed afterwards keeps it (the kernel holds it); the fsync that puts it on disk, against
 * a machine that goes down, runs in the background on libuv's thread pool. Synchronous, it held the
 * run's thread ~0.9 ms a row on an ext4 disk (0.5 s of a 13-s sweep of 576 small fits), and far
 * longer on network file systems. One fsync at a time: rows appended while one runs are covered by
 * the next. `settle` waits for the last; a failed fsync is thrown by the next `append` or `settle`.
 * `guard`, where given, is called before each row is written and stops it by throwing (a run's
 * lock that is no longer its own: lock.ts).
 */
export class ResultsWriter {
  private syncing: Promise<void> | undefined;
  private unsynced = false;
  private syncError: unknown;

  constructor(
    readonly path: string,
    private readonly guard?: () => void,
  ) {
    try {
      makeFolder(dirname(path));
      // an empty append: fails now, not after the first fit, where the folder cannot be written
      appendFileSync(path, '');
    } catch (error) {
      throw new RegimesError(`cannot write the results file ${path}: ${ioReason(error)}`.trim(), {
        hint: 'choose a folder you can write to with -o (--out; RunOptions.out in code); a read-only or virtual file system (/proc, /sys) cannot hold results',
        cause: error,
      });
    }
  }

  /** Empty the file (for --force). */
  truncate(): void {
    writeFileSync(this.path, '');
  }

  /** Append text as is (used to end a line a killed run cut short). */
  appendRaw(text: string): void {
    appendFileSync(this.path, text);
  }

  append(row: ResultRow): void {
    this.throwSyncError();
    this.guard?.();
    try {
      const fd = openSync(this.path, 'a');
      try {
        appendFileSync(fd, formatRow(row));
      } finally {
        closeSync(fd);
      }
    } catch (error) {
      const full = (error as NodeJS.ErrnoException).code === 'ENOSPC';
      throw new RegimesError(`cannot append a row to ${this.path}: ${ioReason(error)}`.trim(), {
        hint: `${full ? 'free space on that disk' : 'make the file writable again'}, then run the same command: it resumes, and the rows already written stand (a line this cut short is named and its fit rerun)`,
        cause: error,
      });
    }
    this.unsynced = true;
    this.syncing ??= this.syncInBackground();
  }

  /** Wait until every row appended is on disk; throws if an fsync failed. */
  async settle(): Promise<void> {
    while (this.syncing) await this.syncing;
    this.throwSyncError();
  }

  private async syncInBackground(): Promise<void> {
    try {
      while (this.unsynced && this.syncError === undefined) {
        this.unsynced = false;
        // any descriptor of the file flushes all of it; 'a', not 'r': Windows syncs only a writable one
        const file = await open(this.path, 'a');
        try {
          await file.sync();
        } finally {
          await file.close();
        }
      }
    } catch (error) {
      this.syncError = error;
    } finally {
      this.syncing = undefined;
    }
  }

  private throwSyncError(): void {
    if (this.syncError === undefined) return;
    throw new RegimesError(
      `cannot flush the results file ${this.path} to disk: ${ioReason(this.syncError)}`.trim(),
      {
        hint: 'the rows written so far are in the file but may not be on disk; check the disk (full? removed? a network file system that went away) and rerun to resume',
        cause: this.syncError,
      },
    );
  }
}

/**
 * JSON with the keys of every object sorted (by UTF-16 code units), no whitespace, and numbers,
 * strings and literals as `JSON.stringify` writes them: the same text for the same row whatever
 * the order of its fields.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const object = value as Record<string, unknown>;
    const keys = Object.keys(object)
      .filter((k) => object[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(object[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Hex digits of the row checksum: 16 (64 bits of SHA-256). */
const CHECK_DIGITS = 16;

/**
 * A row's checksum: the first 16 hex digits of the SHA-256 of its canonical JSON (`canonicalJson`,
 * UTF-8), the `check` field itself left out. It detects accidents (a cut, an edit, a damaged
 * block), not forgery: whoever edits a row can recompute it.
 */
export function rowChecksum(row: object): string {
  // through JSON and back, so that the sum is over what a reader will parse (undefined fields
  // dropped, non-finite numbers as null)
  return checksumOfParsed(JSON.parse(JSON.stringify(row)) as Record<string, unknown>);
}

/** The checksum of a row as JSON.parse gives it (the `check` field left out). */
function checksumOfParsed(value: Record<string, unknown>): string {
  const { check: _check, ...body } = value;
  return createHash('sha256').update(canonicalJson(body), 'utf8').digest('hex').slice(0, CHECK_DIGITS);
}

/** The line a row is written as: its JSON with the `check` field last, and a newline. */
export function formatRow(row: ResultRow): string {
  const { check: _check, ...body } = row as ResultRow & { check?: unknown };
  return `${JSON.stringify({ ...body, check: rowChecksum(body) })}\n`;
}

/**
 * Why a line of a results file is not an intact row:
 * - `cut`: not JSON — cut short by a kill or a full disk, two rows run together, damaged bytes;
 * - `not-a-row`: JSON of another shape (`null`, `{}`, `42`, a row missing its identity);
 * - `checksum`: a row whose `check` does not match its content — changed after it was written.
 *
 * A row without `check` is not a bad line: rows written before checksums existed have none. It is
 * read unchecked, and `ReadResults.unchecked` lists it.
 */
export type BadLineReason = 'cut' | 'not-a-row' | 'checksum';

export interface BadLine {
  /** 1-based line number. */
  readonly line: number;
  readonly reason: BadLineReason;
}

export interface ReadResults {
  rows: ResultRow[];
  /** The 1-based line number of each row of `rows`. */
  rowLines: number[];
  /** Lines that are not intact rows (see `BadLineReason`), by 1-based line number. */
  badLines: number[];
  /** The same lines with the reason of each. */
  problems: BadLine[];
  /**
   * The line numbers of rows without a checksum, read unchecked: written before rows carried one
   * (or pasted in, or edited with the check removed). `uncheckedAfter` of them follow a checked row,
   * which this version never writes.
   */
  unchecked: number[];
  uncheckedAfter: number;
}

/**
 * Rows written before 0.2 carry their identity only in `key` (`<cell>|<id>[:<variant>]`): this is
 * the one place that reads it, once, when such a file is loaded, so that everything downstream
 * uses the fields.
 */
function withIdentity(row: ResultRow): ResultRow {
  if (typeof row.cellKey === 'string' || typeof row.key !== 'string' || !row.learner) return row;
  const bar = row.key.lastIndexOf('|');
  const rest = row.key.slice(bar + 1);
  const variant = rest.startsWith(`${row.learner.id}:`) ? rest.slice(row.learner.id.length + 1) : undefined;
  return { ...row, cellKey: row.key.slice(0, bar), ...(variant === undefined ? {} : { variant }) };
}

/** Whether a parsed line has what every reader of rows relies on (`null`, `{}` or `42` do not). */
function isRow(value: unknown): value is ResultRow {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const r = value as Partial<ResultRow>;
  return (
    typeof r.key === 'string' &&
    typeof r.specHash === 'string' &&
    typeof r.status === 'string' &&
    typeof r.learner === 'object' &&
    r.learner !== null &&
    typeof r.learner.id === 'string' &&
    typeof r.metrics === 'object' &&
    r.metrics !== null &&
    typeof r.cell === 'object' &&
    r.cell !== null
  );
}

/**
 * Read a results file. A line that is not an intact row — cut short, not a row, failing its
 * checksum — is reported with its reason, not fatal: readers leave it out (resume reruns its fit).
 * Rows without a checksum are read and listed in `unchecked`. Rows come back without `check`.
 */
export function readResults(path: string): ReadResults {
  const read: ReadResults = {
    rows: [],
    rowLines: [],
    badLines: [],
    problems: [],
    unchecked: [],
    uncheckedAfter: 0,
  };
  if (!existsSync(path)) return read;
  let checked = false;
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((text, i) => {
      if (!text.trim()) return;
      const line = i + 1;
      const parsed = parseLine(text);
      if ('problem' in parsed) {
        read.badLines.push(line);
        read.problems.push({ line, reason: parsed.problem });
        return;
      }
      if (parsed.checked) checked = true;
      else {
        read.unchecked.push(line);
        if (checked) read.uncheckedAfter++;
      }
      read.rows.push(withIdentity(parsed.row));
      read.rowLines.push(line);
    });
  return read;
}

/** A line as a row (without its `check`; `checked`: it had one, and it matched), or what is wrong with it. */
function parseLine(text: string): { row: ResultRow; checked: boolean } | { problem: BadLineReason } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: 'cut' };
  }
  const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
  const check = isObject ? (value as { check?: unknown }).check : undefined;
  if (check !== undefined && check !== checksumOfParsed(value as Record<string, unknown>))
    return { problem: 'checksum' };
  if (!isRow(value)) return { problem: 'not-a-row' };
  const { check: _check, ...row } = value as ResultRow & { check?: unknown };
  return { row, checked: check !== undefined };
}

const REASONS: Record<BadLineReason, string> = {
  cut: 'not JSON (cut short by a kill or a full disk, or damaged)',
  'not-a-row': 'JSON that is not a row',
  checksum: 'checksum does not match (changed after it was written)',
};

/**
 * The unchecked rows of a file in one sentence, or undefined when every row has its checksum.
 * Readers warn once per file with it; resume reads such rows silently.
 */
export function uncheckedText(
  file: string,
  read: { readonly unchecked: readonly number[]; readonly uncheckedAfter: number },
): string | undefined {
  const { unchecked, uncheckedAfter } = read;
  if (!unchecked.length) return undefined;
  const lines = `${unchecked.slice(0, 10).join(', ')}${unchecked.length > 10 ? ', …' : ''}`;
  const after = uncheckedAfter
    ? `; ${uncheckedAfter} of them come after rows that have one, which no run writes: pasted in, or edited with the check removed — check them`
    : '';
  return `${file}: ${unchecked.length} row(s) carry no checksum (line(s) ${lines}), read unchecked: rows written before rows had one${after}`;
}

/**
 * The bad lines of a file in one sentence, by reason: `3 line(s) are not intact rows: line 6 not
 * JSON (…); lines 9, 12 checksum does not match (…)`. The caller adds what follows from it.
 */
export function badLinesText(file: string, problems: readonly BadLine[]): string {
  const byReason = new Map<BadLineReason, number[]>();
  for (const p of problems) byReason.set(p.reason, [...(byReason.get(p.reason) ?? []), p.line]);
  const lines = (ls: number[]) =>
    `${ls.length > 1 ? 'lines' : 'line'} ${ls.slice(0, 10).join(', ')}${ls.length > 10 ? `, … (${ls.length})` : ''}`;
  const parts = [...byReason].map(([reason, ls]) => `${lines(ls)}: ${REASONS[reason]}`);
  return `${file}: ${problems.length} line(s) are not intact rows (${parts.join('; ')})`;
}

/** The learner fit a row belongs to (the rows of a λ list's variants share it): cell and learner id. */
export function learnerKey(row: Pick<ResultRow, 'cellKey' | 'learner'>): string {
  return rowKey(row.cellKey, row.learner.id);
}

/** How a row's learner is named in tables and legends: its id, with `:<variant>` for a variant. */
export function rowLabel(row: Pick<ResultRow, 'learner' | 'variant'>): string {
  return row.variant === undefined ? row.learner.id : `${row.learner.id}:${row.variant}`;
}

/**
 * The rows that stand: the last row of each key (a rerun supersedes a failed row), and of each
 * learner fit only its latest attempt — a fit that failed writes one row `<cell>|<id>`, its rerun
 * one row per variant `<cell>|<id>:<label>` (or the other way round), and the older kind must go.
 * An attempt is told by `startedAt` (shared by the rows of one fit); rows written before that field
 * existed fall back to the kind (variant or not) of the fit's most recent row.
 */
export function latestRows(rows: readonly ResultRow[]): ResultRow[] {
  const byKey = new Map<string, ResultRow>();
  for (const row of rows) {
    byKey.delete(row.key);
    byKey.set(row.key, row);
  }
  const groups = new Map<string, ResultRow[]>();
  for (const row of byKey.values()) {
    const k = learnerKey(row);
    groups.set(k, [...(groups.get(k) ?? []), row]);
  }
  const keep = new Set<ResultRow>();
  const isVariant = (r: ResultRow) => r.variant !== undefined;
  for (const group of groups.values()) {
    if (group.every((r) => r.startedAt)) {
      const last = group.reduce((a, r) => (r.startedAt! > a ? r.startedAt! : a), '');
      for (const r of group) if (r.startedAt === last) keep.add(r);
    } else {
      const newest = group.reduce((a, r) => (r.finishedAt > a.finishedAt ? r : a));
      for (const r of group) if (isVariant(r) === isVariant(newest)) keep.add(r);
    }
  }
  return [...byKey.values()].filter((r) => keep.has(r));
}

/** A fit (cell, learner) whose latest attempt wrote fewer rows than it announced (`fitRows`). */
export interface IncompleteFit {
  /** `learnerKey` of the fit. */
  readonly fit: string;
  readonly present: number;
  readonly expected: number;
}

/**
 * The standing rows split into those of complete fits and the fits whose rows are not all there —
 * a run killed between a λ list's rows, or a row deleted by hand. Rows without `fitRows` (written
 * before it existed) count as complete. Resume reruns an incomplete fit; merge lists it as missing;
 * plot and report leave its rows out and say so.
 */
export function completeRows(rows: readonly ResultRow[]): { rows: ResultRow[]; incomplete: IncompleteFit[] } {
  const standing = latestRows(rows);
  const byFit = new Map<string, ResultRow[]>();
  for (const row of standing) {
    const fit = learnerKey(row);
    byFit.set(fit, [...(byFit.get(fit) ?? []), row]);
  }
  const incomplete: IncompleteFit[] = [];
  const dropped = new Set<string>();
  for (const [fit, group] of byFit) {
    const expected = group[0]!.fitRows;
    if (expected === undefined || group.length >= expected) continue;
    incomplete.push({ fit, present: group.length, expected });
    dropped.add(fit);
  }
  return { rows: standing.filter((r) => !dropped.has(learnerKey(r))), incomplete };
}

/** `3 fit(s) have rows missing (n=8|rf#0: 3 of 4 rows, ...)`: the incomplete fits in a line. */
export function incompleteText(incomplete: readonly IncompleteFit[]): string {
  const shown = incomplete.slice(0, 3).map((f) => `${f.fit}: ${f.present} of ${f.expected} rows`);
  return `${incomplete.length} fit(s) have rows missing (${shown.join(', ')}${incomplete.length > 3 ? ', ...' : ''})`;
}

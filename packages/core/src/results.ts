/**
 * Results: one JSON object per line, one line per (cell, learner), appended as each finishes
 * so that a killed run loses at most the row in progress.
 */
import {
  appendFileSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { dirname } from 'node:path';
import type { Scalar } from './sweep.js';

export type RowStatus = 'ok' | 'diverged' | 'error';

export interface ResultRow {
  spec: string;
  specHash: string;
  /** `<cell key>|<learner id>`, unique within a spec. */
  key: string;
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
  finishedAt: string;
}

/** Appends rows to a JSONL file, flushing each to disk before returning. */
export class ResultsWriter {
  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
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
    const fd = openSync(this.path, 'a');
    try {
      appendFileSync(fd, `${JSON.stringify(row)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

export interface ReadResults {
  rows: ResultRow[];
  /** Lines that did not parse (a row cut off by a kill), by 1-based line number. */
  badLines: number[];
}

/** Read a results file; a row cut short by a kill is reported, not fatal. */
export function readResults(path: string): ReadResults {
  if (!existsSync(path)) return { rows: [], badLines: [] };
  const rows: ResultRow[] = [];
  const badLines: number[] = [];
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return;
      try {
        rows.push(JSON.parse(line) as ResultRow);
      } catch {
        badLines.push(i + 1);
      }
    });
  return { rows, badLines };
}

/** The last row of each key (a rerun of a failed row supersedes it). */
export function latestRows(rows: readonly ResultRow[]): ResultRow[] {
  const byKey = new Map<string, ResultRow>();
  for (const row of rows) {
    byKey.delete(row.key);
    byKey.set(row.key, row);
  }
  return [...byKey.values()];
}

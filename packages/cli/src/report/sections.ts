/** What a report says about a run besides the summary: its spec, environment and failed rows. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResultRow } from '@regimes/core';
import type { summarize } from '../results/summary.js';
import { Document, isScalar, visit } from 'yaml';

/** The spec as written next to the results (spec.json / spec.yaml), else rebuilt from the rows. */
export function specText(rows: readonly ResultRow[], runDir: string): { text: string; source: string } {
  for (const name of ['spec.yaml', 'spec.yml', 'spec.json']) {
    const path = join(runDir, name);
    if (existsSync(path)) return { text: readFileSync(path, 'utf8').trimEnd(), source: name };
  }
  const distinct = <T>(values: T[]) => [...new Map(values.map((v) => [JSON.stringify(v), v])).values()];
  const targets = distinct(rows.map((r) => r.target));
  // a learner's base entry: variant rows carry the variant's options merged in
  const learners = distinct(rows.filter((r) => r.variant === undefined).map((r) => r.learner));
  for (const r of rows) if (!learners.some((l) => l.id === r.learner.id)) learners.push(r.learner);
  const cellKeys = [...new Set(rows.flatMap((r) => Object.keys(r.cell)))];
  const sweep = Object.fromEntries(
    cellKeys.map((k) => [
      k,
      [...new Set(rows.map((r) => r.cell[k]))].sort((a, b) =>
        typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b)),
      ),
    ]),
  );
  const metrics = [...new Set(rows.flatMap((r) => Object.keys(r.metrics)))];
  const spec = {
    name: [...new Set(rows.map((r) => r.spec))].join(', '),
    target: targets.length === 1 ? targets[0] : targets,
    learners,
    metrics,
    sweep,
  };
  const doc = new Document(spec);
  // lists of numbers and names on one line, as a spec is written by hand
  visit(doc, {
    Seq(_, node) {
      if (node.items.every((item) => isScalar(item))) node.flow = true;
    },
  });
  return { text: doc.toString().trimEnd(), source: 'reconstructed from the rows' };
}

/** Backends and package versions, each value with the number of rows that report it. */
export function environment(rows: readonly ResultRow[]): { name: string; values: [string, number][] }[] {
  const count = (values: (string | undefined)[]) => {
    const m = new Map<string, number>();
    for (const v of values) if (v !== undefined) m.set(v, (m.get(v) ?? 0) + 1);
    return [...m];
  };
  const packages = [...new Set(rows.flatMap((r) => Object.keys(r.versions ?? {})))].sort();
  return [
    { name: 'backend', values: count(rows.map((r) => r.backend)) },
    ...packages.map((p) => ({ name: p, values: count(rows.map((r) => r.versions?.[p])) })),
  ];
}

/** Failed rows (status error or diverged) grouped by their message. */
export function failures(rows: readonly ResultRow[]): { status: string; error: string; keys: string[] }[] {
  const groups = new Map<string, { status: string; error: string; keys: string[] }>();
  for (const r of rows) {
    if (r.status === 'ok') continue;
    const error = r.error ?? '(no message)';
    const id = `${r.status}\u0000${error}`;
    const g = groups.get(id) ?? { status: r.status, error, keys: [] };
    g.keys.push(r.key);
    groups.set(id, g);
  }
  return [...groups.values()];
}

/** What report.md and report.html both show, gathered once. */
export interface ReportContent {
  name: string;
  /** `N rows: k ok, m failed`. */
  counts: string;
  failedRows: number;
  /** The results file, relative to the report. */
  resultsFile: string;
  spec: ReturnType<typeof specText>;
  /** The figure's SVG, or why there is none. */
  figure: { svg: string } | { error: string };
  groups: ReturnType<typeof summarize>;
  environment: ReturnType<typeof environment>;
  failures: ReturnType<typeof failures>;
}

/** What a report says about a run besides the summary: its spec, environment and failed rows. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSpecText, planExperiment, type Registry, type ResultRow } from '@regimes/core';
import { withoutFields } from '../kinds/describe.js';
import { specCopyHashes } from '../results/spec-copy.js';
import type { summarize } from '../results/summary.js';
import { PROVENANCE_FILE, readProvenance } from '../run/provenance.js';
import { Document, isScalar, visit } from 'yaml';
import type { TextTable } from '../serve/views.js';

export type { TextTable } from '../serve/views.js';

/**
 * Each learner's options as its spec entry resolved them: its rows' options merged, an option that
 * differs between them listed (a λ list: each variant row carries its own λ; a swept option: each
 * cell its value). The rows of the whole fit where there are some (a fit without variants, or one
 * that failed), else its variants' rows.
 */
function learnerEntries(rows: readonly ResultRow[]): Map<string, ResultRow['learner']> {
  const whole = new Map<string, ResultRow['learner'][]>();
  const variants = new Map<string, ResultRow['learner'][]>();
  for (const r of rows) {
    const into = r.variant === undefined ? whole : variants;
    into.set(r.learner.id, [...(into.get(r.learner.id) ?? []), r.learner]);
  }
  const entries = new Map<string, ResultRow['learner']>();
  for (const r of rows) {
    const id = r.learner.id;
    if (entries.has(id)) continue;
    const all = whole.get(id) ?? variants.get(id)!;
    const keys = [...new Set(all.flatMap((l) => Object.keys(l)))];
    const merged = Object.fromEntries(
      keys.map((k) => {
        const values = [...new Map(all.map((l) => [JSON.stringify(l[k]), l[k]])).values()];
        return [k, values.length === 1 ? values[0] : values];
      }),
    );
    entries.set(id, merged as ResultRow['learner']);
  }
  return entries;
}

/**
 * Said of a spec copy whose hash is the rows' when some rows are of cells it does not plan: the
 * sweep values are not in the hash, and a later run of fewer values (resumed) rewrote the copy.
 */
function beyondCells(text: string, path: string, rows: readonly ResultRow[], registry: Registry): string {
  try {
    const cells = new Set(planExperiment(parseSpecText(text, path), registry, path).cells.map((c) => c.key));
    const beyond = rows.filter((r) => !cells.has(r.cellKey));
    return beyond.length
      ? `; ${beyond.length} of the rows are of cells it does not list (e.g. ${beyond[0]!.cellKey}): a larger sweep of the same spec ran into this folder before`
      : '';
  } catch {
    return '';
  }
}

/**
 * An entry's options less those its kind names as having no effect (`unused`: `maxDegree` of a
 * target without an expression), which a row records with the defaults but a spec may not write.
 * Without the registry, or for a kind it lacks, the entry as it is.
 */
function effectiveOptions(
  entry: Record<string, unknown>,
  point: 'target' | 'learner',
  registry: Registry | undefined,
): Record<string, unknown> {
  const kind = entry.kind;
  if (!registry || typeof kind !== 'string' || !registry.has(point, kind)) return entry;
  let unused: Readonly<Record<string, string>>;
  try {
    unused = registry.get(point, kind).unused?.(entry) ?? {};
  } catch {
    return entry; // a merged entry (a λ list) the kind cannot read: as it is
  }
  return withoutFields(entry, Object.keys(unused));
}

/**
 * The spec as written next to the results (spec.json / spec.yaml) when it is the rows' spec (with the
 * registry, its hash is checked: a shard run of another spec into the folder rewrites spec.json),
 * else rebuilt from the rows: the metrics without their `-se` companions, one target entry with the
 * swept options in the sweep, and with the registry each entry without the options its kind says
 * have no effect, so that the rebuilt spec validates.
 */
export function specText(
  rows: readonly ResultRow[],
  runDir: string,
  registry?: Registry,
): { text: string; source: string } {
  let other = '';
  for (const name of ['spec.yaml', 'spec.yml', 'spec.json']) {
    const path = join(runDir, name);
    if (!existsSync(path)) continue;
    const text = readFileSync(path, 'utf8').trimEnd();
    if (!registry || !rows.length) return { text, source: name };
    const hash = specCopyHashes(text, path, registry);
    const rowHashes = new Set(rows.map((r) => r.specHash));
    if (hash?.some((h) => rowHashes.has(h)))
      return { text, source: name + beyondCells(text, path, rows, registry) };
    if (hash) {
      other ||= `; ${name} beside them is another spec (hash ${hash[0]}), not these rows'`;
      continue;
    }
    // no hash to compare: a copy that does not parse, or whose kinds are not all registered here
    // (a spec of plugins), judged by its name at least
    let parsed: { name: string; plugins: readonly string[] };
    try {
      parsed = parseSpecText(text, path);
    } catch (error) {
      other ||= `; ${name} beside them does not parse (${(error as Error).message.split('\n')[0]})`;
      continue;
    }
    const names = new Set(rows.map((r) => r.spec));
    if (!names.has(parsed.name)) {
      other ||= `; ${name} beside them is another spec (named ${parsed.name}, the rows' ${[...names].join(', ')})`;
      continue;
    }
    return {
      text,
      source: `${name}; not checked against the rows' hash: ${parsed.plugins.length ? 'it lists plugins, their paths made absolute in the copy' : 'its kinds are not all registered here'}`,
    };
  }
  const distinct = <T>(values: T[]) => [...new Map(values.map((v) => [JSON.stringify(v), v])).values()];
  const cellKeys = [...new Set(rows.flatMap((r) => Object.keys(r.cell)))];
  // a swept target option is in the sweep: the target's entry is the one without it
  const swept = cellKeys.filter((k) => k.startsWith('target.')).map((k) => k.slice('target.'.length));
  const targets = distinct(
    rows.map((r) => {
      const entry = structuredClone(effectiveOptions(r.target, 'target', registry));
      for (const field of swept) delete (entry as Record<string, unknown>)[field];
      return entry;
    }),
  );
  // a swept learner option is in the sweep: each entry without it (its merged values are the sweep's)
  const sweptOf = (l: ResultRow['learner']) =>
    cellKeys.flatMap((k) => {
      const m = /^learners(?:\[([^\]]+)\])?\.(.+)$/.exec(k);
      return m && (m[1] === undefined || m[1] === l.id || m[1] === l.kind) ? [m[2]!] : [];
    });
  // a learner's own sweep (`sweep:` in its entry) gave variants `<id>(k=v,…)`: one entry again,
  // with that sweep over the variants' values
  const folded = new Map<string, Record<string, unknown>>();
  for (const l of learnerEntries(rows).values()) {
    const own = /^(.*)\(([^()]*)\)$/.exec(l.id);
    const entry = structuredClone(l) as Record<string, unknown>;
    for (const field of sweptOf(l)) delete entry[field];
    if (!own) {
      folded.set(l.id, entry);
      continue;
    }
    const [, base, pairs] = own;
    const keys = pairs!.split(',').map((p) => p.split('=')[0]!);
    const into = folded.get(base!) ?? { ...entry, id: base, sweep: {} };
    const sweep = into.sweep as Record<string, unknown[]>;
    for (const k of keys) {
      const values = sweep[k] ?? [];
      if (!values.some((v) => JSON.stringify(v) === JSON.stringify(entry[k]))) values.push(entry[k]);
      sweep[k] = values;
      delete into[k];
    }
    folded.set(base!, into);
  }
  const learners = [...folded.values()].map((l) => effectiveOptions(l, 'learner', registry));
  const sweep = Object.fromEntries(
    cellKeys.map((k) => [
      k,
      [...new Set(rows.map((r) => r.cell[k]))].sort((a, b) =>
        typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b)),
      ),
    ]),
  );
  const names = new Set(rows.flatMap((r) => Object.keys(r.metrics)));
  // a metric's standard error is a column of its own in the rows, not a metric of the spec
  const metrics = [...names].filter((k) => !(k.endsWith('-se') && names.has(k.slice(0, -3))));
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
  return { text: doc.toString().trimEnd(), source: `reconstructed from the rows${other}` };
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

/**
 * Provenance: when the report and the rows were made, the spec hash, each `regimes run` that wrote
 * into the folder (provenance.jsonl: commit, Node, CPU, backend and device, command), and each
 * learner's options as resolved (defaults filled in), from the rows.
 */
export function provenance(rows: readonly ResultRow[], runDir: string, now: Date): TextTable[] {
  const dates = rows.flatMap((r) => [r.startedAt, r.finishedAt]).filter((d): d is string => Boolean(d));
  dates.sort();
  const facts: [string, string][] = [
    ['report written', now.toISOString()],
    ['rows computed', dates.length ? `${dates[0]} to ${dates[dates.length - 1]}` : '(no rows)'],
    ['spec hash', [...new Set(rows.map((r) => r.specHash))].join(', ') || '(no rows)'],
  ];
  // the runs of these rows' spec: a run of another spec into the folder (`--force`) wrote rows that
  // are gone
  const hashes = new Set(rows.map((r) => r.specHash));
  const recorded = readProvenance(runDir);
  const runs = recorded.filter((r) => hashes.has(r.specHash));
  const others = recorded.filter((r) => !hashes.has(r.specHash));
  const runTable: TextTable = {
    title: `Runs (${PROVENANCE_FILE})`,
    header: ['started', 'rows run / resumed / failed', 'regimes', 'node', 'machine', 'backend', 'command'],
    lines: runs.map((r) => [
      r.startedAt,
      `${r.rows.ran} / ${r.rows.resumed} / ${r.rows.failed}`,
      `${r.regimes.version} (${r.regimes.commit}); spec folder: ${r.specCommit}`,
      r.node,
      `${r.host}: ${r.cpu} × ${r.cores}, ${r.memoryGiB} GiB, ${r.platform}`,
      `${r.backend} (${r.device}); -j ${r.jobs}, BLAS threads ${r.blasThreads}`,
      `regimes ${r.command.join(' ')} (in ${r.cwd})`,
    ]),
  };
  // a note across the table: its first cell, the others blank
  const note = (text: string) => runTable.lines.push([text, ...runTable.header.slice(1).map(() => '')]);
  if (others.length)
    note(
      `(${others.length} run(s) of another spec left out: ${[...new Set(others.map((r) => r.specHash))].join(', ')}; their rows are not in the file)`,
    );
  if (!recorded.length) note('(none recorded: the rows predate provenance.jsonl, or were merged)');
  const learners = new Map<string, string>();
  for (const [id, { id: _id, ...options }] of learnerEntries(rows)) learners.set(id, JSON.stringify(options));
  return [
    { title: 'Provenance', header: ['what', 'value'], lines: facts },
    runTable,
    { title: "Learners' resolved options", header: ['learner', 'options'], lines: [...learners] },
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
  provenance: TextTable[];
  failures: ReturnType<typeof failures>;
}

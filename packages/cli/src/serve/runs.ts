/**
 * What the page shows of the runs under a folder: the results files found there, and for one run
 * its rows, the `plot` figure as a Vega-Lite spec (the same builder, the browser draws it), the
 * `report` summary table, the spec and the provenance. Lines that are not intact rows are skipped
 * and reported with the run, never thrown.
 */
import { readdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import type { Registry, ResultRow } from '@regimes/core';
import type { TopLevelSpec } from 'vega-lite';
import { type PlotOptions, plotData } from '../plot/data.js';
import { resolveKey } from '../plot/keys.js';
import { theoryPoints } from '../plot/theory.js';
import { vegaLiteSpec } from '../plot/vega-lite.js';
import { provenance, specText } from '../report/sections.js';
import { loadRows } from '../results/files.js';
import { summarize, summaryTable } from '../results/summary.js';
import { isInside } from './paths.js';
import type { RunEntry, RunView } from './views.js';

export type { RunEntry, RunView } from './views.js';

const RESULTS_FILE = /^results(\.shard-\d+-of-\d+)?\.jsonl$/;
const SKIP_DIRS = new Set(['node_modules', '.git']);
const MAX_DEPTH = 8;

/** The results files under `root` (symlinked folders leading out of it are not followed). */
export function findRuns(root: string): RunEntry[] {
  const realRoot = realpathSync(root);
  const runs: RunEntry[] = [];
  const walk = (dir: string, depth: number) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // unreadable: not listed
    }
    for (const e of entries) {
      const full = join(dir, e.name);
      let real: string;
      try {
        real = realpathSync(full);
      } catch {
        continue;
      }
      if (!isInside(realRoot, real)) continue;
      const stat = statSync(real);
      if (stat.isDirectory()) {
        if (depth < MAX_DEPTH && !SKIP_DIRS.has(e.name) && !e.name.startsWith('.')) walk(full, depth + 1);
      } else if (stat.isFile() && RESULTS_FILE.test(e.name)) {
        // a regular file only: a named pipe of that name would block every read of the server
        const id = relative(realRoot, full).split(sep).join('/');
        runs.push({
          id,
          folder: relative(realRoot, dir).split(sep).join('/') || '.',
          bytes: stat.size,
          modified: stat.mtime.toISOString(),
        });
      }
    }
  };
  walk(realRoot, 0);
  return runs.sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
}

/** A run's rows (`file` is a real path under the served folder) with the warnings loading gave. */
export function runRows(file: string): { rows: ResultRow[]; warnings: string[] } {
  const warnings: string[] = [];
  try {
    return { rows: loadRows(file, (m) => warnings.push(m)), warnings };
  } catch (error) {
    warnings.push((error as Error).message);
    return { rows: [], warnings };
  }
}

export function runView(id: string, file: string, registry?: Registry): RunView {
  const { rows, warnings } = runRows(file);
  const names = (pick: (r: ResultRow) => object | undefined) => [
    ...new Set(rows.flatMap((r) => Object.keys(pick(r) ?? {}))),
  ];
  return {
    id,
    name: [...new Set(rows.map((r) => r.spec))].join(', ') || '(no rows yet)',
    rows: rows.length,
    ok: rows.filter((r) => r.status === 'ok').length,
    warnings,
    summary: summaryTable(summarize(rows)),
    spec: specText(rows, dirname(file), registry),
    provenance: provenance(rows, dirname(file), new Date()),
    keys: names((r) => r.cell).filter((k) => k !== 'seed'),
    values: [...new Set([...names((r) => r.metrics), ...names((r) => r.diagnostics)])].filter(
      (k) => !k.endsWith('-se'),
    ),
    traceFields: [...new Set(rows.flatMap((r) => (r.trace ?? []).flatMap((e) => Object.keys(e))))].filter(
      (k) => k !== 'step',
    ),
    learners: [...new Set(rows.map((r) => r.learner.id))],
  };
}

export interface FigureView {
  spec: TopLevelSpec;
  notes: string[];
  warnings: string[];
  used: number;
}

/**
 * The `plot` figure of rows. Several runs (compare mode) are drawn as one: each row's learner is
 * renamed `<run>/<learner>` so a learner of each run is its own line. Training curves (`curves`)
 * get the theory levels of their target and learners at the curves' n as dashed rules.
 */
export function figureView(
  runs: { id: string; rows: ResultRow[] }[],
  options: PlotOptions,
  registry: Registry,
): FigureView {
  const warnings: string[] = [];
  const warn = (m: string) => warnings.push(m);
  const rows =
    runs.length === 1
      ? runs[0]!.rows
      : runs.flatMap(({ id, rows }) =>
          rows.map((r) => ({
            ...r,
            specHash: 'compare',
            learner: {
              ...r.learner,
              id: `${id.replace(/\/?results[^/]*\.jsonl$/, '') || '.'}/${r.learner.id}`,
            },
          })),
        );
  const data = plotData(rows, options, registry, warn);
  const spec = vegaLiteSpec(data) as TopLevelSpec & Record<string, unknown>;
  if (options.curves && options.theory) addTheoryLevels(spec, rows, data.yTitle, data.panels, registry, warn);
  return { spec, notes: data.notes, warnings, used: data.used };
}

/**
 * Theory levels beside training curves: for each n of the curves, the target's and learners'
 * theory curves for the metric the trace field measures (`test-risk` → `risk`) at that n, drawn as
 * horizontal dashed rules labelled with the curve's name (in every panel of that n).
 */
function addTheoryLevels(
  spec: Record<string, unknown>,
  rows: readonly ResultRow[],
  traceField: string,
  panels: readonly string[],
  registry: Registry,
  warn: (m: string) => void,
): void {
  const metric = traceField.replace(/^test-/, '');
  const withN = rows.filter((r) => r.status === 'ok' && typeof r.cell.n === 'number' && r.trace?.length);
  if (!withN.length) return;
  const levels: object[] = [];
  for (const n of [...new Set(withN.map((r) => r.cell.n as number))]) {
    const at = withN.filter((r) => r.cell.n === n);
    let points;
    try {
      points = theoryPoints({
        rows: at,
        panels: ['all'],
        panelOf: () => 'all',
        xKey: resolveKey(at, 'n', '-x'),
        metric,
        xLog: false,
        yLog: false,
        registry,
        warn,
        notes: [],
      });
    } catch {
      continue; // no theory for this metric
    }
    const bySeries = new Map<string, { x: number; y: number }>();
    for (const p of points) {
      const best = bySeries.get(p.series);
      if (!best || Math.abs(Math.log(p.x / n)) < Math.abs(Math.log(best.x / n))) bySeries.set(p.series, p);
    }
    // the panels of this n (curves facet by n when there are several), else the one panel
    const inPanels = panels.filter((p) => panels.length === 1 || new RegExp(`(^|\\D)${n}(\\D|$)`).test(p));
    for (const [series, p] of bySeries)
      if (p.x === n && Number.isFinite(p.y) && p.y > 0)
        for (const panel of inPanels.length ? inPanels : panels)
          levels.push({ kind: 'level', panel, level: `theory: ${series}`, y: p.y });
  }
  if (!levels.length) return;
  const data = spec.data as { values: object[] };
  data.values.push(...levels);
  const layer = {
    transform: [{ filter: "datum.kind === 'level'" }],
    mark: { type: 'rule', strokeDash: [7, 4], color: '#555', strokeWidth: 1.5 },
    encoding: {
      y: { field: 'y', type: 'quantitative' },
      tooltip: [
        { field: 'level', title: 'theory level' },
        { field: 'y', title: 'value', format: '.4g' },
      ],
    },
  };
  const label = {
    transform: [{ filter: "datum.kind === 'level'" }],
    mark: {
      type: 'text',
      align: 'right',
      baseline: 'bottom',
      dx: -4,
      dy: -2,
      fontSize: 11,
      color: '#333',
      x: 'width',
    },
    encoding: { y: { field: 'y', type: 'quantitative' }, text: { field: 'level' } },
  };
  const target = (spec.spec as { layer?: object[] } | undefined) ?? (spec as { layer?: object[] });
  target.layer?.push(layer, label);
}

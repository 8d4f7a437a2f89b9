/** The end-of-run table: mean ± std over seeds, per learner and per the other swept values. */
import { type ResultRow, rowLabel } from '@regimes/core';

export interface SummaryGroup {
  learner: string;
  /** Swept values other than the seed. */
  cell: Record<string, number | string | boolean>;
  runs: number;
  failed: number;
  /**
   * Per metric: mean and sample standard deviation over the `count` ok rows that report it. Of a
   * metric's test-set standard error (`<m>-se` beside `<m>`), `pooled`: the standard error of the
   * mean over those rows from the test sets, √Σse²/count (`std` NaN: a spread of SEs says nothing).
   */
  metrics: Record<string, { mean: number; std: number; count: number; pooled?: true }>;
  /** Mean fit time of the ok rows (NaN when none is ok). */
  fitSeconds: number;
}

export function meanStd(values: readonly number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance =
    values.length > 1 ? values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1) : 0;
  return { mean, std: Math.sqrt(variance) };
}

export function summarize(rows: readonly ResultRow[]): SummaryGroup[] {
  const groups = new Map<string, ResultRow[]>();
  const cellOf = (row: ResultRow) => {
    const { seed: _seed, ...cell } = row.cell;
    return JSON.stringify(cell);
  };
  // a learner with variants (a ridge list) whose fit failed for a seed wrote one row `<cell>|<id>`:
  // it counts as a failed run of each variant group, not as a group of its own
  const variantsOf = new Map<string, Set<string>>();
  for (const row of rows)
    if (row.variant !== undefined) {
      const at = `${row.learner.id}|${cellOf(row)}`;
      variantsOf.set(at, (variantsOf.get(at) ?? new Set()).add(rowLabel(row)));
    }
  for (const row of rows) {
    const variants =
      row.variant === undefined ? variantsOf.get(`${row.learner.id}|${cellOf(row)}`) : undefined;
    // the learner's label: its id, or `<id>:<variant>` for one of several fits (a ridge list)
    for (const label of variants ?? [rowLabel(row)]) {
      const key = `${label}|${cellOf(row)}`;
      groups.set(key, [...(groups.get(key) ?? []), row]);
    }
  }
  return [...groups].map(([key, group]) => {
    const ok = group.filter((r) => r.status === 'ok');
    const names = [...new Set(ok.flatMap((r) => Object.keys(r.metrics)))];
    const { seed: _seed, ...cell } = group[0]!.cell;
    return {
      learner: key.slice(0, key.length - cellOf(group[0]!).length - 1),
      cell,
      runs: group.length,
      failed: group.length - ok.length,
      metrics: Object.fromEntries(
        names.map((name) => {
          // a value JSON wrote as null (NaN in a hand-edited or foreign file) is left out, not taken as 0
          const values = ok.map((r) => r.metrics[name]).filter((v): v is number => typeof v === 'number');
          if (name.endsWith('-se') && names.includes(name.slice(0, -3)))
            return [
              name,
              {
                mean: Math.sqrt(values.reduce((a, v) => a + v * v, 0)) / values.length,
                std: Number.NaN,
                count: values.length,
                pooled: true,
              },
            ];
          return [name, { ...meanStd(values), count: values.length }];
        }),
      ),
      // a failed row's fit_s is 0 (or the time to its failure): the mean is over the fits that stand
      fitSeconds: ok.length ? meanStd(ok.map((r) => r.timing.fit_s)).mean : NaN,
    };
  });
}

const fmt = (x: number) =>
  x === 0
    ? '0'
    : Number.isFinite(x)
      ? Math.abs(x) >= 1e4 || Math.abs(x) < 1e-3
        ? x.toExponential(3)
        : x.toPrecision(4)
      : String(x);

/**
 * `mean ± std`; one value alone (one seed has no spread to show, not a spread of 0), and a pooled
 * standard error alone; `(k of n)` where fewer of the group's ok rows report the metric.
 */
function metricCell(stats: SummaryGroup['metrics'][string] | undefined, ok: number): string {
  if (!stats) return '-';
  const value = stats.count > 1 && !stats.pooled ? `${fmt(stats.mean)} ± ${fmt(stats.std)}` : fmt(stats.mean);
  return stats.count < ok ? `${value} (${stats.count} of ${ok})` : value;
}

/** The summary as a header and one row of cells per group (shared by the text and Markdown tables). */
export function summaryTable(groups: readonly SummaryGroup[]): { header: string[]; lines: string[][] } {
  const cellKeys = [...new Set(groups.flatMap((g) => Object.keys(g.cell)))];
  const metricNames = [...new Set(groups.flatMap((g) => Object.keys(g.metrics)))];
  const pooled = (m: string) => groups.some((g) => g.metrics[m]?.pooled);
  const header = [
    'learner',
    ...cellKeys,
    'runs',
    ...metricNames.map((m) => (pooled(m) ? `${m} (of the mean: √Σse²/runs)` : `${m} (mean ± std)`)),
    'fit s',
  ];
  const lines = groups.map((g) => [
    g.learner,
    ...cellKeys.map((k) => String(g.cell[k] ?? '')),
    g.failed ? `${g.runs} (${g.failed} failed)` : String(g.runs),
    ...metricNames.map((m) => metricCell(g.metrics[m], g.runs - g.failed)),
    Number.isNaN(g.fitSeconds) ? '-' : fmt(g.fitSeconds),
  ]);
  return { header, lines };
}

/** A plain-text table of the summary, one line per group. */
export function formatSummary(groups: readonly SummaryGroup[]): string {
  if (!groups.length) return '(no rows)';
  const { header, lines } = summaryTable(groups);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const render = (cols: string[]) =>
    cols
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [render(header), render(widths.map((w) => '-'.repeat(w))), ...lines.map(render)].join('\n');
}

/** The summary as a Markdown (GitHub) table. */
export function formatSummaryMarkdown(groups: readonly SummaryGroup[]): string {
  if (!groups.length) return '(no rows)';
  const { header, lines } = summaryTable(groups);
  const render = (cols: string[]) => `| ${cols.map(markdownCell).join(' | ')} |`;
  return [
    render(header),
    `|${header.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...lines.map(render),
  ].join('\n');
}

/**
 * Text as one cell of a Markdown table, read as text: `\` and `|` escaped, `<`, `>` and `&` as
 * entities (a learner id `a<b>` is not HTML), a line break as `<br>` (a table row is one line).
 */
export function markdownCell(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\r?\n/g, '<br>');
}

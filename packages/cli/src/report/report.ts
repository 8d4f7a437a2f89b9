/**
 * `regimes report`: a run as report.md (figure linked) and report.html (self-contained, figure
 * inlined as SVG): the spec, the figure, the summary table, versions and backend, failures.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { type ResultRow, rowLabel } from '@regimes/core';
import { formatSummaryMarkdown, summarize, summaryTable } from '../results/summary.js';
import { Document, isScalar, visit } from 'yaml';

/** The spec as written next to the results (spec.json / spec.yaml), else rebuilt from the rows. */
export function specText(rows: readonly ResultRow[], runDir: string): { text: string; source: string } {
  for (const name of ['spec.yaml', 'spec.yml', 'spec.json']) {
    const path = join(runDir, name);
    if (existsSync(path)) return { text: readFileSync(path, 'utf8').trimEnd(), source: name };
  }
  const distinct = <T>(values: T[]) => [...new Map(values.map((v) => [JSON.stringify(v), v])).values()];
  const targets = distinct(rows.map((r) => r.target));
  // a learner's base entry: variant rows (`<id>:<label>`) carry the variant's options merged in
  const learners = distinct(rows.filter((r) => !rowLabel(r).includes(':')).map((r) => r.learner));
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

const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const escapeMd = (s: string) => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|');

export interface ReportInput {
  rows: readonly ResultRow[];
  /** The results file the rows come from (named in the report). */
  resultsFile: string;
  /** Where the spec copy (spec.json) is looked for. */
  runDir: string;
  outDir: string;
  /** Draws the figure; a failure is reported in place of the figure. */
  figure: () => Promise<{ svg: string; png: Uint8Array }>;
  warn: (message: string) => void;
}

/** Write report.md, report.html and the figure (report-figure.svg/.png); returns the paths written. */
export async function writeReport(input: ReportInput): Promise<string[]> {
  const { rows, runDir, outDir } = input;
  mkdirSync(outDir, { recursive: true });
  const name = [...new Set(rows.map((r) => r.spec))].join(', ') || '(empty)';
  const spec = specText(rows, runDir);
  const groups = summarize(rows);
  const env = environment(rows);
  const failed = failures(rows);
  const ok = rows.filter((r) => r.status === 'ok').length;
  const written: string[] = [];

  let figure: { svg: string; png: Uint8Array } | undefined;
  let figureError: string | undefined;
  try {
    figure = await input.figure();
  } catch (error) {
    figureError = (error as Error).message;
    input.warn(`no figure: ${figureError}`);
  }
  if (figure) {
    writeFileSync(join(outDir, 'report-figure.svg'), figure.svg);
    writeFileSync(join(outDir, 'report-figure.png'), figure.png);
    written.push(join(outDir, 'report-figure.svg'), join(outDir, 'report-figure.png'));
  }
  const counts = `${rows.length} rows: ${ok} ok, ${rows.length - ok} failed`;
  const resultsFile = relative(outDir, input.resultsFile) || input.resultsFile;

  const md = [
    `# ${name}`,
    '',
    `${counts}. Results: \`${resultsFile}\`.`,
    '',
    `## Spec (${spec.source})`,
    '',
    '```yaml',
    spec.text,
    '```',
    '',
    '## Figure',
    '',
    figure ? '![figure](report-figure.svg)\n\n[PNG](report-figure.png)' : `(no figure: ${figureError})`,
    '',
    '## Summary (mean ± sample std over seeds)',
    '',
    formatSummaryMarkdown(groups),
    '',
    '## Environment',
    '',
    '| what | value (rows) |',
    '| --- | --- |',
    ...env.map(
      (e) => `| ${escapeMd(e.name)} | ${e.values.map(([v, k]) => `${escapeMd(v)} (${k})`).join(', ')} |`,
    ),
    '',
    `## Failed rows (${rows.length - ok})`,
    '',
    ...(failed.length
      ? [
          '| status | rows | error | keys |',
          '| --- | ---: | --- | --- |',
          ...failed.map(
            (f) =>
              `| ${f.status} | ${f.keys.length} | ${escapeMd(f.error)} | ${escapeMd(f.keys.slice(0, 5).join(', '))}${f.keys.length > 5 ? ', …' : ''} |`,
          ),
        ]
      : ['None.']),
    '',
  ].join('\n');
  writeFileSync(join(outDir, 'report.md'), md);
  written.push(join(outDir, 'report.md'));

  const table = summaryTable(groups);
  const htmlTable = (header: string[], lines: string[][]) =>
    `<table><thead><tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${lines
      .map((l) => `<tr>${l.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`)
      .join('\n')}</tbody></table>`;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(name)} — regimes report</title>
<style>
body { font-family: 'DejaVu Sans', system-ui, sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: left; }
th { background: #f3f3f3; }
td { font-variant-numeric: tabular-nums; }
pre { background: #f6f6f6; padding: 0.8rem; overflow-x: auto; }
figure { margin: 0; } figure svg { max-width: 100%; height: auto; }
</style></head><body>
<h1>${escapeHtml(name)}</h1>
<p>${escapeHtml(counts)}. Results: <code>${escapeHtml(resultsFile)}</code>.</p>
<h2>Spec (${escapeHtml(spec.source)})</h2>
<pre>${escapeHtml(spec.text)}</pre>
<h2>Figure</h2>
${figure ? `<figure>${figure.svg.replace(/^<\?xml[^>]*>\s*/, '')}</figure>` : `<p>(no figure: ${escapeHtml(figureError ?? '')})</p>`}
<h2>Summary (mean ± sample std over seeds)</h2>
${groups.length ? htmlTable(table.header, table.lines) : '<p>(no rows)</p>'}
<h2>Environment</h2>
${htmlTable(
  ['what', 'value (rows)'],
  env.map((e) => [e.name, e.values.map(([v, k]) => `${v} (${k})`).join(', ')]),
)}
<h2>Failed rows (${rows.length - ok})</h2>
${
  failed.length
    ? htmlTable(
        ['status', 'rows', 'error', 'keys'],
        failed.map((f) => [f.status, String(f.keys.length), f.error, f.keys.join(', ')]),
      )
    : '<p>None.</p>'
}
</body></html>
`;
  writeFileSync(join(outDir, 'report.html'), html);
  written.push(join(outDir, 'report.html'));
  return written;
}

/** report.html: the run's report as one self-contained page, the figure inlined as SVG. */
import { summaryTable } from '../results/summary.js';
import type { ReportContent } from './sections.js';

const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function htmlTable(header: string[], lines: string[][]): string {
  return `<table><thead><tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${lines
    .map((l) => `<tr>${l.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`)
    .join('\n')}</tbody></table>`;
}

const STYLE = `body { font-family: 'DejaVu Sans', system-ui, sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: left; }
th { background: #f3f3f3; }
td { font-variant-numeric: tabular-nums; }
pre { background: #f6f6f6; padding: 0.8rem; overflow-x: auto; }
figure { margin: 0; } figure svg { max-width: 100%; height: auto; }`;

export function reportHtml(c: ReportContent): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(c.name)} — regimes report</title>
<style>
${STYLE}
</style></head><body>
<h1>${escapeHtml(c.name)}</h1>
<p>${escapeHtml(c.counts)}. Results: <code>${escapeHtml(c.resultsFile)}</code>.</p>
<h2>Spec (${escapeHtml(c.spec.source)})</h2>
<pre>${escapeHtml(c.spec.text)}</pre>
<h2>Figure</h2>
${'error' in c.figure ? `<p>(no figure: ${escapeHtml(c.figure.error)})</p>` : `<figure>${c.figure.svg.replace(/^<\?xml[^>]*>\s*/, '')}</figure>`}
<h2>Summary (mean ± sample std over seeds)</h2>
${summaryHtml(c.groups)}
<h2>Environment</h2>
${htmlTable(
  ['what', 'value (rows)'],
  c.environment.map((e) => [e.name, e.values.map(([v, k]) => `${v} (${k})`).join(', ')]),
)}
${c.provenance.map((t) => `<h2>${escapeHtml(t.title)}</h2>\n${htmlTable(t.header, t.lines)}`).join('\n')}
<h2>Failed rows (${c.failedRows})</h2>
${failuresHtml(c.failures)}
</body></html>
`;
}

function summaryHtml(groups: ReportContent['groups']): string {
  if (!groups.length) return '<p>(no rows)</p>';
  const table = summaryTable(groups);
  return htmlTable(table.header, table.lines);
}

function failuresHtml(failed: ReportContent['failures']): string {
  if (!failed.length) return '<p>None.</p>';
  return htmlTable(
    ['status', 'rows', 'error', 'keys'],
    failed.map((f) => [f.status, String(f.keys.length), f.error, f.keys.join(', ')]),
  );
}

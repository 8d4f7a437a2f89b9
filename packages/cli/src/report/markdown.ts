/** report.md: the run's report as Markdown, the figure linked beside it. */
import { formatSummaryMarkdown, markdownCell as escapeMd } from '../results/summary.js';
import type { ReportContent } from './sections.js';

/** A code fence longer than any run of backticks in `text` (a spec whose comment holds ```). */
const fence = (text: string) =>
  '`'.repeat(Math.max(3, ...[...text.matchAll(/`+/g)].map((m) => m[0].length + 1)));

export function reportMarkdown(c: ReportContent): string {
  return [
    `# ${c.name}`,
    '',
    `${c.counts}. Results: \`${c.resultsFile}\`.`,
    '',
    `## Spec (${c.spec.source})`,
    '',
    `${fence(c.spec.text)}${c.spec.source.startsWith('spec.json') ? 'json' : 'yaml'}`,
    c.spec.text,
    fence(c.spec.text),
    '',
    '## Figure',
    '',
    'error' in c.figure
      ? `(no figure: ${c.figure.error})`
      : '![figure](report-figure.svg)\n\n[PNG](report-figure.png)',
    '',
    '## Summary (mean ± sample std over seeds)',
    '',
    formatSummaryMarkdown(c.groups),
    '',
    '## Environment',
    '',
    '| what | value (rows) |',
    '| --- | --- |',
    ...c.environment.map(
      (e) => `| ${escapeMd(e.name)} | ${e.values.map(([v, k]) => `${escapeMd(v)} (${k})`).join(', ')} |`,
    ),
    '',
    ...c.provenance.flatMap((t) => [
      `## ${t.title}`,
      '',
      `| ${t.header.map(escapeMd).join(' | ')} |`,
      `| ${t.header.map(() => '---').join(' | ')} |`,
      ...t.lines.map((l) => `| ${l.map(escapeMd).join(' | ')} |`),
      '',
    ]),
    `## Failed rows (${c.failedRows})`,
    '',
    ...failureTable(c.failures),
    '',
  ].join('\n');
}

/** Failed rows by message, with the first five keys of each. */
function failureTable(failed: ReportContent['failures']): string[] {
  if (!failed.length) return ['None.'];
  return [
    '| status | rows | error | keys |',
    '| --- | ---: | --- | --- |',
    ...failed.map(
      (f) =>
        `| ${f.status} | ${f.keys.length} | ${escapeMd(f.error)} | ${escapeMd(f.keys.slice(0, 5).join(', '))}${f.keys.length > 5 ? ', …' : ''} |`,
    ),
  ];
}
